"""The working-day calendar: agrees with chinese-calendar, honours overrides, refuses unknown years."""

from __future__ import annotations

import datetime as dt
import hashlib

import chinese_calendar
import pytest
from django.utils import translation
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from laojian.core import calendar
from laojian.core.calendar import CalendarYearMissing
from laojian.core.models import CalendarDay, CalendarYear

pytestmark = pytest.mark.django_db

D = dt.date
PACKAGE_FIRST = D(2004, 1, 1)
PACKAGE_LAST = D(2026, 12, 31)
# 40 working days never take more than 80 calendar days, even across the Spring Festival.
MARGIN = dt.timedelta(days=80)
EXAMPLES = settings(max_examples=200, deadline=None)


def package_count(a: dt.date, b: dt.date) -> int:
    """Working days after ``a`` up to and including ``b``, by chinese-calendar, signed."""
    lo, hi = sorted((a, b))
    count = sum(chinese_calendar.is_workday(lo + dt.timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    return count if b >= a else -count


# Agreement with the package ----------------------------------------------------------------------


def test_package_range_is_read_from_the_package():
    assert (calendar.PACKAGE_FIRST_YEAR, calendar.PACKAGE_LAST_YEAR) == (2004, 2026)


@EXAMPLES
@given(d=st.dates(PACKAGE_FIRST, PACKAGE_LAST))
def test_is_workday_agrees_with_package(d):
    assert calendar.is_workday(d) == chinese_calendar.is_workday(d)


@EXAMPLES
@given(start=st.dates(PACKAGE_FIRST, PACKAGE_LAST - MARGIN), n=st.integers(1, 40))
def test_add_workdays_agrees_with_find_workday(start, n):
    assert calendar.add_workdays(start, n) == chinese_calendar.find_workday(n, start)


@EXAMPLES
@given(start=st.dates(PACKAGE_FIRST + MARGIN, PACKAGE_LAST), n=st.integers(1, 40))
def test_add_negative_workdays_agrees_with_find_workday(start, n):
    assert calendar.add_workdays(start, -n) == chinese_calendar.find_workday(-n, start)


@EXAMPLES
@given(d=st.dates(PACKAGE_FIRST, PACKAGE_LAST))
def test_add_zero_workdays_returns_start(d):
    assert calendar.add_workdays(d, 0) == d


@EXAMPLES
@given(a=st.dates(PACKAGE_FIRST, PACKAGE_LAST), b=st.dates(PACKAGE_FIRST, PACKAGE_LAST))
def test_workdays_between_agrees_with_package(a, b):
    assert calendar.workdays_between(a, b) == package_count(a, b)


@EXAMPLES
@given(start=st.dates(PACKAGE_FIRST, PACKAGE_LAST - MARGIN), n=st.integers(0, 40))
def test_workdays_between_inverts_add_workdays_from_a_workday(start, n):
    assume(chinese_calendar.is_workday(start))
    assert calendar.workdays_between(start, calendar.add_workdays(start, n)) == n


# Known dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        D(2025, 1, 26),
        D(2025, 2, 8),
        D(2025, 4, 27),
        D(2025, 9, 28),
        D(2025, 10, 11),
        D(2026, 1, 4),
        D(2026, 2, 14),
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),
        D(2026, 10, 10),
    ],
)
def test_make_up_weekend_days_are_workdays(d):
    assert d.weekday() >= 5
    assert calendar.is_workday(d) is True


def test_national_day_is_not_a_workday():
    assert calendar.is_workday(D(2025, 10, 1)) is False


def test_find_workday_example_counts_make_up_days():
    assert calendar.add_workdays(D(2025, 1, 20), 10) == D(2025, 2, 8)


def test_add_workdays_from_a_sunday_counts_from_monday():
    # Like find_workday: received on Sunday 01-19 = received on Monday 01-20; 1 working day later.
    assert calendar.add_workdays(D(2025, 1, 19), 1) == D(2025, 1, 21)


def test_add_workdays_from_a_saturday_receipt():
    assert calendar.add_workdays(D(2026, 11, 7), 5) == D(2026, 11, 16)


def test_add_negative_workdays_counts_strictly_before():
    assert calendar.add_workdays(D(2025, 2, 8), -10) == D(2025, 1, 20)


def test_workdays_between_example():
    assert calendar.workdays_between(D(2025, 1, 20), D(2025, 2, 8)) == 10


def test_workdays_between_same_day_is_zero():
    assert calendar.workdays_between(D(2025, 1, 20), D(2025, 1, 20)) == 0


def test_workdays_between_backwards_is_negative():
    assert calendar.workdays_between(D(2025, 2, 8), D(2025, 1, 20)) == -10


def test_add_zero_workdays_on_a_sunday_stays_on_sunday():
    assert calendar.add_workdays(D(2025, 1, 19), 0) == D(2025, 1, 19)


def test_last_days_of_package_range_work_when_the_walk_stays_inside():
    # The generous look-ahead reaches 2027, but the answer only needs 2026.
    assert calendar.add_workdays(D(2026, 12, 21), 4) == D(2026, 12, 25)


# Unknown years ------------------------------------------------------------------------------------


def test_date_in_2027_raises_calendar_year_missing():
    with pytest.raises(CalendarYearMissing) as excinfo:
        calendar.is_workday(D(2027, 3, 1))
    assert excinfo.value.year == 2027


def test_calendar_year_missing_has_code_and_names_the_year():
    with translation.override("en"), pytest.raises(CalendarYearMissing) as excinfo:
        calendar.is_workday(D(2027, 3, 1))
    assert excinfo.value.code == "calendar_year_missing"
    assert excinfo.value.message == (
        "No holiday schedule for 2027 yet: enter the State Council's schedule for that year in the "
        "calendar before relying on working-day deadlines."
    )


def test_year_before_package_range_raises():
    with pytest.raises(CalendarYearMissing) as excinfo:
        calendar.is_workday(D(2003, 6, 2))
    assert excinfo.value.year == 2003


def test_walking_into_2027_raises():
    with pytest.raises(CalendarYearMissing) as excinfo:
        calendar.add_workdays(D(2026, 12, 28), 10)
    assert excinfo.value.year == 2027


def test_workdays_between_into_2027_raises():
    with pytest.raises(CalendarYearMissing) as excinfo:
        calendar.workdays_between(D(2026, 12, 1), D(2027, 1, 15))
    assert excinfo.value.year == 2027


def test_calendar_basis_for_2027_raises():
    with pytest.raises(CalendarYearMissing) as excinfo:
        calendar.calendar_basis(D(2026, 12, 1), D(2027, 1, 15))
    assert excinfo.value.year == 2027


def test_incomplete_calendar_year_is_still_missing():
    CalendarYear.objects.create(year=2027, complete=False)
    CalendarDay.objects.create(date=D(2027, 1, 1), kind="holiday", name="元旦")
    with pytest.raises(CalendarYearMissing):
        calendar.is_workday(D(2027, 1, 1))


# Hand-entered years -------------------------------------------------------------------------------


@pytest.fixture
def year_2027():
    CalendarYear.objects.create(year=2027, complete=True, source="国办发明电〔2026〕7号")
    CalendarDay.objects.create(date=D(2027, 1, 1), kind="holiday", name="元旦")
    CalendarDay.objects.create(date=D(2027, 2, 8), kind="holiday", name="春节")  # a Monday
    CalendarDay.objects.create(date=D(2027, 2, 20), kind="workday", name="春节调休")  # a Saturday


def test_manual_year_weekday_is_workday(year_2027):
    assert calendar.is_workday(D(2027, 3, 1)) is True


def test_manual_year_weekend_is_rest(year_2027):
    assert calendar.is_workday(D(2027, 3, 6)) is False


def test_manual_year_holiday_is_rest(year_2027):
    assert calendar.is_workday(D(2027, 2, 8)) is False


def test_manual_year_make_up_day_is_workday(year_2027):
    assert calendar.is_workday(D(2027, 2, 20)) is True


def test_add_workdays_across_into_manual_year_skips_its_holiday(year_2027):
    # 2026-12-31 Thu; 2027-01-01 Fri is a holiday, 01-02/03 the weekend.
    assert calendar.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_workdays_between_counts_manual_holidays_as_rest(year_2027):
    # Mon 02-08 is a holiday, Sat 02-20 a make-up day: 4 + 5 + 1 working days.
    assert calendar.workdays_between(D(2027, 2, 7), D(2027, 2, 20)) == 10


def test_calendar_basis_names_package_manual_year_and_overrides(year_2027):
    rev = hashlib.sha256(b"2027-01-01 holiday").hexdigest()[:8]
    assert calendar.calendar_basis(D(2026, 12, 1), D(2027, 1, 10)) == (
        f"chinese-calendar 1.11.0 + manual 2027 + committee calendar rev {rev}"
    )


def test_calendar_basis_of_manual_year_alone(year_2027):
    assert calendar.calendar_basis(D(2027, 3, 1), D(2027, 3, 31)) == "manual 2027"


# Overrides of package years -----------------------------------------------------------------------


def test_override_holiday_wins_over_package_make_up_day():
    CalendarDay.objects.create(date=D(2026, 10, 10), kind="holiday", name="本地调整")
    assert calendar.is_workday(D(2026, 10, 10)) is False


def test_override_workday_wins_over_package_weekend():
    CalendarDay.objects.create(date=D(2026, 11, 7), kind="workday")  # a Saturday
    assert calendar.is_workday(D(2026, 11, 7)) is True


def test_override_holiday_moves_add_workdays():
    CalendarDay.objects.create(date=D(2026, 11, 3), kind="holiday")  # a Tuesday
    assert calendar.add_workdays(D(2026, 11, 2), 5) == D(2026, 11, 10)


def test_calendar_basis_without_overrides():
    assert calendar.calendar_basis(D(2026, 11, 1), D(2026, 11, 30)) == "chinese-calendar 1.11.0"


def test_calendar_basis_changes_when_an_override_is_added():
    before = calendar.calendar_basis(D(2026, 11, 1), D(2026, 11, 30))
    CalendarDay.objects.create(date=D(2026, 11, 3), kind="holiday")
    rev = hashlib.sha256(b"2026-11-03 holiday").hexdigest()[:8]
    assert before == "chinese-calendar 1.11.0"
    assert calendar.calendar_basis(D(2026, 11, 1), D(2026, 11, 30)) == (
        f"chinese-calendar 1.11.0 + committee calendar rev {rev}"
    )


def test_calendar_basis_ignores_overrides_outside_the_range():
    CalendarDay.objects.create(date=D(2026, 12, 3), kind="holiday")
    assert calendar.calendar_basis(D(2026, 11, 1), D(2026, 11, 30)) == "chinese-calendar 1.11.0"


def test_add_workdays_with_basis_covers_the_counted_days():
    CalendarDay.objects.create(date=D(2026, 11, 3), kind="holiday")
    rev = hashlib.sha256(b"2026-11-03 holiday").hexdigest()[:8]
    assert calendar.add_workdays_with_basis(D(2026, 11, 2), 5) == (
        D(2026, 11, 10),
        f"chinese-calendar 1.11.0 + committee calendar rev {rev}",
    )


# One query per call -------------------------------------------------------------------------------


def test_is_workday_makes_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar.is_workday(D(2026, 5, 9))


def test_add_workdays_makes_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar.add_workdays(D(2026, 1, 5), 40)


def test_workdays_between_makes_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar.workdays_between(D(2025, 1, 1), D(2026, 12, 31))


def test_calendar_basis_makes_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar.calendar_basis(D(2025, 1, 1), D(2026, 12, 31))


def test_manual_year_lookup_makes_one_query(year_2027, django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar.add_workdays_with_basis(D(2026, 12, 20), 20)
