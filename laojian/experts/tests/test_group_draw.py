"""The group draw for a sitting room: one panel examines several workers in turn, so one draw seats
the same experts on every case's panel; recusal over the whole group, one SMS, one seat of the day,
one answer for the room, verification, all or nothing, concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.urls import reverse

from laojian.cases.models import CaseAssignment, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts import draw as algo
from laojian.experts import selectors, services
from laojian.experts.models import ConflictDeclaration, Draw, DrawRules, Panel, PanelMember
from laojian.experts.tests.factories import ExpertFactory, SpecialtyFactory
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 7)


def sitting(n_cases: int = 3, n_experts: int = 6):
    """A committee, n reviewed cases (one worker each), a clerk, and n orthopaedists, each in their own hospital."""
    committee = CommitteeFactory()
    cases = [CaseFactory(committee=committee, status=Status.REVIEWED, number=f"测劳鉴〔2026〕{i:04d}号")
             for i in range(1, n_cases + 1)]
    clerk = UserFactory(committee=committee, roles=["clerk"])
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    experts = [ExpertFactory(committee=committee, specialties=[ortho]) for _ in range(n_experts)]
    return committee, cases, clerk, experts


def group(cases, clerk, **kwargs) -> list[Panel]:
    return services.panel_draw_group([c.pk for c in cases], services.DrawRequest([2], sitting_date=DAY, **kwargs),
                                     actor=clerk)


def seated(panel: Panel) -> set[int]:
    return set(panel.members.exclude(status=PanelMember.Status.DECLINED).values_list("expert_id", flat=True))


def nothing_drawn() -> bool:
    return (not Panel.objects.exists() and not Draw.objects.exists() and not CaseAssignment.objects.exists()
            and not AuditEvent.objects.filter(action__startswith="draw.").exists())


# THE DRAW ------------------------------------------------------------------------------------------

def test_every_case_of_the_group_gets_a_panel_with_the_same_experts_from_one_draw():
    _committee, cases, clerk, _experts = sitting(n_cases=3, n_experts=6)
    panels = group(cases, clerk)
    assert [p.case_id for p in panels] == [c.pk for c in cases]
    assert {p.size for p in panels} == {3} and {p.sitting_date for p in panels} == {DAY}
    draw = Draw.objects.get()
    assert draw.panel_id == panels[0].pk
    assert draw.spec["group"] == [c.pk for c in cases]
    drawn = {p["expert"] for p in draw.result}
    assert all(seated(p) == drawn for p in panels)
    assert set(PanelMember.objects.values_list("draw_id", flat=True)) == {draw.pk}
    users = set(PanelMember.objects.filter(draw=draw).values_list("expert__user_id", flat=True))
    for case in cases:
        assert set(CaseAssignment.objects.filter(case=case, role="expert", active=True)
                   .values_list("user_id", flat=True)) == users
        assert TimelineEntry.objects.get(case=case, action="draw_panel").data == {"draw": draw.pk, "size": 3,
                                                                                  "group": 3}
    event = AuditEvent.objects.get(action="draw.group")
    assert event.after["case_ids"] == [c.pk for c in cases]
    assert event.after["draw_id"] == draw.pk
    assert AuditEvent.objects.filter(action="draw.commit").count() == 1


def test_selectors_find_the_group_from_any_of_its_panels_and_list_the_draw_on_each_case():
    _committee, cases, clerk, _experts = sitting(n_cases=3)
    panels = group(list(reversed(cases)), clerk)
    draw = Draw.objects.get()
    assert selectors.group_of(panels[1]) == panels
    assert selectors.group_of(panels[0]) == panels
    assert selectors.initial_draw(panels[2]) == draw
    assert list(selectors.draws_of_case(cases[0])) == [draw]


def test_a_one_case_group_is_an_ordinary_draw():
    _committee, cases, clerk, _experts = sitting(n_cases=1)
    [panel] = services.panel_draw_group([cases[0].pk, cases[0].pk], services.DrawRequest([2], sitting_date=DAY),
                                        actor=clerk)
    draw = panel.draws.get()
    assert "group" not in draw.spec
    assert selectors.group_of(panel) == [panel]
    assert panel.members.count() == 3
    assert services.draw_verify(draw.pk).ok


def test_an_expert_with_an_interest_in_another_worker_of_the_group_sits_on_none_of_its_panels():
    _committee, cases, clerk, experts = sitting(n_cases=3, n_experts=4)
    ConflictDeclaration.objects.create(expert=experts[0], worker=cases[2].worker, reason="表兄弟")
    panels = group(cases, clerk)
    spec = Draw.objects.get().spec
    assert spec["excluded"] == [{"id": experts[0].pk, "reason": "conflict", "case": cases[2].pk,
                                 "detail": f"case {cases[2].number}: 表兄弟"}]
    assert experts[0].pk in {c[0] for c in spec["candidates"]}  # recorded, and left out by the algorithm
    assert all(seated(p) == {e.pk for e in experts[1:]} for p in panels)
    recusal = AuditEvent.objects.get(action="draw.recusal")
    assert recusal.after["case_id"] == cases[2].pk
    assert recusal.object_id == str(panels[2].pk)


def test_each_expert_is_texted_once_for_the_whole_group(django_capture_on_commit_callbacks):
    _committee, cases, clerk, _experts = sitting(n_cases=3)
    with django_capture_on_commit_callbacks(execute=True):
        group(cases, clerk)
    texts = Notification.objects.filter(template__startswith="experts.")
    drawn = PanelMember.objects.filter(panel__case=cases[0]).values_list("expert__phone", flat=True)
    assert sorted(texts.values_list("recipient", flat=True)) == sorted(drawn)
    assert set(texts.values_list("template", flat=True)) == {"experts.drawn_group"}
    assert all(f"{cases[0].number}等3件" in t.text and t.case_id == cases[0].pk for t in texts)


def test_the_group_counts_as_one_panel_of_the_day():
    committee, cases, clerk, experts = sitting(n_cases=4, n_experts=4)
    DrawRules.objects.create(committee=committee, max_panels_per_day=2)
    panels = group(cases[:3], clerk)
    assert selectors.panels_per_day(committee, DAY) == dict.fromkeys(seated(panels[0]), 1)
    assert selectors.recent_draw_counts(committee, dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                                        dt.datetime(2100, 1, 1, tzinfo=dt.UTC)) == dict.fromkeys(seated(panels[0]), 1)
    later = services.panel_draw(cases[3].pk, services.DrawRequest([2], sitting_date=DAY), actor=clerk)
    spec = later.draws.get().spec
    assert spec["ineligible"] == []
    assert {c[0]: c[3] for c in spec["candidates"]} == {e.pk: int(e.pk in seated(panels[0])) for e in experts}


def test_a_second_opinion_cannot_be_drawn_as_a_group():
    _committee, cases, clerk, _experts = sitting(n_cases=2)
    with pytest.raises(ValidationFailed) as exc:
        group(cases, clerk, purpose=Panel.Purpose.SECOND_OPINION, reason="意见分歧")
    assert exc.value.code == "group_second_opinion"
    assert nothing_drawn()


def test_a_case_in_the_wrong_state_is_refused_and_named():
    _committee, cases, clerk, _experts = sitting(n_cases=3)
    cases[1].status = Status.ACCEPTED
    cases[1].save(update_fields=["status"])
    with pytest.raises(ValidationFailed) as exc:
        group(cases, clerk)
    assert exc.value.code == "draw_wrong_state"
    assert exc.value.message.startswith(f"Case {cases[1].number}: A panel can be drawn only after the preliminary")
    assert nothing_drawn()


def test_a_bad_case_in_the_group_saves_nothing():
    _committee, cases, clerk, _experts = sitting(n_cases=3)
    foreign = CaseFactory(status=Status.REVIEWED)
    with pytest.raises(NotFoundError) as exc:
        services.panel_draw_group([cases[0].pk, cases[1].pk, foreign.pk],
                                  services.DrawRequest([2], sitting_date=DAY), actor=clerk)
    assert exc.value.message == f"Case #{foreign.pk}: no such case, or it is not yours to see."
    assert nothing_drawn()
    services.panel_draw(cases[2].pk, services.DrawRequest([2], sitting_date=DAY), actor=clerk)
    before = AuditEvent.objects.count()
    with pytest.raises(ConflictError) as exc:
        group(cases, clerk)
    assert exc.value.code == "panel_exists"
    assert Panel.objects.count() == Draw.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_a_pool_that_cannot_cover_the_group_saves_nothing():
    _committee, cases, clerk, experts = sitting(n_cases=2, n_experts=3)
    ConflictDeclaration.objects.create(expert=experts[0], employer=cases[1].employer, reason="顾问")
    with pytest.raises(ValidationFailed) as exc:
        group(cases, clerk)
    assert exc.value.message == "Only 2 eligible experts remain after recusal; the panel needs 3."
    assert nothing_drawn()


def test_a_user_without_the_permission_cannot_draw_a_group():
    _committee, cases, clerk, _experts = sitting(n_cases=2)
    reviewer = UserFactory(committee=clerk.committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        group(cases, reviewer)
    with pytest.raises(ValidationFailed) as exc:
        services.panel_draw_group([], services.DrawRequest([2]), actor=clerk)
    assert exc.value.code == "group_no_case"


# ANSWERS ----------------------------------------------------------------------------------------------

def test_confirming_one_seat_confirms_the_experts_seats_on_every_panel_of_the_room():
    _committee, cases, clerk, _experts = sitting(n_cases=3)
    panels = group(cases, clerk)
    member = panels[1].members.order_by("id").first()
    services.member_confirm(member.pk, actor=member.expert.user)
    mine = PanelMember.objects.filter(expert=member.expert)
    assert set(mine.values_list("status", flat=True)) == {PanelMember.Status.CONFIRMED}
    assert mine.count() == 3
    assert PanelMember.objects.exclude(expert=member.expert).filter(status="confirmed").count() == 0
    assert AuditEvent.objects.filter(action="draw.confirm").count() == 3
    with pytest.raises(ConflictError):
        services.member_confirm(mine.get(panel=panels[0]).pk, actor=member.expert.user)
    for m in panels[0].members.exclude(expert=member.expert):
        services.member_confirm(m.pk, actor=m.expert.user)
    assert all(selectors.panel_is_confirmed(p) for p in panels)


def test_a_decline_leaves_every_panel_and_one_replacement_draw_fills_the_seat_on_each():
    _committee, cases, clerk, experts = sitting(n_cases=3, n_experts=4)
    panels = group(cases, clerk)
    member = panels[2].members.order_by("id").first()
    spare = next(e for e in experts if e.pk not in seated(panels[0]))
    result = services.member_decline(member.pk, "手术排班冲突", actor=member.expert.user)
    assert len(result.declined) == 3
    assert set(PanelMember.objects.filter(expert=member.expert).values_list("status", flat=True)) == {"declined"}
    assert [r.panel_id for r in result.replacements] == [p.pk for p in panels]
    assert result.replacement.panel_id == panels[2].pk
    replacement = Draw.objects.get(kind=Draw.Kind.REPLACEMENT)
    assert replacement.panel_id == panels[0].pk
    assert replacement.spec["group"] == [c.pk for c in cases]
    assert {r.expert_id for r in result.replacements} == {spare.pk}
    assert set(PanelMember.objects.filter(expert=spare).values_list("draw_id", flat=True)) == {replacement.pk}
    for panel, case in zip(panels, cases, strict=True):
        assert len(seated(panel)) == 3 and spare.pk in seated(panel)
        assert not CaseAssignment.objects.get(case=case, user=member.expert.user).active
        assert CaseAssignment.objects.get(case=case, user=spare.user).active
        assert TimelineEntry.objects.filter(case=case, action="panel_replace").count() == 1
    assert services.draw_verify(replacement.pk).ok


def test_a_group_decline_without_a_replacement_leaves_every_panel_of_the_room_short():
    _committee, cases, clerk, _experts = sitting(n_cases=2, n_experts=3)
    panels = group(cases, clerk)
    member = panels[0].members.first()
    result = services.member_decline(member.pk, "出差", actor=clerk)
    assert result.replacement is None
    assert len(result.declined) == 2
    assert all(selectors.panel_is_short(p) for p in panels)
    assert AuditEvent.objects.get(action="draw.replacement_failed").after["case_ids"] == [c.pk for c in cases]


# VERIFICATION -------------------------------------------------------------------------------------------

def test_a_group_draw_verifies_and_a_tampered_spec_does_not():
    _committee, cases, clerk, experts = sitting(n_cases=3, n_experts=5)
    ConflictDeclaration.objects.create(expert=experts[0], worker=cases[1].worker, reason="邻居")
    group(cases, clerk)
    draw = Draw.objects.get()
    assert services.draw_verify(draw.pk).problems == []
    spec = draw.spec
    spec["excluded"] = []  # the other worker's recusal dropped, and the hash recomputed to match
    Draw.objects.filter(pk=draw.pk).update(spec=spec, record_hash=algo.record_hash(spec))
    assert "The draw record does not match the commitment in the audit trail." in \
        services.draw_verify(draw.pk).problems


def test_verify_detects_a_group_panel_whose_members_were_changed():
    _committee, cases, clerk, experts = sitting(n_cases=3, n_experts=5)
    panels = group(cases, clerk)
    outsider = next(e for e in experts if e.pk not in seated(panels[0]))
    PanelMember.objects.filter(pk=panels[2].members.first().pk).update(expert=outsider)
    assert services.draw_verify(Draw.objects.get().pk).problems == [
        "The panel members recorded for this draw are not the ones it drew."]


def test_the_case_page_of_another_case_of_the_group_links_the_group_draw_record(client):
    _committee, cases, clerk, experts = sitting(n_cases=2, n_experts=4)
    ConflictDeclaration.objects.create(expert=experts[0], worker=cases[1].worker, reason="邻居")
    group(cases, clerk)
    draw = Draw.objects.get()
    client.force_login(clerk)
    page = client.get(reverse("experts:case_draw", args=[cases[1].pk])).content.decode()
    assert reverse("experts:draw_record", args=[draw.pk]) in page
    record = client.get(reverse("experts:draw_record", args=[draw.pk])).content.decode()
    assert f"{cases[1].number}: 邻居" in record


# CONCURRENCY ----------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_clerks_drawing_overlapping_groups_at_once_one_wins():
    _committee, cases, clerk, _experts = sitting(n_cases=3, n_experts=8)
    clerks = [clerk, UserFactory(committee=clerk.committee, roles=["clerk"])]
    groups = [[cases[0], cases[1]], [cases[2], cases[1], cases[0]]]  # locked in opposite orders if unsorted
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def go(i: int) -> None:
        try:
            barrier.wait()
            group(groups[i], clerks[i])
            outcomes[i] = "won"
        except ApplicationError as exc:
            outcomes[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes, key=str) == ["panel_exists", "won"]
    winner = groups[outcomes.index("won")]
    assert Draw.objects.count() == 1
    assert sorted(Panel.objects.values_list("case_id", flat=True)) == sorted(c.pk for c in winner)


# BUSY ELSEWHERE -------------------------------------------------------------------------------------

def test_an_expert_busy_in_another_room_is_never_drawn():
    _committee, cases, clerk, experts = sitting(n_cases=2, n_experts=5)
    busy = {e.pk: "sits in another room of this sitting" for e in experts[:2]}
    panels = group(cases, clerk, busy=busy)
    assert seated(panels[0]) == {e.pk for e in experts[2:]}


def test_the_busy_experts_are_recorded_as_excluded_and_the_draw_verifies():
    _committee, cases, clerk, experts = sitting(n_cases=2, n_experts=5)
    group(cases, clerk, busy={experts[0].pk: "sits in another room of this sitting"})
    draw = Draw.objects.get()
    assert {"id": experts[0].pk, "reason": "busy", "detail": "sits in another room of this sitting"} in (
        draw.spec["excluded"])
    assert services.draw_verify(draw.pk).ok


def test_too_many_busy_experts_make_the_draw_impossible_and_save_nothing():
    _committee, cases, clerk, experts = sitting(n_cases=2, n_experts=4)
    with pytest.raises(ValidationFailed):
        group(cases, clerk, busy={e.pk: "busy" for e in experts[:2]})
    assert nothing_drawn()


def test_the_busy_experts_are_audited_in_one_entry_not_one_each():
    _committee, cases, clerk, experts = sitting(n_cases=2, n_experts=6)
    group(cases, clerk, busy={e.pk: "sits in another room of this sitting" for e in experts[:2]})
    busy = AuditEvent.objects.get(action="draw.busy")
    assert sorted(busy.after["expert_ids"]) == sorted(e.pk for e in experts[:2])
    assert not AuditEvent.objects.filter(action="draw.recusal", after__reason="busy").exists()
