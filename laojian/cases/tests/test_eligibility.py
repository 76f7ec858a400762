"""The eligibility rules shown to the clerk before acceptance."""

import datetime as dt

import pytest

from laojian.cases.eligibility import add_months, check
from laojian.cases.models import CaseType, Status
from laojian.cases.tests.factories import CaseFactory, InjuryDeterminationFactory

pytestmark = pytest.mark.django_db


def codes(case):
    return [flag.code for flag in check(case)]


def review_after(conclusion: dt.date, received: dt.date):
    earlier = CaseFactory(case_type=CaseType.INITIAL, status=Status.ARCHIVED, concluded_on=conclusion)
    return CaseFactory(committee=earlier.committee, determination=earlier.determination,
                       case_type=CaseType.REVIEW, received_on=received)


def test_a_review_less_than_a_year_after_the_conclusion_is_flagged():
    case = review_after(dt.date(2026, 1, 15), dt.date(2027, 1, 14))
    assert codes(case) == ["review_too_early"]
    assert check(case)[0].blocking is True


def test_a_review_a_year_or_more_after_the_conclusion_is_eligible():
    assert codes(review_after(dt.date(2025, 11, 16), dt.date(2026, 11, 16))) == []


def test_a_review_with_no_earlier_conclusion_asks_for_it():
    case = CaseFactory(case_type=CaseType.REVIEW, received_on=dt.date(2026, 11, 16))
    assert codes(case) == ["review_without_conclusion"]


def test_a_leave_extension_beyond_24_months_after_the_injury_is_flagged():
    determination = InjuryDeterminationFactory(injury_date=dt.date(2024, 10, 1),
                                               determination_date=dt.date(2024, 12, 1))
    case = CaseFactory(determination=determination, case_type=CaseType.LEAVE_EXTENSION,
                       received_on=dt.date(2026, 10, 2))
    assert codes(case) == ["leave_beyond_total"]


def test_a_leave_extension_within_24_months_is_eligible():
    determination = InjuryDeterminationFactory(injury_date=dt.date(2024, 10, 1),
                                               determination_date=dt.date(2024, 12, 1))
    case = CaseFactory(determination=determination, case_type=CaseType.LEAVE_EXTENSION,
                       received_on=dt.date(2026, 10, 1))
    assert codes(case) == []


def test_a_second_open_case_of_the_same_type_is_flagged():
    first = CaseFactory(case_type=CaseType.INITIAL, status=Status.SCHEDULED, number="聊劳鉴〔2026〕0007号")
    other_injury = InjuryDeterminationFactory(worker=first.worker)
    second = CaseFactory(committee=first.committee, worker=first.worker, determination=other_injury,
                         case_type=CaseType.INITIAL)
    assert codes(second) == ["second_open_case"]
    assert "聊劳鉴〔2026〕0007号" in check(second)[0].message


def test_a_closed_earlier_case_of_the_same_type_is_no_obstacle():
    first = CaseFactory(case_type=CaseType.INITIAL, status=Status.WITHDRAWN)
    second = CaseFactory(committee=first.committee, determination=first.determination, case_type=CaseType.INITIAL)
    assert codes(second) == []


def test_a_determination_without_a_number_counts_as_missing():
    determination = InjuryDeterminationFactory(number=" ")
    case = CaseFactory(determination=determination)
    assert codes(case) == ["determination_missing"]


def test_a_determination_dated_after_the_application_is_questioned():
    determination = InjuryDeterminationFactory(determination_date=dt.date(2026, 11, 20))
    case = CaseFactory(determination=determination, received_on=dt.date(2026, 11, 2))
    assert codes(case) == ["determination_after_application"]


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
    (dt.date(2024, 10, 1), 24, dt.date(2026, 10, 1)),
    (dt.date(2025, 12, 15), 1, dt.date(2026, 1, 15)),
])
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


# ACCEPTANCE ENFORCES THE ONE-YEAR RULE ------------------------------------------------------------

def _clerk_of(case):
    from laojian.core.tests.factories import UserFactory

    return UserFactory(committee=case.committee, roles=["clerk"])


def test_a_review_appraisal_before_one_year_cannot_be_accepted():
    from laojian.cases import services
    from laojian.cases.workflow import TransitionRefused

    case = review_after(dt.date(2026, 1, 15), dt.date(2027, 1, 14))
    case.status = Status.SUBMITTED
    case.save()

    with pytest.raises(TransitionRefused) as refused:
        services.transition(case.pk, "accept", actor=_clerk_of(case), today=dt.date(2027, 1, 14))

    assert refused.value.code == "review_too_early"
    assert "2027-01-15" in refused.value.message


def test_an_accepted_review_appraisal_is_linked_to_the_earlier_conclusion():
    from laojian.cases import services

    case = review_after(dt.date(2025, 11, 16), dt.date(2026, 11, 16))
    case.status = Status.SUBMITTED
    case.save()

    case = services.transition(case.pk, "accept", actor=_clerk_of(case), today=dt.date(2026, 11, 16))

    assert case.earlier_case.concluded_on == dt.date(2025, 11, 16)
