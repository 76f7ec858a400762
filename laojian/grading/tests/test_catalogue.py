"""The grading standard as loaded: the shipped GB/T 16180-2014 edition (loaded after migrate), the
import of a later edition from its CSV file (all or nothing, with the line at fault), and the
paid-leave catalogue."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from django.utils import translation

from laojian.core.errors import ValidationFailed
from laojian.grading import catalogue, selectors
from laojian.grading.models import Clause, Edition, GradePrinciple, LeavePeriod
from laojian.grading.tests.factories import SMALL_EDITION, edition_csv, leave_csv

pytestmark = pytest.mark.django_db

@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def shipped() -> Edition:
    return Edition.objects.get(code=catalogue.SHIPPED_EDITION)


def refused(content: bytes) -> str:
    """Import ``content`` as a new edition; it must be refused with nothing saved. Returns the message."""
    editions, clauses, principles = Edition.objects.count(), Clause.objects.count(), GradePrinciple.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        catalogue.import_edition(content, code="GB/T 16180-20XX")
    assert (Edition.objects.count(), Clause.objects.count(), GradePrinciple.objects.count()) == (
        editions, clauses, principles)
    assert Edition.objects.get(current=True) == shipped()
    return exc.value.message


# THE SHIPPED EDITION ------------------------------------------------------------------------------

def test_the_shipped_edition_is_loaded_after_migrate_and_is_current():
    edition = shipped()
    assert edition.current is True
    assert edition.effective_from == dt.date(2015, 1, 1)
    assert selectors.current_edition() == edition
    assert len(edition.source_sha256) == 64


def test_the_shipped_edition_has_the_standard_number_of_clauses_per_grade():
    per_grade = Counter(Clause.objects.filter(edition=shipped()).values_list("grade", flat=True))
    assert [per_grade[g] for g in range(1, 11)] == [23, 39, 47, 55, 65, 76, 63, 74, 42, 46]
    assert sum(per_grade.values()) == 530


def test_the_shipped_edition_has_a_principle_for_each_grade():
    assert sorted(selectors.principles(shipped())) == list(range(1, 11))


def test_the_shipped_edition_has_the_clauses_per_category():
    per_category = Counter()
    for clause in Clause.objects.filter(edition=shipped()):
        per_category.update(clause.category_list)
    assert [per_category[c] for c in range(1, 6)] == [62, 125, 112, 148, 87]


def test_every_shipped_clause_has_a_category_and_a_body_part():
    for clause in Clause.objects.filter(edition=shipped()):
        assert clause.category_list and set(clause.category_list) <= {1, 2, 3, 4, 5}, clause.number
        assert clause.body_part_list, clause.number
        assert clause.criterion.strip(), clause.number


def test_every_shipped_clause_number_matches_its_grade_and_item():
    for number, grade, seq in Clause.objects.filter(edition=shipped()).values_list("number", "grade", "seq"):
        assert number == f"5.{grade}.2({seq})"
        assert re.fullmatch(r"5\.(10|[1-9])\.2\([1-9]\d*\)", number)


def test_loading_the_shipped_edition_again_changes_nothing():
    before = Clause.objects.count()
    assert catalogue.ensure_shipped_edition() is None
    assert Clause.objects.count() == before
    assert Edition.objects.filter(code=catalogue.SHIPPED_EDITION).count() == 1


# A NEW EDITION ------------------------------------------------------------------------------------

def test_a_new_edition_becomes_current_and_the_old_one_stays(tmp_path):
    path = tmp_path / "gbt16180-20xx.csv"
    path.write_bytes(edition_csv(SMALL_EDITION))
    old_clauses = Clause.objects.filter(edition=shipped()).count()
    result = catalogue.import_edition(path.read_bytes(), code="GB/T 16180-20XX", effective_from=dt.date(2027, 1, 1))
    assert (result.clauses, result.per_grade) == (5, {9: 2, 10: 3})
    assert selectors.current_edition() == result.edition
    old = shipped()
    assert old.current is False
    assert Clause.objects.filter(edition=old).count() == old_clauses
    assert selectors.principles(result.edition) == {9: "器官部分缺损，形态异常，轻度功能障碍",
                                                    10: "器官部分缺损，形态异常，无功能障碍"}
    lung = Clause.objects.get(edition=result.edition, number="5.9.2(2)")
    assert (lung.grade, lung.seq, lung.category_list, lung.body_part_list) == (9, 2, [2, 4], ["胸", "肺"])


def test_a_new_edition_can_be_loaded_without_becoming_current():
    result = catalogue.import_edition(edition_csv(SMALL_EDITION), code="GB/T 16180-20XX", make_current=False)
    assert result.edition.current is False
    assert selectors.current_edition() == shipped()


def test_a_byte_order_mark_is_accepted():
    result = catalogue.import_edition(edition_csv(SMALL_EDITION, encoding="utf-8-sig"), code="GB/T 16180-20XX")
    assert result.clauses == 5


def test_the_same_edition_name_is_refused_the_second_time():
    catalogue.import_edition(edition_csv(SMALL_EDITION), code="GB/T 16180-20XX")
    clauses = Clause.objects.count()
    with pytest.raises(ValidationFailed, match="already loaded"):
        catalogue.import_edition(edition_csv(SMALL_EDITION), code="GB/T 16180-20XX")
    assert Clause.objects.count() == clauses


def test_the_shipped_edition_name_cannot_be_loaded_again():
    with pytest.raises(ValidationFailed, match="already loaded"):
        catalogue.import_edition(edition_csv(SMALL_EDITION), code=catalogue.SHIPPED_EDITION)
    assert Clause.objects.filter(edition=shipped()).count() == 530


def test_an_edition_needs_a_name():
    with pytest.raises(ValidationFailed):
        catalogue.import_edition(edition_csv(SMALL_EDITION), code="  ")


# BAD FILES: refused, with the line, and nothing saved ---------------------------------------------

def with_row(line: int, row: str) -> list[str]:
    """SMALL_EDITION with the data row at file line ``line`` (the header is line 1) replaced."""
    rows = list(SMALL_EDITION)
    rows[line - 2] = row
    return rows


def test_a_malformed_clause_number_is_refused_with_its_line():
    message = refused(edition_csv(with_row(4, "5.9.3(2),9,2,2,胸,肺叶切除")))
    assert message.startswith("Line 4 (5.9.3(2))")


def test_a_clause_number_with_a_leading_zero_is_refused():
    message = refused(edition_csv(with_row(4, "5.9.2(02),9,2,2,胸,肺叶切除")))
    assert message.startswith("Line 4 (5.9.2(02))")


def test_a_grade_column_contradicting_the_clause_number_is_refused():
    message = refused(edition_csv(with_row(6, "5.10.2(1),9,1,3,眼,眼睑外翻")))
    assert message.startswith("Line 6 (5.10.2(1))")
    assert "contradict" in message


def test_an_item_column_contradicting_the_clause_number_is_refused():
    assert refused(edition_csv(with_row(6, "5.10.2(1),10,4,3,眼,眼睑外翻"))).startswith("Line 6")


def test_a_clause_appearing_twice_is_refused_at_its_second_line():
    message = refused(edition_csv(with_row(8, "5.10.2(2),10,2,2,手,除拇指外的一指末节缺失")))
    assert message.startswith("Line 8 (5.10.2(2))")
    assert "twice" in message


def test_a_gap_in_the_numbering_is_refused_with_the_line_after_it():
    message = refused(edition_csv(with_row(8, "5.10.2(4),10,4,2,手,除拇指外的一指末节缺失")))
    assert message.startswith("Line 8 (5.10.2(4))")
    assert "5.10.2(3)" in message


def test_a_missing_column_is_refused_and_named():
    rows = [r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in SMALL_EDITION]
    message = refused(edition_csv(rows, header="clause_id,grade,seq,categories,criterion_zh"))
    assert "body_parts" in message


def test_a_file_not_in_utf8_is_refused():
    message = refused(edition_csv(SMALL_EDITION, encoding="gb18030"))
    assert "UTF-8" in message


def test_an_empty_criterion_is_refused_with_its_line():
    message = refused(edition_csv(with_row(4, "5.9.2(2),9,2,2|4,胸|肺,  ")))
    assert message.startswith("Line 4 (5.9.2(2))")
    assert "criterion" in message


def test_category_6_is_refused_with_its_line():
    message = refused(edition_csv(with_row(3, "5.9.2(1),9,1,2|6,手,一拇指末节部分1/2缺失")))
    assert message.startswith("Line 3 (5.9.2(1))")
    assert "categor" in message


def test_a_clause_without_a_category_is_refused():
    assert refused(edition_csv(with_row(3, "5.9.2(1),9,1,,手,一拇指末节部分1/2缺失"))).startswith("Line 3 (5.9.2(1))")


def test_a_clause_without_a_body_part_is_refused():
    assert refused(edition_csv(with_row(3, "5.9.2(1),9,1,2,,一拇指末节部分1/2缺失"))).startswith("Line 3 (5.9.2(1))")


def test_a_file_with_principles_only_is_refused():
    assert "no clauses" in refused(edition_csv(["5.9.1,9,0,,,器官部分缺损"]))


def test_the_shipped_file_with_one_line_broken_is_refused_at_that_line():
    lines = catalogue.SHIPPED_FILE.read_text(encoding="utf-8-sig").splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.startswith("5.6.2(40),"))
    lines[line - 1] = lines[line - 1].replace(",6,40,", ",7,40,", 1)
    message = refused(("\n".join(lines) + "\n").encode())
    assert message.startswith(f"Line {line} (5.6.2(40))")


# THE PAID-LEAVE CATALOGUE -------------------------------------------------------------------------

def test_the_sample_catalogue_is_loaded_after_migrate():
    assert LeavePeriod.objects.get(icd10="S02.1").max_months == 6


def test_import_periods_adds_new_codes_and_updates_known_ones():
    before = LeavePeriod.objects.count()
    n = catalogue.import_leave_periods(leave_csv("S02.1,颅底骨折,头部,8", "t99.9,测试损伤,四肢,3"))
    assert n == 2
    assert LeavePeriod.objects.count() == before + 1
    assert LeavePeriod.objects.get(icd10="S02.1").max_months == 8
    added = LeavePeriod.objects.get(icd10="T99.9")
    assert (added.name, added.body_region, added.max_months) == ("测试损伤", "四肢", 3)


@pytest.mark.parametrize(("row", "what"), [
    ("S2.1,颅底骨折,头部,6", "ICD-10"),
    ("颅底骨折,颅底骨折,头部,6", "ICD-10"),
    ("S02.1,颅底骨折,头部,0", "1 to 24"),
    ("S02.1,颅底骨折,头部,25", "1 to 24"),
    ("S02.1,颅底骨折,头部,六", "1 to 24"),
    ("S02.1,,头部,6", "no name"),
])
def test_import_periods_refuses_a_bad_row_with_its_line_and_saves_nothing(row, what):
    before = dict(LeavePeriod.objects.values_list("icd10", "max_months"))
    with pytest.raises(ValidationFailed) as exc:
        catalogue.import_leave_periods(leave_csv("S00,头部浅表损伤,头部,2", row))
    assert exc.value.message.startswith("Line 3")
    assert what in exc.value.message
    assert dict(LeavePeriod.objects.values_list("icd10", "max_months")) == before


def test_import_periods_refuses_a_file_without_the_months_column():
    with pytest.raises(ValidationFailed, match="max_months"):
        catalogue.import_leave_periods("icd10,name_zh,body_region\nS00,头部浅表损伤,头部\n".encode())
