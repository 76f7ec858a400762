"""`laojian workdays`: working-day arithmetic from the console."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("workdays", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_add_prints_the_working_day():
    assert run("add", "2025-01-20", "10") == "2025-02-08\n"


def test_add_negative_counts_backwards():
    assert run("add", "2025-02-08", "-10") == "2025-01-20\n"


def test_between_prints_the_count():
    assert run("between", "2025-01-20", "2025-02-08") == "10\n"


def test_verbose_add_names_the_calendar_data_on_stderr():
    err = io.StringIO()
    with translation.override("en"):
        call_command("workdays", "add", "2025-01-20", "10", verbosity=2, stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == "Calendar data used: chinese-calendar 1.11.0\n"


def test_missing_year_is_a_command_error():
    with translation.override("en"), pytest.raises(CommandError) as excinfo:
        run("add", "2026-12-28", "10")
    assert str(excinfo.value) == (
        "No holiday schedule for 2027 yet: enter the State Council's schedule for that year in the "
        "calendar before relying on working-day deadlines."
    )


def test_missing_year_in_between_is_a_command_error():
    with pytest.raises(CommandError, match="2027"):
        run("between", "2026-12-01", "2027-01-15")


def test_bad_date_is_a_command_error():
    with translation.override("en"), pytest.raises(CommandError) as excinfo:
        run("add", "2025-13-01", "1")
    assert str(excinfo.value) == "2025-13-01 is not a valid date; write it as YYYY-MM-DD, e.g. 2025-01-20."


def test_bad_count_is_a_command_error():
    with pytest.raises(CommandError):
        run("add", "2025-01-20", "ten")


def test_missing_subcommand_is_a_command_error():
    with pytest.raises(CommandError):
        run()
