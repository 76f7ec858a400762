"""The second-opinion panel (专家复审): a fresh panel for a difficult case, none of whose experts sat on
any panel of the case, with a reason; its members hold the case as second-opinion experts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from laojian.cases.models import Case, CaseAssignment, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ConflictError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.experts import selectors, services
from laojian.experts.models import Draw, Panel, PanelMember
from laojian.experts.tests.factories import ExpertFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 7)
LATER = dt.date(2026, 12, 21)
REASON = "经2026年12月14日集体讨论决定专家复审"


def world(n_experts: int = 10, first: bool = True, status: str = Status.DIFFICULT):
    """A case with a first panel of 3 drawn from n orthopaedists, then put in ``status``."""
    case = CaseFactory(status=Status.REVIEWED, number="测劳鉴〔2026〕0101号")
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    experts = [ExpertFactory(committee=case.committee, specialties=[ortho]) for _ in range(n_experts)]
    first_panel = None
    if first:
        first_panel = services.panel_draw(case.pk, services.DrawRequest([2], sitting_date=DAY), actor=clerk)
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case, clerk, experts, first_panel


def second(case, clerk, reason=REASON, **kwargs):
    return services.second_opinion_draw(case.pk, reason, actor=clerk, sitting_date=LATER, **kwargs)


def seated(panel) -> set[int]:
    return set(panel.members.values_list("expert_id", flat=True))


def excluded(panel) -> dict[int, str]:
    return {e["id"]: e["reason"] for e in panel.draws.get(kind=Draw.Kind.INITIAL).spec["excluded"]}


# THE DRAW ------------------------------------------------------------------------------------------

def test_a_second_opinion_panel_excludes_every_expert_of_the_first_panel_including_one_who_declined():
    case, clerk, _experts, first = world()
    declined = first.members.order_by("id").first()
    replacement = services.member_decline(declined.pk, "出差", actor=declined.expert.user).replacement
    sat = seated(first)
    assert len(sat) == 4 and {declined.expert_id, replacement.expert_id} <= sat
    panel = second(case, clerk)
    assert seated(panel).isdisjoint(sat)
    assert {k for k, v in excluded(panel).items() if v == "first_panel"} == sat
    recusals = AuditEvent.objects.filter(action="draw.recusal", object_id=str(panel.pk), after__reason="first_panel")
    assert {e.after["expert_id"] for e in recusals} == sat


def test_an_expert_assigned_to_the_first_panel_without_a_draw_is_also_excluded():
    case, clerk, experts, _first = world(n_experts=5, first=False)
    CaseAssignment.objects.create(case=case, user=experts[0].user, role=CaseAssignment.Role.EXPERT)
    with pytest.raises(ValidationFailed) as exc:
        second(case, clerk)
    assert exc.value.code == "draw_no_category"
    panel = second(case, clerk, categories=[2])
    assert excluded(panel) == {experts[0].pk: "first_panel"}
    assert experts[0].pk not in seated(panel)


def test_second_opinion_members_hold_the_case_as_second_opinion_experts():
    case, clerk, _experts, first = world()
    panel = second(case, clerk)
    roles = dict(CaseAssignment.objects.filter(case=case, active=True).values_list("user_id", "role"))
    assert {roles[m.expert.user_id] for m in panel.members.select_related("expert")} == {"second_expert"}
    assert {roles[m.expert.user_id] for m in first.members.select_related("expert")} == {"expert"}


def test_the_panel_records_purpose_and_reason_and_the_timeline_says_why():
    case, clerk, _experts, _first = world()
    panel = second(case, clerk)
    assert (panel.purpose, panel.reason, panel.size) == ("second_opinion", REASON, 3)
    d = panel.draws.get()
    assert (d.reason, d.spec["purpose"]) == (REASON, "second_opinion")
    assert d.spec["categories"] == [2]
    entry = TimelineEntry.objects.get(case=case, action="second_opinion_drawn")
    assert entry.note == REASON
    assert entry.data == {"draw": d.pk, "size": 3}


def test_the_second_opinion_draw_is_committed_with_its_reason_and_verifies():
    case, clerk, _experts, _first = world()
    d = second(case, clerk).draws.get()
    commit = AuditEvent.objects.get(action="draw.commit", object_id=str(d.pk))
    assert (commit.after["purpose"], commit.after["reason"]) == ("second_opinion", REASON)
    assert services.draw_verify(d.pk).problems == []


def test_a_second_opinion_of_five_may_be_asked_for_but_not_of_four():
    case, clerk, _experts, _first = world()
    with pytest.raises(ValidationFailed) as exc:
        second(case, clerk, size=4)
    assert exc.value.code == "invalid_panel_size"
    assert second(case, clerk, size=5).size == 5


def test_active_panel_stays_the_first_and_second_opinion_panel_is_the_new_one():
    case, clerk, _experts, first = world()
    assert selectors.second_opinion_panel(case) is None
    panel = second(case, clerk)
    assert selectors.active_panel(case) == first
    assert selectors.second_opinion_panel(case) == panel


# REFUSALS -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [Status.REVIEWED, Status.EXAMINED, Status.CONCLUDED])
def test_a_second_opinion_is_refused_unless_the_case_is_difficult(status):
    case, clerk, _experts, _first = world(status=status)
    with pytest.raises(ValidationFailed) as exc:
        second(case, clerk)
    assert exc.value.code == "draw_wrong_state"
    assert not Panel.objects.filter(purpose="second_opinion").exists()


def test_a_second_opinion_is_refused_without_a_reason():
    case, clerk, _experts, _first = world()
    with pytest.raises(ValidationFailed) as exc:
        second(case, clerk, reason="  ")
    assert exc.value.code == "second_opinion_no_reason"
    assert exc.value.message == "Give the reason a second-opinion panel is needed."
    assert Panel.objects.count() == 1


def test_a_second_opinion_is_refused_when_one_is_already_active():
    case, clerk, _experts, _first = world()
    second(case, clerk)
    with pytest.raises(ConflictError) as exc:
        second(case, clerk)
    assert exc.value.code == "second_opinion_exists"
    assert Panel.objects.filter(case=case, purpose="second_opinion").count() == 1


def test_a_second_opinion_is_refused_for_a_case_that_had_no_first_panel():
    case, clerk, _experts, _first = world(first=False)
    with pytest.raises(ValidationFailed) as exc:
        second(case, clerk)
    assert exc.value.code == "second_opinion_without_first"


def test_a_second_opinion_after_a_cancelled_one_excludes_its_experts_too():
    case, clerk, _experts, first = world(n_experts=10)
    earlier = second(case, clerk)
    services.panel_cancel(earlier.pk, "复审专家组组成有误", actor=clerk)
    assert not CaseAssignment.objects.filter(case=case, role="second_expert", active=True).exists()
    panel = second(case, clerk)
    assert {k for k, v in excluded(panel).items() if v == "first_panel"} == seated(first) | seated(earlier)


# REPLACEMENT ------------------------------------------------------------------------------------------

def test_a_replacement_on_the_second_opinion_panel_stays_a_second_opinion_expert_and_fresh():
    case, clerk, _experts, first = world(n_experts=7)
    panel = second(case, clerk)
    member = panel.members.select_related("expert").first()
    result = services.member_decline(member.pk, "手术排班冲突", actor=member.expert.user)
    new = result.replacement
    assert new is not None
    assert new.expert_id not in seated(first)
    assert CaseAssignment.objects.get(case=case, user=new.expert.user).role == "second_expert"
    ended = CaseAssignment.objects.get(case=case, user=member.expert.user)
    assert (ended.role, ended.active) == ("second_expert", False)
    spec = new.draw.spec
    assert {e["id"] for e in spec["excluded"] if e["reason"] == "first_panel"} == seated(first)


def test_when_only_first_panel_experts_remain_no_replacement_is_drawn():
    case, clerk, _experts, _first = world(n_experts=6)
    panel = second(case, clerk)
    member = panel.members.select_related("expert").first()
    result = services.member_decline(member.pk, "出差", actor=member.expert.user)
    assert result.replacement is None
    assert PanelMember.objects.filter(panel=panel).exclude(status="declined").count() == 2


# PAGES ------------------------------------------------------------------------------------------------

def test_the_draw_page_offers_a_second_opinion_for_a_difficult_case_and_draws_it(client):
    case, clerk, _experts, first = world()
    client.force_login(clerk)
    page = client.get(reverse("experts:case_draw", args=[case.pk])).content.decode()
    assert reverse("experts:case_second_opinion_run", args=[case.pk]) in page
    response = client.post(reverse("experts:case_second_opinion_run", args=[case.pk]),
                           {"reason": REASON, "size": "3", "sitting_date": LATER.isoformat()})
    panel = Panel.objects.get(case=case, purpose="second_opinion")
    assert response.status_code == 303
    assert response["Location"] == reverse("experts:draw_record", args=[panel.draws.get().pk])
    page = client.get(reverse("experts:case_draw", args=[case.pk])).content.decode()
    for member in [*first.members.select_related("expert"), *panel.members.select_related("expert")]:
        assert member.expert.name in page
    assert REASON in page
    assert reverse("experts:case_second_opinion_run", args=[case.pk]) not in page


def test_the_draw_page_offers_no_second_opinion_before_the_case_is_difficult(client):
    case, clerk, _experts, _first = world(status=Status.EXAMINED)
    client.force_login(clerk)
    page = client.get(reverse("experts:case_draw", args=[case.pk])).content.decode()
    assert reverse("experts:case_second_opinion_run", args=[case.pk]) not in page


def test_the_draw_page_shows_the_refusal_of_a_second_opinion_without_a_reason(client):
    case, clerk, _experts, _first = world()
    client.force_login(clerk)
    response = client.post(reverse("experts:case_second_opinion_run", args=[case.pk]),
                           {"reason": "", "size": "3"}, follow=True)
    with translation.override("zh-hans"):
        message = translation.gettext("Give the reason a second-opinion panel is needed.")
    assert escape(message) in response.content.decode()
    assert not Panel.objects.filter(purpose="second_opinion").exists()


def test_the_draw_record_names_the_first_panel_recusal(client):
    case, clerk, _experts, _first = world()
    panel = second(case, clerk)
    client.force_login(clerk)
    page = client.get(reverse("experts:draw_record", args=[panel.draws.get().pk])).content.decode()
    with translation.override("zh-hans"):
        reason = str(selectors.RECUSAL_REASONS["first_panel"])
        purpose = str(Panel.Purpose.SECOND_OPINION.label)
    assert escape(reason) in page
    assert escape(purpose) in page
    assert REASON in page


def test_the_workbench_labels_a_second_opinion_seat(client):
    case, clerk, _experts, _first = world()
    panel = second(case, clerk)
    member = panel.members.select_related("expert").first()
    client.force_login(member.expert.user)
    page = client.get(reverse("experts:workbench")).content.decode()
    with translation.override("zh-hans"):
        label = translation.gettext("Second opinion")
    assert case.number in page
    assert label in page
