"""The conclusion a collective discussion decides (``conclusion_from_discussion``), and cases the
reviewer marked difficult at the preliminary review."""

from __future__ import annotations

import pytest
from django.utils import translation

from laojian.cases.models import CaseType, Status, TimelineEntry
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.grading import services
from laojian.grading.models import Conclusion
from laojian.grading.services import DiscussionConclusion, GradingRefused
from laojian.grading.tests.factories import leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db

TEN = "5.10.2(12)"  # grade 10
OTHER_TEN = "5.10.2(1)"  # grade 10
SEVEN = "5.7.2(47)"  # grade 7


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def diverged_case(**kwargs):
    case, experts = panel_case(**kwargs)
    signed_opinion(case, experts[0], [TEN])
    signed_opinion(case, experts[1], [TEN])
    signed_opinion(case, experts[2], [SEVEN])
    case.refresh_from_db()
    return case, experts


# DRAFTING ----------------------------------------------------------------------------------------

def test_the_discussions_decision_is_drafted_with_its_reference():
    case, experts = diverged_case()

    conclusion = services.conclusion_from_discussion(
        case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7, basis="集体讨论认定七级",
                                      reference="集体讨论 2026-11-28（第3号）"), actor=leader(case))

    assert (conclusion.state, conclusion.source) == (Conclusion.State.DRAFT, Conclusion.Source.DISCUSSION)
    assert (conclusion.grade, conclusion.clauses, conclusion.basis) == (7, [SEVEN], "集体讨论认定七级")
    assert conclusion.reasons == ["Decided by the collective discussion (集体讨论 2026-11-28（第3号）)."]
    assert sorted(o.author_id for o in conclusion.opinions.all()) == sorted(u.pk for u in experts)


def test_a_discussion_without_a_basis_gets_one_naming_the_clauses():
    case, _experts = diverged_case()

    conclusion = services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7),
                                                     actor=leader(case))

    assert conclusion.basis == f"Under {conclusion.edition.code}, clauses {SEVEN}: 7级."


def test_a_second_decision_replaces_the_draft():
    case, _experts = diverged_case()
    boss = leader(case)
    services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7), actor=boss)

    services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[TEN], grade=10), actor=boss)

    assert list(Conclusion.objects.filter(case=case).values_list("grade", flat=True)) == [10]


def test_the_leader_approves_the_discussions_conclusion_and_the_case_concludes():
    case, _experts = diverged_case()
    services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7),
                                        actor=leader(case))

    conclusion = services.conclusion_approve(case.pk, actor=leader(case))

    case.refresh_from_db()
    assert conclusion.state == Conclusion.State.APPROVED and conclusion.number
    assert case.status == Status.CONCLUDED


def test_a_case_marked_difficult_before_any_opinion_concludes_on_the_discussion_alone():
    case, _experts = panel_case(status=Status.DIFFICULT)
    services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7),
                                        actor=leader(case))

    services.conclusion_approve(case.pk, actor=leader(case))

    case.refresh_from_db()
    assert case.status == Status.CONCLUDED


def test_only_a_leader_records_the_discussions_conclusion():
    case, experts = diverged_case()

    with pytest.raises(PermissionDeniedError):
        services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7),
                                            actor=experts[0])
    assert not Conclusion.objects.filter(case=case).exists()


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.CONCLUDED])
def test_a_discussion_conclusion_needs_a_difficult_or_examined_case(status):
    case, _experts = panel_case(status=status)

    with pytest.raises(GradingRefused) as refused:
        services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=7),
                                            actor=leader(case))
    assert refused.value.code == "not_difficult"


# VALIDATION --------------------------------------------------------------------------------------

def test_an_unknown_clause_is_refused():
    case, _experts = diverged_case()

    with pytest.raises(ValidationFailed) as refused:
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=["5.10.2(99)"], grade=10))
    assert refused.value.message == "Clause 5.10.2(99) does not exist in GB/T 16180-2014."


def test_a_grade_the_clauses_do_not_allow_is_refused():
    case, _experts = diverged_case()

    with pytest.raises(ValidationFailed) as refused:
        services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[SEVEN], grade=6),
                                            actor=leader(case))
    assert refused.value.code == "grade_contradicts"
    assert not Conclusion.objects.filter(case=case).exists()


def test_two_clauses_of_the_same_grade_allow_the_raised_grade_or_the_unraised_one():
    case, _experts = diverged_case()

    for grade in (9, 10):
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[TEN, OTHER_TEN], grade=grade))
    with pytest.raises(ValidationFailed):
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[TEN, OTHER_TEN], grade=8))


def test_no_clause_means_no_grade():
    case, _experts = diverged_case()

    services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[], grade=None))
    with pytest.raises(ValidationFailed):
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[], grade=10))


def test_an_unknown_care_level_or_medical_dependency_is_refused():
    case, _experts = diverged_case()

    with pytest.raises(ValidationFailed):
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[SEVEN], grade=7, care_level="all"))
    with pytest.raises(ValidationFailed):
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[SEVEN], grade=7,
                                                                        medical_dependency="some"))


def test_months_on_a_graded_case_are_refused():
    case, _experts = diverged_case()

    with pytest.raises(ValidationFailed) as refused:
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[SEVEN], grade=7, months=6))
    assert refused.value.code == "months_not_period"


def test_a_paid_leave_decision_needs_months():
    case, _experts = panel_case(case_type=CaseType.LEAVE_CONFIRMATION, status=Status.DIFFICULT)

    with pytest.raises(ValidationFailed) as refused:
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[]))
    assert refused.value.message == "Give the number of months recommended."


def test_a_paid_leave_decision_beyond_the_statutory_months_is_refused():
    case, _experts = panel_case(case_type=CaseType.LEAVE_CONFIRMATION, status=Status.DIFFICULT)

    with pytest.raises(ValidationFailed) as refused:
        services.check_discussion_conclusion(case, DiscussionConclusion(clauses=[], months=13))
    assert refused.value.code == "period_beyond_maximum"


def test_a_paid_leave_decision_is_drafted_with_its_months():
    case, _experts = panel_case(case_type=CaseType.LEAVE_CONFIRMATION, status=Status.DIFFICULT)

    conclusion = services.conclusion_from_discussion(case.pk, DiscussionConclusion(clauses=[], months=9),
                                                     actor=leader(case))

    assert (conclusion.months, conclusion.grade) == (9, None)
    assert conclusion.basis == "The collective discussion decided 9 months."


# DIFFICULT FROM THE START ------------------------------------------------------------------------

def test_a_case_marked_difficult_at_the_preliminary_review_goes_to_difficult_even_when_the_panel_agrees():
    case, experts = panel_case(difficult_reason="多部位复合伤，需集体讨论")

    for expert in experts:
        signed_opinion(case, expert, [TEN])

    case.refresh_from_db()
    entry = TimelineEntry.objects.get(case=case, action="mark_difficult")
    assert case.status == Status.DIFFICULT
    assert not Conclusion.objects.filter(case=case).exists()
    assert entry.actor.username == f"system-{case.committee.code}"
    assert entry.note.startswith("Marked difficult at the preliminary review: 多部位复合伤，需集体讨论")
    assert entry.data["reason"] == "preliminary_review"


def test_a_case_not_marked_difficult_at_the_review_is_drafted_as_before():
    case, experts = panel_case()

    for expert in experts:
        signed_opinion(case, expert, [TEN])

    case.refresh_from_db()
    assert case.status == Status.EXAMINED
    assert Conclusion.objects.get(case=case).source == Conclusion.Source.PANEL
