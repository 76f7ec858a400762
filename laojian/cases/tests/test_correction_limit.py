"""A correction notice not answered within the committee's limit closes the application."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from laojian.cases import clocks, services
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.cases.workflow import TransitionRefused
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db


def corrected_case(limit_days: int = 30):
    committee = CommitteeFactory(correction_limit_days=limit_days)
    case = CaseFactory(committee=committee, status=Status.SUBMITTED, number="聊劳鉴〔2026〕0101号", year=2026, seq=101)
    clerk = UserFactory(committee=committee, roles=["clerk"])
    services.transition(case.pk, "request_correction", actor=clerk, note="缺少诊断证明书",
                        today=dt.date(2026, 10, 1))
    case.refresh_from_db()
    return case, clerk


def test_the_correction_notice_starts_the_applicants_clock():
    case, _clerk = corrected_case()
    assert case.correction_requested_on == dt.date(2026, 10, 1)
    assert case.correction_due == dt.date(2026, 10, 31)
    assert case.next_due == dt.date(2026, 10, 31)
    assert clocks.next_clock(case) == "correction"


def test_the_clerk_cannot_close_before_the_time_is_up():
    case, clerk = corrected_case()
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "close_uncorrected", actor=clerk, today=dt.date(2026, 10, 31))
    assert exc.value.code == "correction_time_not_up"


def test_the_sweep_closes_what_went_unanswered():
    case, _clerk = corrected_case()
    out = StringIO()
    call_command("cases", "close-uncorrected", "--today", "2026-11-01", stdout=out)
    case.refresh_from_db()
    assert case.status == Status.REJECTED
    assert case.number in out.getvalue()
    entry = case.timeline.get(action="close_uncorrected")
    assert entry.actor.username == f"system-{case.committee.code}"


def test_the_sweep_leaves_answered_and_timely_cases_alone():
    case, _clerk = corrected_case()
    answered, clerk = corrected_case()
    services.transition(answered.pk, "resubmit", actor=clerk, today=dt.date(2026, 10, 20))
    assert services.close_uncorrected(today=dt.date(2026, 10, 31)) == []
    closed = services.close_uncorrected(today=dt.date(2026, 11, 1))
    assert [c.pk for c in closed] == [case.pk]
    answered.refresh_from_db()
    assert answered.status == Status.SUBMITTED


def test_the_system_account_cannot_sign_in():
    case, _clerk = corrected_case()
    services.close_uncorrected(today=dt.date(2026, 11, 1))
    system = services.system_actor(case.committee)
    assert not system.has_usable_password()
