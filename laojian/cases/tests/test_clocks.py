"""Case clocks: working-day and calendar-day deadlines, the deadline that matters, the risk light."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone, translation

from laojian.cases import clocks
from laojian.cases.models import Mode, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.models import CalendarDay, CalendarYear
from laojian.core.tests.factories import CommitteeFactory

pytestmark = pytest.mark.django_db

D = dt.date


# Working-day clocks -------------------------------------------------------------------------------


def test_completeness_due_five_working_days_after_receipt_across_national_day():
    # Received Tue 09-29: 09-30, (10-01..07 holiday), 10-08, 10-09, Sat 10-10 make-up day, 10-12.
    case = CaseFactory.build(received_on=D(2026, 9, 29))
    clocks.refresh(case)
    assert case.completeness_due == D(2026, 10, 12)


def test_completeness_due_respects_committee_override():
    CalendarDay.objects.create(date=D(2026, 11, 3), kind="holiday")
    case = CaseFactory.build(received_on=D(2026, 11, 2))
    clocks.refresh(case)
    assert case.completeness_due == D(2026, 11, 10)


def test_completeness_due_uses_committee_setting():
    case = CaseFactory.build(received_on=D(2026, 11, 2), committee__completeness_workdays=3)
    clocks.refresh(case)
    assert case.completeness_due == D(2026, 11, 5)


def test_no_working_day_clocks_without_receipt():
    case = CaseFactory.build(received_on=None, status=Status.DRAFT)
    clocks.refresh(case)
    assert (case.completeness_due, case.target_due, case.clock_basis) == (None, None, {})


def test_clinic_target_ten_working_days_after_receipt():
    case = CaseFactory.build(received_on=D(2026, 11, 2), mode=Mode.CLINIC)
    clocks.refresh(case)
    assert case.target_due == D(2026, 11, 16)


def test_no_target_for_a_mode_without_one():
    case = CaseFactory.build(received_on=D(2026, 11, 2), mode=Mode.SITTING)
    clocks.refresh(case)
    assert case.target_due is None
    assert "target" not in case.clock_basis


def test_invalid_service_target_is_ignored_with_a_warning():
    case = CaseFactory.build(
        received_on=D(2026, 11, 2), mode=Mode.CLINIC, committee__service_targets={"clinic": "ten"}
    )
    with translation.override("en"):
        warnings = clocks.refresh(case)
    assert case.target_due is None
    assert warnings == [
        "The service target for the mode clinic is not a whole number of working days; it was ignored."
    ]


# Calendar-day clocks ------------------------------------------------------------------------------


def test_conclusion_due_sixty_days_after_acceptance():
    case = CaseFactory.build(status=Status.ACCEPTED, received_on=D(2026, 3, 2), accepted_on=D(2026, 3, 9))
    clocks.refresh(case)
    assert case.conclusion_due == D(2026, 5, 8)


def test_conclusion_due_with_extension():
    case = CaseFactory.build(
        status=Status.ACCEPTED, received_on=D(2026, 3, 2), accepted_on=D(2026, 3, 9), extension_days=30
    )
    clocks.refresh(case)
    assert case.conclusion_due == D(2026, 6, 7)


def test_conclusion_due_with_extension_and_reschedule_shift():
    case = CaseFactory.build(
        status=Status.ACCEPTED,
        received_on=D(2026, 3, 2),
        accepted_on=D(2026, 3, 9),
        extension_days=30,
        reschedule_shift_days=7,
    )
    clocks.refresh(case)
    assert case.conclusion_due == D(2026, 6, 14)


def test_no_conclusion_due_before_acceptance():
    case = CaseFactory.build(received_on=D(2026, 3, 2))
    clocks.refresh(case)
    assert case.conclusion_due is None


def test_delivery_due_twenty_days_after_conclusion():
    case = CaseFactory.build(status=Status.CONCLUDED, concluded_on=D(2026, 4, 20))
    clocks.refresh(case)
    assert case.delivery_due == D(2026, 5, 10)


def test_reappraisal_window_ends_fifteen_days_after_delivery():
    case = CaseFactory.build(status=Status.DELIVERED, delivered_on=D(2026, 4, 30))
    clocks.refresh(case)
    assert case.reappraisal_window_ends == D(2026, 5, 15)


# The deadline that matters ------------------------------------------------------------------------


def full_case(status: str, mode: str = Mode.CLINIC):
    """completeness 03-09, target 03-16, conclusion 05-08, delivery 05-10, re-appraisal 05-15."""
    return CaseFactory.build(
        status=status,
        mode=mode,
        received_on=D(2026, 3, 2),
        accepted_on=D(2026, 3, 9),
        concluded_on=D(2026, 4, 20),
        delivered_on=D(2026, 4, 30),
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.SUBMITTED, D(2026, 3, 9)),
        (Status.CORRECTION_REQUESTED, D(2026, 3, 16)),
        (Status.ACCEPTED, D(2026, 3, 16)),
        (Status.REVIEWED, D(2026, 3, 16)),
        (Status.SCHEDULED, D(2026, 3, 16)),
        (Status.EXAMINED, D(2026, 3, 16)),
        (Status.DIFFICULT, D(2026, 3, 16)),
        (Status.CONCLUDED, D(2026, 5, 10)),
        (Status.DELIVERED, None),
        (Status.DRAFT, None),
        (Status.ARCHIVED, None),
        (Status.REJECTED, None),
        (Status.WITHDRAWN, None),
        (Status.TERMINATED, None),
    ],
)
def test_next_due_per_status(status, expected):
    case = full_case(status)
    clocks.refresh(case)
    assert case.next_due == expected


def test_next_due_in_progress_without_target_is_conclusion():
    case = full_case(Status.EXAMINED, mode=Mode.SITTING)
    clocks.refresh(case)
    assert case.next_due == D(2026, 5, 8)


def test_next_due_in_progress_takes_conclusion_when_earlier_than_target():
    case = full_case(Status.EXAMINED, mode=Mode.CLINIC)
    case.committee.service_targets = {"clinic": 60}
    clocks.refresh(case)
    assert case.next_due == D(2026, 5, 8)


# Clock basis ---------------------------------------------------------------------------------------


def test_clock_basis_records_calendar_data_and_inputs():
    case = full_case(Status.DELIVERED)
    case.extension_days = 30
    case.reschedule_shift_days = 7
    clocks.refresh(case)
    assert case.clock_basis == {
        "completeness": {"basis": "chinese-calendar 1.11.0", "from": "2026-03-02", "workdays": 5},
        "target": {
            "basis": "chinese-calendar 1.11.0",
            "from": "2026-03-02",
            "workdays": 10,
            "mode": "clinic",
        },
        "conclusion": {
            "basis": "calendar days",
            "from": "2026-03-09",
            "days": 60,
            "extension_days": 30,
            "reschedule_shift_days": 7,
            "counts_from": "accepted",
        },
        "delivery": {"basis": "calendar days", "from": "2026-04-20", "days": 20},
        "reappraisal_window": {"basis": "calendar days", "from": "2026-04-30", "days": 15},
    }


def test_clock_basis_is_json_serialisable():
    case = full_case(Status.DELIVERED)
    clocks.refresh(case)
    assert json.loads(json.dumps(case.clock_basis)) == case.clock_basis


def test_clock_basis_names_committee_calendar_revision():
    CalendarDay.objects.create(date=D(2026, 11, 3), kind="holiday")
    case = CaseFactory.build(received_on=D(2026, 11, 2))
    clocks.refresh(case)
    assert case.clock_basis["completeness"]["basis"].startswith(
        "chinese-calendar 1.11.0 + committee calendar rev "
    )


def test_refresh_does_not_save():
    case = CaseFactory(received_on=D(2026, 11, 2))
    clocks.refresh(case)
    case.refresh_from_db()
    assert case.completeness_due is None


def test_refresh_makes_one_calendar_query(django_assert_num_queries):
    case = full_case(Status.ACCEPTED)
    with django_assert_num_queries(1):
        clocks.refresh(case)


# Missing calendar year ----------------------------------------------------------------------------


def test_missing_year_leaves_due_empty():
    case = CaseFactory.build(received_on=D(2026, 12, 28))
    clocks.refresh(case)
    assert case.completeness_due is None
    assert case.next_due is None


def test_missing_year_returns_a_warning():
    case = CaseFactory.build(received_on=D(2026, 12, 28))
    with translation.override("en"):
        warnings = clocks.refresh(case)
    assert warnings == [
        "The completeness notice deadline could not be computed: there is no holiday schedule for 2027 yet. "
        "Enter the State Council's schedule for that year in the calendar."
    ]


def test_missing_year_is_recorded_in_clock_basis():
    case = CaseFactory.build(received_on=D(2026, 12, 28))
    clocks.refresh(case)
    assert case.clock_basis["completeness"] == {
        "basis": None,
        "from": "2026-12-28",
        "workdays": 5,
        "missing_year": 2027,
    }


def test_missing_year_for_target_warns_while_in_progress():
    case = CaseFactory.build(
        status=Status.SCHEDULED, mode=Mode.CLINIC, received_on=D(2026, 12, 21), accepted_on=D(2026, 12, 22)
    )
    with translation.override("en"):
        warnings = clocks.refresh(case)
    assert case.completeness_due == D(2026, 12, 28)
    assert case.target_due is None
    assert warnings == [
        "The service target could not be computed: there is no holiday schedule for 2027 yet. "
        "Enter the State Council's schedule for that year in the calendar."
    ]


def test_missing_year_no_longer_warns_once_the_clock_is_past():
    case = CaseFactory.build(status=Status.CONCLUDED, received_on=D(2026, 12, 28), concluded_on=D(2027, 2, 1))
    assert clocks.refresh(case) == []


def test_entering_the_year_fills_the_clock():
    CalendarYear.objects.create(year=2027, complete=True)
    CalendarDay.objects.create(date=D(2027, 1, 1), kind="holiday", name="元旦")
    case = CaseFactory.build(received_on=D(2026, 12, 28))
    assert clocks.refresh(case) == []
    assert case.completeness_due == D(2027, 1, 5)


# Helpers for the worklist -------------------------------------------------------------------------


def test_days_left_counts_calendar_days():
    assert clocks.days_left(D(2026, 12, 1), D(2026, 11, 28)) == 3


def test_days_left_negative_when_overdue():
    assert clocks.days_left(D(2026, 11, 25), D(2026, 11, 28)) == -3


def test_days_left_none_without_deadline():
    assert clocks.days_left(None, D(2026, 11, 28)) is None


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (D(2026, 11, 27), "overdue"),
        (D(2026, 11, 28), "at_risk"),
        (D(2026, 12, 3), "at_risk"),
        (D(2026, 12, 4), "ok"),
        (None, None),
    ],
)
def test_risk(due, expected):
    assert clocks.risk(due, D(2026, 11, 28), warn_days=5) == expected


def test_today_is_the_shanghai_date(monkeypatch):
    # 17:00 UTC on 11-28 is already 01:00 on 11-29 in Shanghai.
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.UTC))
    assert clocks.today() == D(2026, 11, 29)


def test_conclusion_deadline_can_count_from_receipt_where_the_committee_says_so():
    committee = CommitteeFactory(conclusion_clock_start="received")
    case = CaseFactory(committee=committee, status="accepted", received_on=dt.date(2026, 10, 9),
                       accepted_on=dt.date(2026, 10, 20))
    clocks.refresh(case)
    assert case.conclusion_due == dt.date(2026, 10, 9) + dt.timedelta(days=60)
    assert case.clock_basis["conclusion"]["counts_from"] == "received"


def test_completeness_check_of_a_resubmitted_file_counts_from_its_return():
    case = CaseFactory(status=Status.SUBMITTED, received_on=D(2026, 11, 2), resubmitted_on=D(2026, 11, 16))
    clocks.refresh(case)
    assert case.completeness_due == D(2026, 11, 23)
    assert case.clock_basis["completeness"]["from"] == "2026-11-16"


def test_service_target_still_counts_from_the_first_receipt_after_a_correction():
    case = CaseFactory(status=Status.SUBMITTED, mode=Mode.CLINIC, received_on=D(2026, 11, 2),
                       resubmitted_on=D(2026, 11, 16))
    clocks.refresh(case)
    assert case.target_due == D(2026, 11, 16)
