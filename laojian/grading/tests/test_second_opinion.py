"""Second-opinion panels (专家复审): who writes a second opinion and when, the comparison with the first
panel on the timeline, the blind rule on the grading pages, and the leader adopting a second opinion."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from laojian.cases import services as case_services
from laojian.cases.models import CaseAssignment, Status, TimelineEntry
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.core.tests.factories import UserFactory
from laojian.grading import rules, selectors, services
from laojian.grading.models import Conclusion, Opinion
from laojian.grading.services import GradingRefused
from laojian.grading.tests.factories import clerk, leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db

TEN = "5.10.2(12)"  # grade 10, the factories' default clause
SEVEN = "5.7.2(47)"  # grade 7


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def difficult_case(**kwargs):
    """A case whose first panel diverged (10级, 10级, 7级): it is difficult. Returns (case, first panel)."""
    case, experts = panel_case(**kwargs)
    signed_opinion(case, experts[0], [TEN])
    signed_opinion(case, experts[1], [TEN])
    signed_opinion(case, experts[2], [SEVEN])
    case.refresh_from_db()
    assert case.status == Status.DIFFICULT
    return case, experts


def seat_second_panel(case, n: int = 3) -> list:
    """Seat ``n`` second-opinion experts the way the experts app does."""
    boss = leader(case)
    members = [UserFactory(committee=None, roles=["expert"]) for _ in range(n)]
    for member in members:
        case_services.assignment_add(case, member, CaseAssignment.Role.SECOND_EXPERT, actor=boss)
    return members


# WHO WRITES A SECOND OPINION, AND WHEN ------------------------------------------------------------

def test_a_second_opinion_expert_cannot_write_while_the_case_is_only_examined():
    case, _experts = panel_case()
    [second] = seat_second_panel(case, 1)

    with pytest.raises(GradingRefused) as refused:
        services.opinion_start(case.pk, actor=second)

    assert refused.value.code == "opinion_closed"
    assert not Opinion.objects.filter(case=case, author=second).exists()


def test_a_second_opinion_expert_writes_a_second_opinion_while_the_case_is_difficult():
    case, _experts = difficult_case()
    [second] = seat_second_panel(case, 1)

    opinion = signed_opinion(case, second, [TEN])

    assert opinion.second_opinion is True
    assert opinion.state == Opinion.State.SIGNED


def test_a_second_opinion_cannot_be_corrected_once_the_case_has_left_difficult():
    case, _experts = difficult_case()
    [second] = seat_second_panel(case, 1)
    opinion = signed_opinion(case, second, [TEN])
    case.__class__.objects.filter(pk=case.pk).update(status=Status.EXAMINED)

    with pytest.raises(GradingRefused) as refused:
        services.opinion_correct(opinion.pk, actor=second)

    assert refused.value.code == "opinion_closed"


def test_second_opinions_stay_out_of_the_first_panels_opinions_and_agreement():
    case, first = difficult_case()
    seconds = seat_second_panel(case)
    for member in seconds:
        signed_opinion(case, member, [TEN])

    assert sorted(selectors.signed_opinions(case)) == sorted(u.pk for u in first)
    assert sorted(selectors.second_opinions(case)) == sorted(u.pk for u in seconds)
    assert selectors.panel_user_ids(case) == [u.pk for u in first]
    assert selectors.second_panel_user_ids(case) == [u.pk for u in seconds]


def test_second_opinion_progress_lists_each_second_expert_and_their_opinion():
    case, _first = difficult_case()
    seconds = seat_second_panel(case, 2)
    signed = signed_opinion(case, seconds[0], [TEN])

    seats = selectors.second_opinion_progress(case)

    assert [(s.user, s.signed) for s in seats] == [(seconds[0], signed), (seconds[1], None)]


# THE COMPARISON ON THE TIMELINE -------------------------------------------------------------------

def test_the_last_second_signature_puts_the_comparison_with_the_first_panel_on_the_timeline():
    case, _first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])

    entry = TimelineEntry.objects.get(case=case, action="second_opinion_signed")
    assert entry.note == (
        "The second-opinion panel's 3 signed opinions agree: 10级，no care dependency，no medical dependency. "
        "The first panel did not agree. "
        "Differences: grade: first panel 10级、10级、7级, second-opinion panel 10级.")
    assert entry.data == {"second_agrees": True, "same_as_first": False}


def test_no_comparison_while_a_second_expert_has_not_signed():
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    for member in seconds[:2]:
        signed_opinion(case, member, [TEN])

    assert not TimelineEntry.objects.filter(case=case, action="second_opinion_signed").exists()
    assert selectors.second_opinion_comparison(case) is None


def test_the_second_panel_signing_changes_no_status_and_drafts_nothing():
    case, _first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])

    case.refresh_from_db()
    assert case.status == Status.DIFFICULT
    assert not Conclusion.objects.filter(case=case).exists()


def test_two_panels_on_the_same_result_are_the_same():
    comparison = rules.compare_panels(
        [rules.PanelOpinion(9, "none", "none")] * 3, [rules.PanelOpinion(9, "none", "none")] * 3, rules.Tolerance())

    assert comparison.same
    assert comparison.differences == ()
    assert comparison.summary.endswith("The two panels came to the same result.")


# ADOPTING THE SECOND OPINION ----------------------------------------------------------------------

def test_adopting_a_disagreeing_second_panel_is_refused_and_the_discussion_decides():
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    signed_opinion(case, seconds[0], [TEN])
    signed_opinion(case, seconds[1], [SEVEN])
    signed_opinion(case, seconds[2], [TEN])

    with pytest.raises(GradingRefused) as refused:
        services.conclusion_adopt_second_opinion(case.pk, actor=leader(case), reason="复审意见更充分")

    assert refused.value.code == "second_opinion_diverges"
    assert "the collective discussion decides the case" in refused.value.message
    assert not Conclusion.objects.filter(case=case).exists()


def test_adopting_is_refused_while_a_second_expert_has_not_signed():
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    signed_opinion(case, seconds[0], [TEN])

    with pytest.raises(GradingRefused) as refused:
        services.conclusion_adopt_second_opinion(case.pk, actor=leader(case), reason="复审意见更充分")

    assert refused.value.code == "second_opinion_unsigned"


def test_adopting_needs_a_reason():
    case, _first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])

    with pytest.raises(ValidationFailed):
        services.conclusion_adopt_second_opinion(case.pk, actor=leader(case), reason="  ")
    assert not Conclusion.objects.filter(case=case).exists()


def test_an_expert_cannot_adopt_a_second_opinion():
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    for member in seconds:
        signed_opinion(case, member, [TEN])

    with pytest.raises(PermissionDeniedError):
        services.conclusion_adopt_second_opinion(case.pk, actor=seconds[0], reason="复审意见更充分")


def test_an_agreeing_second_panel_is_adopted_as_the_draft_and_the_leader_approves_it():
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    for member in seconds:
        signed_opinion(case, member, [TEN])
    boss = leader(case)

    draft = services.conclusion_adopt_second_opinion(case.pk, actor=boss, reason="复审意见一致")
    approved = services.conclusion_approve(case.pk, actor=leader(case))

    case.refresh_from_db()
    assert draft.source == Conclusion.Source.SECOND_OPINION
    assert (draft.grade, draft.clauses) == (10, [TEN])
    assert sorted(o.author_id for o in draft.opinions.all()) == sorted(u.pk for u in seconds)
    assert draft.reasons[0] == f"The second-opinion panel's opinions, adopted by {boss}: 复审意见一致"
    assert approved.state == Conclusion.State.APPROVED
    assert case.status == Status.CONCLUDED


def test_adopting_replaces_a_draft_of_the_collective_discussion():
    case, _first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])
    boss = leader(case)
    services.conclusion_from_discussion(case.pk, services.DiscussionConclusion(clauses=[SEVEN], grade=7),
                                        actor=boss)

    services.conclusion_adopt_second_opinion(case.pk, actor=boss, reason="复审意见一致")

    conclusion = Conclusion.objects.get(case=case)
    assert (conclusion.source, conclusion.grade) == (Conclusion.Source.SECOND_OPINION, 10)


# BLIND SECOND OPINIONS ON THE PAGES ---------------------------------------------------------------

def test_a_blind_second_expert_who_has_not_signed_sees_nothing_of_the_first_panel(client):
    case, first = difficult_case()
    [second, *_others] = seat_second_panel(case)
    client.force_login(second)

    page = client.get(reverse("grading:case", args=[case.pk]))
    first_opinion = selectors.signed_opinions(case)[first[2].pk]
    opinion_page = client.get(reverse("grading:opinion", args=[first_opinion.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "7级" not in content and SEVEN not in content
    assert page.context["blind"] is True
    assert page.context["seats"] == [] and page.context["divergence"] is None
    assert page.context["conclusion"] is None
    assert opinion_page.status_code == 404


def test_a_blind_second_experts_own_draft_page_shows_nothing_of_the_first_panel(client):
    case, _first = difficult_case()
    [second, *_others] = seat_second_panel(case)
    opinion = services.opinion_start(case.pk, actor=second)
    client.force_login(second)

    response = client.get(reverse("grading:opinion_edit", args=[opinion.pk]))

    assert response.status_code == 200
    assert "7级" not in response.content.decode()


def test_after_signing_a_second_expert_sees_both_panels_side_by_side_with_the_differences(client):
    case, first = difficult_case()
    seconds = seat_second_panel(case)
    for member in seconds:
        signed_opinion(case, member, [TEN])
    client.force_login(seconds[0])

    page = client.get(reverse("grading:case", args=[case.pk]))
    first_opinion = selectors.signed_opinions(case)[first[2].pk]
    opinion_page = client.get(reverse("grading:opinion", args=[first_opinion.pk]))

    content = page.content.decode()
    assert page.context["blind"] is False
    assert [(str(r["panel"]), r["opinion"].grade) for r in page.context["side_by_side"]] == [
        ("first panel", 10), ("first panel", 10), ("first panel", 7),
        ("second-opinion panel", 10), ("second-opinion panel", 10), ("second-opinion panel", 10)]
    assert [(r.name, r.first, r.second) for r in page.context["comparison"].differences] == [
        ("grade", "10级、10级、7级", "10级")]
    assert "10级、10级、7级" in content
    assert opinion_page.status_code == 200


def test_where_second_opinions_are_not_blind_the_second_expert_sees_the_first_panel_before_signing(client):
    case, _first = difficult_case()
    case.committee.second_opinion_blind = False
    case.committee.save(update_fields=["second_opinion_blind"])
    [second, *_others] = seat_second_panel(case)
    client.force_login(second)

    page = client.get(reverse("grading:case", args=[case.pk]))

    assert page.context["blind"] is False
    assert "10级、10级、7级" in page.content.decode()  # the divergence note


def test_staff_see_both_panels_before_the_second_panel_has_finished(client):
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    signed_opinion(case, seconds[0], [TEN])
    client.force_login(clerk(case))

    page = client.get(reverse("grading:case", args=[case.pk]))

    assert [str(r["panel"]) for r in page.context["side_by_side"]] == ["first panel"] * 3 + ["second-opinion panel"]
    assert page.context["comparison"] is None
    assert len(page.context["second_seats"]) == 3


def test_staff_see_the_comparison_once_the_second_panel_has_signed(client):
    case, _first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])
    client.force_login(clerk(case))

    page = client.get(reverse("grading:case", args=[case.pk]))

    assert escape(page.context["comparison"].summary) in page.content.decode()


def test_a_first_panel_expert_does_not_see_the_second_panel(client):
    case, first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])
    client.force_login(first[0])

    page = client.get(reverse("grading:case", args=[case.pk]))

    assert page.context["second_seats"] == [] and page.context["side_by_side"] == []


def test_the_leader_adopts_the_second_opinion_from_the_grading_page(client):
    case, _first = difficult_case()
    for member in seat_second_panel(case):
        signed_opinion(case, member, [TEN])
    client.force_login(leader(case))
    page = client.get(reverse("grading:case", args=[case.pk]))

    response = client.post(reverse("grading:adopt_second_opinion", args=[case.pk]), {"reason": "复审意见一致"})

    assert page.context["adopt_form"] is not None
    assert response.status_code == 303
    assert Conclusion.objects.get(case=case).source == Conclusion.Source.SECOND_OPINION


def test_the_page_offers_no_adoption_of_a_disagreeing_second_panel_and_posting_says_why(client):
    case, _first = difficult_case()
    seconds = seat_second_panel(case)
    signed_opinion(case, seconds[0], [TEN])
    signed_opinion(case, seconds[1], [SEVEN])
    signed_opinion(case, seconds[2], [TEN])
    client.force_login(leader(case))
    page = client.get(reverse("grading:case", args=[case.pk]))

    response = client.post(reverse("grading:adopt_second_opinion", args=[case.pk]), {"reason": "试图采纳"},
                           follow=True)

    assert "adopt_form" not in page.context
    assert [str(m) for m in response.context["messages"]][0].startswith(
        "The second-opinion panel's opinions do not agree, so there is nothing to adopt")
    assert not Conclusion.objects.filter(case=case).exists()
