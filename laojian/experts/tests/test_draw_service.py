"""The draw for a case: eligibility, each recusal rule, coverage, hospitals, bad input, replacement,
verification, concurrency, and the workflow guards."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from laojian.cases import services as case_services
from laojian.cases.models import CaseAssignment, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ApplicationError, ConflictError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.experts import services
from laojian.experts.models import (
    ConflictDeclaration,
    Draw,
    Expert,
    Panel,
    PanelMember,
    UnavailablePeriod,
)
from laojian.experts.tests.factories import ExpertFactory, HospitalFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 7)


def world(n_experts: int = 6, status: str = Status.REVIEWED, **case_kwargs):
    """A reviewed case, a clerk, and n orthopaedists, each in their own hospital."""
    case = CaseFactory(status=status, number="测劳鉴〔2026〕0001号", **case_kwargs)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    experts = [ExpertFactory(committee=case.committee, specialties=[ortho]) for _ in range(n_experts)]
    return case, clerk, experts


def draw(case, clerk, categories=(2,), **kwargs):
    return services.panel_draw(case.pk, services.DrawRequest(list(categories), sitting_date=DAY, **kwargs),
                               actor=clerk)


def drawn_ids(panel) -> set[int]:
    return set(panel.members.values_list("expert_id", flat=True))


def exclusion_reasons(panel) -> dict[int, str]:
    spec = panel.draws.get(kind=Draw.Kind.INITIAL).spec
    return {e["id"]: e["reason"] for e in spec["excluded"]}


# THE DRAW ------------------------------------------------------------------------------------------

def test_a_draw_seats_three_experts_as_case_assignments():
    case, clerk, experts = world()
    panel = draw(case, clerk)
    assert panel.size == 3
    assert len(drawn_ids(panel)) == 3
    users = set(CaseAssignment.objects.filter(case=case, role="expert", active=True).values_list("user_id", flat=True))
    assert users == {e.user_id for e in Expert.objects.filter(pk__in=drawn_ids(panel))}


def test_the_draw_records_seed_hash_seed_and_result_and_audits_commit_before_reveal():
    case, clerk, _experts = world()
    panel = draw(case, clerk)
    d = panel.draws.get()
    assert len(d.seed_hash) == 64 and len(d.seed) == 64
    assert [p["expert"] for p in d.result] == list(panel.members.order_by("id").values_list("expert_id", flat=True))
    actions = list(AuditEvent.objects.filter(object_type="experts.draw", object_id=str(d.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["draw.commit", "draw.reveal"]
    commit = AuditEvent.objects.get(action="draw.commit", object_id=str(d.pk))
    assert commit.after["seed_hash"] == d.seed_hash
    assert "seed" not in commit.after


def test_a_complex_case_gets_five():
    case, clerk, _experts = world(n_experts=7)
    assert draw(case, clerk, complex=True).size == 5


def test_injuries_in_two_categories_get_five_covering_both():
    case, clerk, _experts = world(n_experts=6)
    neuro = SpecialtyFactory(code="neuro", name="神经外科", category=1)
    neurologist = ExpertFactory(committee=case.committee, specialties=[neuro])
    panel = draw(case, clerk, categories=(1, 2))
    assert panel.size == 5
    assert neurologist.pk in drawn_ids(panel)


def test_asking_for_four_experts_is_refused_and_saves_nothing():
    case, clerk, _experts = world()
    with pytest.raises(ValidationFailed) as exc:
        draw(case, clerk, size=4)
    assert exc.value.code == "invalid_panel_size"
    assert exc.value.message == "A panel has 3 or 5 experts, not 4."
    assert Panel.objects.count() == Draw.objects.count() == 0


def test_a_pool_that_cannot_cover_a_specialty_is_refused_and_saves_nothing():
    case, clerk, _experts = world()
    SpecialtyFactory(code="eye", name="眼科", category=3)
    with pytest.raises(ValidationFailed) as exc:
        draw(case, clerk, categories=(2, 3), complex=True)
    assert exc.value.code == "draw_uncovered"
    assert "eye" in exc.value.message
    assert Panel.objects.count() == Draw.objects.count() == 0


def test_every_candidate_recused_is_refused():
    case, clerk, experts = world(n_experts=3)
    for e in experts:
        services.manual_exclusion_add(case.pk, e.pk, "近亲属", actor=clerk)
    with pytest.raises(ValidationFailed) as exc:
        draw(case, clerk)
    assert exc.value.code == "draw_no_candidates"
    assert Panel.objects.count() == 0


def test_too_few_candidates_names_how_many_remain():
    case, clerk, _experts = world(n_experts=2)
    with pytest.raises(ValidationFailed) as exc:
        draw(case, clerk)
    assert exc.value.message == "Only 2 eligible experts remain after recusal; the panel needs 3."


def test_a_case_before_preliminary_review_cannot_be_drawn():
    case, clerk, _experts = world(status=Status.ACCEPTED)
    with pytest.raises(ValidationFailed) as exc:
        draw(case, clerk)
    assert exc.value.code == "draw_wrong_state"


def test_a_reviewer_cannot_draw():
    case, _clerk, _experts = world()
    reviewer = UserFactory(committee=case.committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        draw(case, reviewer)


def test_a_second_draw_for_the_same_case_is_a_conflict():
    case, clerk, _experts = world(n_experts=8)
    draw(case, clerk)
    with pytest.raises(ConflictError):
        draw(case, clerk)
    assert Panel.objects.filter(case=case).count() == 1


# ELIGIBILITY -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": Expert.Status.SUSPENDED}, "inactive"),
        ({"term_end": DAY - dt.timedelta(days=1)}, "out_of_term"),
        ({"user": None}, "no_account"),
    ],
)
def test_ineligible_experts_are_never_drawn_and_recorded_with_why(change, reason):
    case, clerk, experts = world(n_experts=4)
    Expert.objects.filter(pk=experts[0].pk).update(**change)
    panel = draw(case, clerk)
    assert drawn_ids(panel) == {e.pk for e in experts[1:]}
    assert panel.draws.get().spec["ineligible"] == [[experts[0].pk, reason]]


def test_an_expert_on_leave_that_day_is_not_drawn():
    case, clerk, experts = world(n_experts=4)
    UnavailablePeriod.objects.create(expert=experts[0], start=DAY, end=DAY + dt.timedelta(days=3), reason="休假")
    panel = draw(case, clerk)
    assert drawn_ids(panel) == {e.pk for e in experts[1:]}
    assert panel.draws.get().spec["ineligible"] == [[experts[0].pk, "unavailable"]]


def test_an_untrained_expert_is_not_drawn():
    case, clerk, experts = world(n_experts=3)
    ExpertFactory(committee=case.committee, specialties=[SpecialtyFactory()], trained=False)
    assert drawn_ids(draw(case, clerk)) == {e.pk for e in experts}


# RECUSAL ----------------------------------------------------------------------------------------------

def test_experts_of_a_treating_hospital_are_recused():
    case, clerk, experts = world(n_experts=4)
    services.treating_hospital_add(case.pk, experts[0].hospital_id, actor=clerk)
    panel = draw(case, clerk)
    assert experts[0].pk not in drawn_ids(panel)
    assert exclusion_reasons(panel) == {experts[0].pk: "treating_hospital"}


def test_an_expert_with_a_declared_conflict_with_the_worker_is_recused():
    case, clerk, experts = world(n_experts=4)
    ConflictDeclaration.objects.create(expert=experts[1], worker=case.worker, reason="表兄弟")
    panel = draw(case, clerk)
    assert exclusion_reasons(panel) == {experts[1].pk: "conflict"}
    assert experts[1].pk not in drawn_ids(panel)


def test_an_expert_with_a_declared_conflict_with_the_employer_is_recused():
    case, clerk, experts = world(n_experts=4)
    ConflictDeclaration.objects.create(expert=experts[2], employer=case.employer, reason="曾任该单位顾问")
    assert exclusion_reasons(draw(case, clerk)) == {experts[2].pk: "conflict"}


def test_an_expert_who_sat_on_the_workers_earlier_appraisal_is_recused():
    case, clerk, experts = world(n_experts=4)
    earlier = CaseFactory(committee=case.committee, worker=case.worker, determination=case.determination,
                          status=Status.DELIVERED, number="测劳鉴〔2025〕0009号")
    CaseAssignment.objects.create(case=earlier, user=experts[3].user, role="expert", active=False)
    panel = draw(case, clerk)
    assert exclusion_reasons(panel) == {experts[3].pk: "earlier_panel"}
    assert experts[3].pk not in drawn_ids(panel)


def test_a_manual_exclusion_is_recorded_with_its_reason():
    case, clerk, experts = world(n_experts=4)
    services.manual_exclusion_add(case.pk, experts[0].pk, "与申请人有纠纷", actor=clerk)
    panel = draw(case, clerk)
    spec = panel.draws.get().spec
    assert spec["excluded"] == [{"id": experts[0].pk, "reason": "manual", "detail": "与申请人有纠纷"}]
    assert AuditEvent.objects.filter(action="draw.recusal", after__expert_id=experts[0].pk).count() == 1


def test_a_manual_exclusion_needs_a_reason():
    case, clerk, experts = world()
    with pytest.raises(ValidationFailed):
        services.manual_exclusion_add(case.pk, experts[0].pk, "  ", actor=clerk)


# HOSPITALS AND WORKLOAD --------------------------------------------------------------------------------

def test_one_expert_per_hospital():
    case, clerk, _experts = world(n_experts=0)
    ortho = SpecialtyFactory()
    hospitals = [HospitalFactory(committee=case.committee) for _ in range(3)]
    for h in hospitals:
        for _ in range(3):
            ExpertFactory(committee=case.committee, hospital=h, specialties=[ortho])
    panel = draw(case, clerk)
    assert len(set(panel.members.values_list("expert__hospital_id", flat=True))) == 3
    assert panel.draws.get().warnings == []


def test_when_hospitals_are_too_few_the_draw_warns():
    case, clerk, _experts = world(n_experts=0)
    ortho = SpecialtyFactory()
    h = HospitalFactory(committee=case.committee)
    for _ in range(3):
        ExpertFactory(committee=case.committee, hospital=h, specialties=[ortho])
    warnings = draw(case, clerk).draws.get().warnings
    assert [w["code"] for w in warnings] == ["same_hospital", "same_hospital"]


def test_recent_draws_lower_the_recorded_weight():
    case, clerk, experts = world(n_experts=3)
    draw(case, clerk)
    other = CaseFactory(committee=case.committee, status=Status.REVIEWED, number="测劳鉴〔2026〕0002号")
    ExpertFactory(committee=case.committee, specialties=[SpecialtyFactory()])
    spec = draw(other, clerk).draws.get().spec
    weights = {c[0]: (c[3], c[4]) for c in spec["candidates"]}
    assert {weights[e.pk] for e in experts} == {(1, 500_000)}


# REPLACEMENT ------------------------------------------------------------------------------------------

def test_a_decline_draws_a_replacement_from_the_recorded_candidates():
    case, clerk, experts = world(n_experts=5)
    panel = draw(case, clerk)
    member = panel.members.order_by("id").first()
    result = services.member_decline(member.pk, "手术排班冲突", actor=member.expert.user)
    assert result.replacement is not None
    assert result.replacement.expert_id not in drawn_ids(panel) - {result.replacement.expert_id}
    assert panel.members.exclude(status=PanelMember.Status.DECLINED).count() == 3
    replacement_draw = result.replacement.draw
    assert replacement_draw.kind == Draw.Kind.REPLACEMENT
    assert replacement_draw.spec["candidates"] == panel.draws.get(kind="initial").spec["candidates"]
    assert replacement_draw.reason == "手术排班冲突"
    assert not CaseAssignment.objects.get(case=case, user=member.expert.user).active
    actions = set(AuditEvent.objects.filter(action__startswith="draw.").values_list("action", flat=True))
    assert {"draw.decline", "draw.commit", "draw.reveal"} <= actions


def test_a_decline_without_reason_is_refused():
    case, clerk, _experts = world()
    member = draw(case, clerk).members.first()
    with pytest.raises(ValidationFailed):
        services.member_decline(member.pk, "", actor=member.expert.user)


def test_when_no_replacement_remains_the_seat_stays_empty_and_scheduling_is_blocked():
    case, clerk, _experts = world(n_experts=3)
    panel = draw(case, clerk)
    member = panel.members.first()
    result = services.member_decline(member.pk, "出差", actor=member.expert.user)
    assert result.replacement is None
    assert result.failure == "Every candidate is recused or unavailable: no expert can be drawn for this case."
    assert AuditEvent.objects.filter(action="draw.replacement_failed").count() == 1
    with pytest.raises(ApplicationError) as exc:
        case_services.transition(case.pk, "schedule", actor=clerk)
    assert exc.value.code == "panel_short"


def test_another_expert_cannot_answer_for_a_member():
    case, clerk, experts = world()
    panel = draw(case, clerk)
    member = panel.members.first()
    stranger = ExpertFactory(committee=case.committee)
    with pytest.raises(ApplicationError) as exc:
        services.member_confirm(member.pk, actor=stranger.user)
    assert exc.value.code == "not_found"


def test_examination_waits_until_every_member_confirmed():
    case, clerk, _experts = world(n_experts=3)
    panel = draw(case, clerk)
    case_services.transition(case.pk, "schedule", actor=clerk)
    with pytest.raises(ApplicationError) as exc:
        case_services.transition(case.pk, "record_examination", actor=clerk)
    assert exc.value.code == "panel_not_confirmed"
    for member in panel.members.all():
        services.member_confirm(member.pk, actor=member.expert.user)
    assert case_services.transition(case.pk, "record_examination", actor=clerk).status == Status.EXAMINED


# VERIFICATION -------------------------------------------------------------------------------------------

def test_verify_re_runs_to_the_same_panel():
    case, clerk, _experts = world(n_experts=8)
    d = draw(case, clerk).draws.get()
    assert services.draw_verify(d.pk).problems == []


def test_verify_detects_a_tampered_candidate_list():
    case, clerk, experts = world(n_experts=8)
    d = draw(case, clerk).draws.get()
    spec = d.spec
    spec["candidates"] = [c for c in spec["candidates"] if c[0] != experts[0].pk]
    Draw.objects.filter(pk=d.pk).update(spec=spec)
    assert "The recorded candidates, exclusions or weights were changed after the draw." in \
        services.draw_verify(d.pk).problems


def test_verify_detects_a_tampered_record_even_with_its_hash_recomputed():
    from laojian.experts import draw as algo

    case, clerk, experts = world(n_experts=8)
    d = draw(case, clerk).draws.get()
    spec = d.spec
    spec["excluded"] = [{"id": experts[0].pk, "reason": "manual", "detail": ""}]
    Draw.objects.filter(pk=d.pk).update(spec=spec, record_hash=algo.record_hash(spec))
    assert "The draw record does not match the commitment in the audit trail." in \
        services.draw_verify(d.pk).problems


def test_verify_detects_a_changed_result():
    case, clerk, experts = world(n_experts=8)
    d = draw(case, clerk).draws.get()
    outsider = next(e.pk for e in experts if e.pk not in {p["expert"] for p in d.result})
    result = [{"expert": outsider, "slot": d.result[0]["slot"]}, *d.result[1:]]
    Draw.objects.filter(pk=d.pk).update(result=result)
    problems = services.draw_verify(d.pk).problems
    assert any(p.startswith("Re-running the draw gives a different panel") for p in problems)


def test_verify_detects_a_swapped_seed():
    case, clerk, _experts = world(n_experts=8)
    d = draw(case, clerk).draws.get()
    Draw.objects.filter(pk=d.pk).update(seed="00" * 32)
    assert "The seed does not match the committed seed hash." in services.draw_verify(d.pk).problems


def test_the_verify_command_reports_ok_and_fails_on_tampering(capsys):
    from django.core.management import CommandError, call_command

    case, clerk, _experts = world(n_experts=8)
    d = draw(case, clerk).draws.get()
    call_command("draw", "verify", str(d.pk))
    assert f"Draw {d.pk}: OK" in capsys.readouterr().out
    Draw.objects.filter(pk=d.pk).update(seed="00" * 32)
    with pytest.raises(CommandError):
        call_command("draw", "verify", str(d.pk))


# CONCURRENCY ----------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_clerks_drawing_the_same_case_at_once_make_one_panel():
    case, clerk, _experts = world(n_experts=8)
    clerks = [clerk, UserFactory(committee=case.committee, roles=["clerk"])]
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def go(i: int) -> None:
        try:
            barrier.wait()
            draw(case, clerks[i])
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
    assert Panel.objects.filter(case=case).count() == 1
    assert Draw.objects.count() == 1
