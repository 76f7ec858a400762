"""A review appraisal against the earlier conclusion, and the leader's queue of difficult cases with
where each one stands."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from laojian.cases import services as case_services
from laojian.cases.models import CaseType, Status
from laojian.core.tests.factories import UserFactory
from laojian.grading import selectors, services
from laojian.grading.selectors import Verdict
from laojian.grading.tests.factories import clerk, leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db

TEN = "5.10.2(12)"  # grade 10
SEVEN = "5.7.2(47)"  # grade 7


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def concluded_case(clause: str):
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, [clause])
    services.conclusion_approve(case.pk, actor=leader(case))
    case.refresh_from_db()
    return case


def review_of(earlier, clause: str | None = None):
    """A review appraisal of ``earlier``; with ``clause``, its panel has agreed on it (a draft)."""
    case, experts = panel_case(case_type=CaseType.REVIEW, earlier_case=earlier, committee=earlier.committee)
    if clause:
        for expert in experts:
            signed_opinion(case, expert, [clause])
    return case


# THE EARLIER APPRAISAL ---------------------------------------------------------------------------

def test_a_worse_grade_than_the_earlier_conclusion_is_worsened():
    earlier = concluded_case(TEN)

    comparison = selectors.earlier_comparison(review_of(earlier, SEVEN))

    assert comparison.earlier.number == selectors.conclusion_of(earlier).number
    assert comparison.earlier_date == earlier.concluded_on
    assert (comparison.earlier.grade, comparison.current.grade) == (10, 7)
    assert comparison.verdict == Verdict.WORSENED


def test_a_lighter_grade_than_the_earlier_conclusion_is_improved():
    earlier = concluded_case(SEVEN)

    assert selectors.earlier_comparison(review_of(earlier, TEN)).verdict == Verdict.IMPROVED


def test_the_same_grade_and_care_level_is_unchanged():
    earlier = concluded_case(TEN)

    assert selectors.earlier_comparison(review_of(earlier, TEN)).verdict == Verdict.UNCHANGED


def test_with_the_same_grade_a_heavier_care_dependency_is_worsened():
    earlier = concluded_case(TEN)
    case, experts = panel_case(case_type=CaseType.REVIEW, earlier_case=earlier)
    for expert in experts:
        signed_opinion(case, expert, [TEN], care_needs=["eating", "moving"])

    assert selectors.earlier_comparison(case).verdict == Verdict.WORSENED


def test_no_verdict_before_this_appraisal_has_a_conclusion():
    earlier = concluded_case(TEN)

    comparison = selectors.earlier_comparison(review_of(earlier))

    assert comparison.current is None and comparison.verdict is None


def test_a_case_without_an_earlier_appraisal_has_no_comparison():
    case, _experts = panel_case()

    assert selectors.earlier_comparison(case) is None


def test_the_grading_page_shows_the_verdict_against_the_earlier_appraisal(client):
    earlier = concluded_case(TEN)
    case = review_of(earlier, SEVEN)
    client.force_login(clerk(case))

    content = client.get(reverse("grading:case", args=[case.pk])).content.decode()

    assert "Against the earlier appraisal" in content
    assert selectors.conclusion_of(earlier).number in content
    assert "Worsened" in content


# THE DIFFICULT QUEUE -----------------------------------------------------------------------------

def difficult_case(**kwargs):
    case, experts = panel_case(**kwargs)
    signed_opinion(case, experts[0], [TEN])
    signed_opinion(case, experts[1], [TEN])
    signed_opinion(case, experts[2], [SEVEN])
    case.refresh_from_db()
    assert case.status == Status.DIFFICULT
    return case


def test_the_queue_shows_the_latest_discussion_or_second_opinion_step():
    case = difficult_case()
    boss = leader(case)
    now = timezone.now()
    case_services.timeline_add(case.pk, "second_opinion_drawn", actor=boss, at=now - dt.timedelta(days=3))
    case_services.timeline_add(case.pk, "discussion_scheduled", actor=boss, at=now - dt.timedelta(days=1))
    case_services.timeline_add(case.pk, "extension_requested", actor=boss, at=now)

    [row] = selectors.difficult_queue(boss)

    assert (row.stage, row.stage_on) == ("Collective discussion scheduled",
                                         timezone.localdate(now - dt.timedelta(days=1)))


def test_a_case_no_step_has_been_taken_on_shows_no_stage():
    case = difficult_case()

    [row] = selectors.difficult_queue(leader(case))

    assert (row.stage, row.stage_on) == ("", None)


def test_the_leader_can_put_ticked_cases_on_a_discussion_from_the_queue(client):
    first, second = difficult_case(), None
    second = difficult_case(committee=first.committee)
    client.force_login(leader(first))

    content = client.get(reverse("grading:difficult")).content.decode()

    assert 'action="/review/discussions/new/"' in content and 'method="get"' in content
    assert f'name="cases" value="{first.pk}"' in content
    assert f'name="cases" value="{second.pk}"' in content


def test_a_reviewer_sees_the_queue_without_the_discussion_form(client):
    case = difficult_case()
    client.force_login(UserFactory(committee=case.committee, roles=["reviewer"]))

    response = client.get(reverse("grading:difficult"))

    assert response.status_code == 200
    assert "discussion_new_url" not in response.context
    assert 'name="cases"' not in response.content.decode()
