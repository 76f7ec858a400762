"""`laojian grading import|import-periods|combine` from the console."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from laojian.grading import selectors
from laojian.grading.models import Clause, Edition, LeavePeriod
from laojian.grading.tests.factories import SMALL_EDITION, edition_csv, leave_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def grading(*args: str) -> list[str]:
    out = StringIO()
    call_command("grading", *args, stdout=out)
    return out.getvalue().splitlines()


def test_combine_two_shared_grade_10_clauses_gives_9_on_the_first_line():
    lines = grading("combine", "5.10.2(12)", "5.10.2(12)")
    assert lines[0] == "9级"
    assert lines[1].startswith("  5.10.2(12) 10级 ")
    assert lines[-1] == "  The panel may confirm: 9级 / 10级."


def test_combine_7_and_10_gives_7_with_no_choice_for_the_panel():
    lines = grading("combine", "5.7.2(1)", "5.10.2(1)")
    assert lines[0] == "7级"
    assert not any("may confirm" in line for line in lines)


def test_combine_without_a_clause_is_below_every_grade():
    assert grading("combine")[0] == "未达到伤残等级"


def test_combine_names_an_unknown_clause():
    with pytest.raises(CommandError, match=r"5\.10\.2\(99\)"):
        grading("combine", "5.10.2(1)", "5.10.2(99)")


def test_combine_against_an_edition_not_loaded_is_refused():
    with pytest.raises(CommandError, match="GB/T 16180-2006"):
        grading("combine", "5.10.2(1)", "--edition", "GB/T 16180-2006")


def test_import_loads_an_edition_from_a_file_and_makes_it_current(tmp_path):
    path = tmp_path / "edition.csv"
    path.write_bytes(edition_csv(SMALL_EDITION))
    lines = grading("import", str(path), "--edition", "GB/T 16180-20XX", "--effective", "2027-01-01")
    assert lines == ["Loaded GB/T 16180-20XX: 5 clauses.", "9级 2, 10级 3"]
    edition = selectors.current_edition()
    assert (edition.code, edition.effective_from.isoformat()) == ("GB/T 16180-20XX", "2027-01-01")
    assert grading("combine", "5.10.2(2)", "5.10.2(3)")[0] == "9级"


def test_import_not_current_keeps_the_current_edition(tmp_path):
    path = tmp_path / "edition.csv"
    path.write_bytes(edition_csv(SMALL_EDITION))
    grading("import", str(path), "--edition", "GB/T 16180-20XX", "--not-current")
    assert selectors.current_edition().code == "GB/T 16180-2014"
    assert grading("combine", "5.10.2(3)", "--edition", "GB/T 16180-20XX")[0] == "10级"


def test_import_of_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no-such.csv"):
        grading("import", str(tmp_path / "no-such.csv"), "--edition", "GB/T 16180-20XX")
    assert not Edition.objects.filter(code="GB/T 16180-20XX").exists()


def test_import_of_a_bad_file_names_the_line_and_saves_nothing(tmp_path):
    path = tmp_path / "edition.csv"
    rows = list(SMALL_EDITION)
    rows[-1] = "5.10.2(3),10,3,6,手,除拇指外的一指末节缺失"
    path.write_bytes(edition_csv(rows))
    clauses = Clause.objects.count()
    with pytest.raises(CommandError, match=r"^Line 8 \(5\.10\.2\(3\)\)"):
        grading("import", str(path), "--edition", "GB/T 16180-20XX")
    assert Clause.objects.count() == clauses


def test_import_periods_adds_entries_from_a_file(tmp_path):
    path = tmp_path / "periods.csv"
    path.write_bytes(leave_csv("T99.9,测试损伤,四肢,3"))
    assert grading("import-periods", str(path)) == ["1 catalogue entries added or updated."]
    assert LeavePeriod.objects.get(icd10="T99.9").max_months == 3


def test_import_periods_of_a_bad_file_is_refused(tmp_path):
    path = tmp_path / "periods.csv"
    path.write_bytes(leave_csv("T99.9,测试损伤,四肢,30"))
    with pytest.raises(CommandError, match="Line 2"):
        grading("import-periods", str(path))
    assert not LeavePeriod.objects.filter(icd10="T99.9").exists()
