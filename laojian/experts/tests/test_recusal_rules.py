"""Recusal rules added for checks and balances: separation of duties in every draw, the earlier
appraisal's panel in a review appraisal, and the conflicts a collective discussion asks about."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from laojian.cases.models import Case, CaseType, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ValidationFailed
from laojian.core.tests.factories import UserFactory
from laojian.experts import selectors, services
from laojian.experts.models import ConflictDeclaration, Draw, DrawRules
from laojian.experts.tests.factories import ExpertFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 7)


def world(n_experts: int = 5, **case_kwargs):
    case = CaseFactory(status=Status.REVIEWED, number="测劳鉴〔2026〕0201号", **case_kwargs)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    experts = [ExpertFactory(committee=case.committee, specialties=[ortho]) for _ in range(n_experts)]
    return case, clerk, experts


def draw(case, clerk, **kwargs):
    return services.panel_draw(case.pk, services.DrawRequest([2], sitting_date=DAY, **kwargs), actor=clerk)


def seated(panel) -> set[int]:
    return set(panel.members.values_list("expert_id", flat=True))


def exclusions(panel) -> dict[int, tuple[str, str]]:
    spec = panel.draws.get(kind=Draw.Kind.INITIAL).spec
    return {e["id"]: (e["reason"], e["detail"]) for e in spec["excluded"]}


# SEPARATION OF DUTIES ---------------------------------------------------------------------------------

def test_the_expert_who_accepted_the_case_and_the_one_who_reviewed_it_are_never_drawn():
    case, clerk, experts = world(n_experts=5)
    Case.objects.filter(pk=case.pk).update(accepted_by=experts[0].user, reviewed_by=experts[1].user)
    panel = draw(case, clerk)
    assert seated(panel) == {e.pk for e in experts[2:]}
    assert exclusions(panel) == {experts[0].pk: ("duty", "accepted this case"),
                                 experts[1].pk: ("duty", "did this case's preliminary review")}


def test_the_acceptor_is_not_drawn_as_a_replacement_either():
    case, clerk, experts = world(n_experts=5)
    panel = draw(case, clerk)
    acceptor, other = (e for e in experts if e.pk not in seated(panel))
    Case.objects.filter(pk=case.pk).update(accepted_by=acceptor.user)
    member = panel.members.select_related("expert").first()
    result = services.member_decline(member.pk, "出差", actor=member.expert.user)
    assert result.replacement.expert_id == other.pk
    assert {"id": acceptor.pk, "reason": "duty", "detail": "accepted this case"} in \
        result.replacement.draw.spec["excluded"]


def test_the_reviewer_is_not_drawn_on_a_second_opinion_panel():
    case, clerk, experts = world(n_experts=7)
    first = seated(draw(case, clerk))
    reviewer = next(e for e in experts if e.pk not in first)
    Case.objects.filter(pk=case.pk).update(status=Status.DIFFICULT, reviewed_by=reviewer.user)
    panel = services.second_opinion_draw(case.pk, "集体讨论决定", actor=clerk, sitting_date=DAY)
    assert reviewer.pk not in seated(panel)
    assert exclusions(panel)[reviewer.pk] == ("duty", "did this case's preliminary review")


def test_the_draw_record_explains_a_separation_of_duties_recusal(client):
    case, clerk, experts = world(n_experts=4)
    Case.objects.filter(pk=case.pk).update(accepted_by=experts[0].user)
    panel = draw(case, clerk)
    client.force_login(clerk)
    page = client.get(reverse("experts:draw_record", args=[panel.draws.get().pk])).content.decode()
    with translation.override("zh-hans"):
        reason = str(selectors.RECUSAL_REASONS["duty"])
    assert escape(reason) in page


# REVIEW APPRAISAL --------------------------------------------------------------------------------------

def review_world(n_experts: int = 6):
    """A concluded initial appraisal with a drawn panel, and the review appraisal of it."""
    earlier, clerk, experts = world(n_experts=n_experts)
    earlier_panel = draw(earlier, clerk)
    Case.objects.filter(pk=earlier.pk).update(status=Status.DELIVERED)
    case = CaseFactory(committee=earlier.committee, determination=earlier.determination, status=Status.REVIEWED,
                       case_type=CaseType.REVIEW, earlier_case=earlier, number="测劳鉴〔2027〕0001号")
    return case, clerk, experts, earlier_panel


def test_a_review_appraisal_recuses_the_earlier_appraisals_panel_by_default():
    case, clerk, _experts, earlier_panel = review_world()
    panel = draw(case, clerk)
    assert seated(panel).isdisjoint(seated(earlier_panel))
    assert exclusions(panel) == dict.fromkeys(seated(earlier_panel), ("earlier_panel", "测劳鉴〔2026〕0201号"))


def test_a_review_appraisal_may_draw_the_earlier_panel_when_the_clerk_unticks_it():
    case, clerk, _experts, _earlier_panel = review_world()
    panel = draw(case, clerk, recuse_earlier_panel=False)
    spec = panel.draws.get().spec
    assert spec["excluded"] == []
    assert len(spec["candidates"]) == 6
    assert spec["recuse_earlier_panel"] is False


def test_the_earlier_panel_is_recused_for_an_appraisal_that_is_not_a_review():
    case, clerk, _experts = world()
    with pytest.raises(ValidationFailed) as exc:
        draw(case, clerk, recuse_earlier_panel=False)
    assert exc.value.code == "earlier_panel_not_review"


def test_a_replacement_keeps_the_clerks_choice_on_the_earlier_panel():
    case, clerk, _experts, earlier_panel = review_world(n_experts=4)
    panel = draw(case, clerk, recuse_earlier_panel=False)
    member = panel.members.select_related("expert").first()
    result = services.member_decline(member.pk, "出差", actor=member.expert.user)
    assert result.replacement is not None
    assert "earlier_panel" not in {e["reason"] for e in result.replacement.draw.spec["excluded"]}


def test_the_draw_page_shows_the_earlier_panel_checkbox_only_for_a_review_appraisal(client):
    case, clerk, _experts, _earlier_panel = review_world()
    initial = CaseFactory(committee=case.committee, status=Status.REVIEWED, number="测劳鉴〔2027〕0002号")
    client.force_login(clerk)
    assert 'name="recuse_earlier_panel"' in client.get(reverse("experts:case_draw", args=[case.pk])).content.decode()
    assert 'name="recuse_earlier_panel"' not in \
        client.get(reverse("experts:case_draw", args=[initial.pk])).content.decode()


def test_unticking_on_the_page_lets_the_earlier_panel_be_drawn(client):
    case, clerk, _experts, _earlier_panel = review_world()
    client.force_login(clerk)
    client.post(reverse("experts:case_draw_run", args=[case.pk]),
                {"categories": ["2"], "sitting_date": DAY.isoformat(), "earlier_choice": "1"})
    assert case.panels.get().draws.get().spec["excluded"] == []


def test_leaving_the_box_ticked_on_the_page_recuses_the_earlier_panel(client):
    case, clerk, _experts, earlier_panel = review_world()
    client.force_login(clerk)
    client.post(reverse("experts:case_draw_run", args=[case.pk]),
                {"categories": ["2"], "sitting_date": DAY.isoformat(), "earlier_choice": "1",
                 "recuse_earlier_panel": "on"})
    assert set(exclusions(case.panels.get())) == seated(earlier_panel)


# CONFLICTS FOR A COLLECTIVE DISCUSSION -----------------------------------------------------------------

def test_conflicts_of_users_names_declared_conflicts_and_the_treating_hospital():
    case, clerk, experts = world(n_experts=4)
    ConflictDeclaration.objects.create(expert=experts[0], worker=case.worker, reason="表兄弟")
    ConflictDeclaration.objects.create(expert=experts[1], employer=case.employer, reason="曾任该单位顾问")
    services.treating_hospital_add(case.pk, experts[2].hospital_id, actor=clerk)
    leader = UserFactory(committee=case.committee, roles=["leader"])
    found = selectors.conflicts_of_users(case, [e.user_id for e in experts] + [leader.pk])
    assert found == {
        experts[0].user_id: "declared a conflict of interest: 表兄弟",
        experts[1].user_id: "declared a conflict of interest: 曾任该单位顾问",
        experts[2].user_id: f"works at a hospital that treated this worker: {experts[2].hospital.name}",
    }


def test_conflicts_of_users_leaves_the_treating_hospital_out_when_the_committee_does_not_recuse_it():
    case, clerk, experts = world(n_experts=2)
    DrawRules.objects.create(committee=case.committee, recuse_treating_hospital=False)
    services.treating_hospital_add(case.pk, experts[0].hospital_id, actor=clerk)
    assert selectors.conflicts_of_users(case, [experts[0].user_id]) == {}


def test_conflicts_of_users_ignores_users_who_are_not_experts_and_experts_without_a_conflict():
    case, _clerk, experts = world(n_experts=1)
    leader = UserFactory(committee=case.committee, roles=["leader"])
    assert selectors.conflicts_of_users(case, [leader.pk, experts[0].user_id]) == {}
    assert selectors.conflicts_of_users(case, []) == {}
