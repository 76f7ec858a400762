"""Opinions (start, save, sign, correct), the panel's agreement, the conclusion and the extension,
through the services and on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from laojian.cases import clocks
from laojian.cases import services as case_services
from laojian.cases.models import CaseAssignment, CaseType, Status, TimelineEntry
from laojian.cases.workflow import TransitionRefused
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.grading import selectors, services
from laojian.grading.models import Conclusion, Finding, GradingRules, Immutable, Item, Opinion
from laojian.grading.services import GradingRefused
from laojian.grading.tests.factories import (
    PASSWORD,
    clerk,
    leader,
    opinion_input,
    panel_case,
    signed_opinion,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def draft(case, expert, clauses=None, **overrides) -> Opinion:
    opinion = services.opinion_start(case.pk, actor=expert)
    return services.opinion_save(opinion.pk, opinion_input(clauses, **overrides), actor=expert)


def agreed_case(clauses=("5.10.2(12)", "5.10.2(12)"), **kwargs):
    """A case whose three experts signed the same opinion: the conclusion is drafted."""
    case, experts = panel_case(**kwargs)
    for expert in experts:
        signed_opinion(case, expert, list(clauses))
    return case, experts


def refresh(case):
    case.refresh_from_db()
    return case


# WHO WRITES AN OPINION, AND WHEN ------------------------------------------------------------------

def test_an_expert_not_on_the_panel_cannot_start_an_opinion():
    case, _experts = panel_case()
    outsider = UserFactory(committee=None, roles=["expert"])
    with pytest.raises(NotFoundError):
        services.opinion_start(case.pk, actor=outsider)
    assert not Opinion.objects.filter(case=case).exists()


def test_an_expert_taken_off_the_panel_cannot_start_an_opinion():
    case, experts = panel_case()
    CaseAssignment.objects.filter(case=case, user=experts[0]).update(active=False)
    with pytest.raises(NotFoundError):
        services.opinion_start(case.pk, actor=experts[0])
    assert not Opinion.objects.filter(case=case).exists()


def test_committee_staff_who_are_not_experts_cannot_write_an_opinion():
    case, _experts = panel_case()
    with pytest.raises(PermissionDeniedError):
        services.opinion_start(case.pk, actor=clerk(case))


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.CONCLUDED, Status.REVIEWED])
def test_opinions_are_written_only_while_the_case_is_examined_or_difficult(status):
    case, experts = panel_case(status=status)
    with pytest.raises(GradingRefused) as exc:
        services.opinion_start(case.pk, actor=experts[0])
    assert exc.value.code == "opinion_closed"


@pytest.mark.parametrize("status", [Status.EXAMINED, Status.DIFFICULT])
def test_an_opinion_starts_on_the_current_edition(status):
    case, experts = panel_case(status=status)
    opinion = services.opinion_start(case.pk, actor=experts[0])
    assert (opinion.version, opinion.state, opinion.edition) == (1, Opinion.State.DRAFT, selectors.current_edition())


def test_starting_again_returns_the_same_draft():
    case, experts = panel_case()
    first = services.opinion_start(case.pk, actor=experts[0])
    assert services.opinion_start(case.pk, actor=experts[0]).pk == first.pk


def test_another_expert_cannot_save_or_sign_your_draft():
    case, experts = panel_case()
    opinion = draft(case, experts[0])
    with pytest.raises(PermissionDeniedError):
        services.opinion_save(opinion.pk, opinion_input(["5.7.2(1)"]), actor=experts[1])
    with pytest.raises(PermissionDeniedError):
        services.opinion_sign(opinion.pk, actor=experts[1], password=PASSWORD)


# SAVING A DRAFT -----------------------------------------------------------------------------------

def test_a_saved_draft_takes_each_item_grade_from_its_clause():
    case, experts = panel_case()
    opinion = draft(case, experts[0], ["5.7.2(1)", "5.10.2(1)"], care_needs=["eating", "moving", "eating"])
    items = list(selectors.opinion_items(opinion))
    assert [(i.clause.number, i.grade) for i in items] == [("5.7.2(1)", 7), ("5.10.2(1)", 10)]
    assert (opinion.grade, opinion.computed_grade, opinion.care_level) == (7, 7, "partial")
    assert opinion.care_needs == ["eating", "moving"]


def test_an_unknown_clause_is_refused_and_the_stored_draft_is_unchanged():
    case, experts = panel_case()
    opinion = draft(case, experts[0], ["5.7.2(1)"])
    with pytest.raises(ValidationFailed, match=r"5\.7\.2\(99\)"):
        services.opinion_save(opinion.pk, opinion_input(["5.10.2(1)", "5.7.2(99)"], basis="改过"), actor=experts[0])
    opinion.refresh_from_db()
    assert (opinion.grade, opinion.basis) == (7, "依据查体及影像资料")
    assert list(opinion.items.values_list("clause__number", flat=True)) == ["5.7.2(1)"]


def test_a_grade_contradicting_the_clauses_is_refused():
    case, experts = panel_case()
    opinion = draft(case, experts[0], ["5.7.2(1)"])
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_save(opinion.pk, opinion_input(["5.10.2(12)", "5.10.2(12)"], grade=8), actor=experts[0])
    assert exc.value.code == "grade_contradicts"
    opinion.refresh_from_db()
    assert opinion.grade == 7


def test_the_panel_may_keep_the_unraised_grade_when_promotion_is_possible():
    case, experts = panel_case()
    opinion = draft(case, experts[0], ["5.10.2(12)", "5.10.2(12)"], grade=10)
    assert (opinion.grade, opinion.computed_grade) == (10, 9)
    other = draft(case, experts[1], ["5.10.2(12)", "5.10.2(12)"], no_promotion=True)
    assert (other.grade, other.computed_grade) == (10, 9)


def test_the_panel_may_raise_for_tied_lower_grades_but_no_further():
    case, experts = panel_case()
    # 5.8.2(1) is grade 8, 5.9.2(1) and 5.9.2(2) grade 9: advisory, 7 allowed, 6 not.
    assert draft(case, experts[0], ["5.8.2(1)", "5.9.2(1)", "5.9.2(2)"], grade=7).grade == 7
    with pytest.raises(ValidationFailed):
        draft(case, experts[1], ["5.8.2(1)", "5.9.2(1)", "5.9.2(2)"], grade=6)


def test_an_unknown_activity_or_icd10_code_is_refused():
    case, experts = panel_case()
    opinion = services.opinion_start(case.pk, actor=experts[0])
    with pytest.raises(ValidationFailed):
        services.opinion_save(opinion.pk, opinion_input(care_needs=["cooking"]), actor=experts[0])
    with pytest.raises(ValidationFailed, match="XYZ"):
        services.opinion_save(opinion.pk, opinion_input(diagnoses=["XYZ"]), actor=experts[0])


def test_months_on_a_graded_case_are_refused():
    case, experts = panel_case(case_type=CaseType.INITIAL)
    opinion = services.opinion_start(case.pk, actor=experts[0])
    with pytest.raises(ValidationFailed, match="Months"):
        services.opinion_save(opinion.pk, opinion_input(months=3), actor=experts[0])


# SIGNING ------------------------------------------------------------------------------------------

def test_signing_records_the_signature_and_the_audit_event():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    stored = Opinion.objects.get(pk=opinion.pk)
    assert stored.state == Opinion.State.SIGNED and stored.signed_at is not None
    assert services.signature_of(stored) == stored.signature
    event = AuditEvent.objects.get(action="opinion.sign", object_id=str(opinion.pk))
    assert (event.actor, event.after["signature"], event.after["grade"]) == (experts[0], stored.signature, 10)
    assert TimelineEntry.objects.filter(case=case, action="opinion_signed", actor=experts[0]).exists()


def test_a_wrong_password_signs_nothing():
    case, experts = panel_case()
    opinion = draft(case, experts[0])
    with pytest.raises(GradingRefused) as exc:
        services.opinion_sign(opinion.pk, actor=experts[0], password="wrong")
    assert exc.value.code == "bad_password"
    opinion.refresh_from_db()
    assert (opinion.state, opinion.signature, opinion.signed_at) == (Opinion.State.DRAFT, "", None)
    assert not AuditEvent.objects.filter(action="opinion.sign").exists()


def test_an_opinion_without_a_basis_cannot_be_signed():
    case, experts = panel_case()
    opinion = draft(case, experts[0], basis="")
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_sign(opinion.pk, actor=experts[0], password=PASSWORD)
    assert exc.value.code == "basis_missing"


def test_signing_twice_is_refused():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    with pytest.raises(GradingRefused) as exc:
        services.opinion_sign(opinion.pk, actor=experts[0], password=PASSWORD)
    assert exc.value.code == "signed"
    assert AuditEvent.objects.filter(action="opinion.sign").count() == 1


def test_a_signed_opinion_cannot_be_saved_again():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    with pytest.raises(GradingRefused):
        services.opinion_save(opinion.pk, opinion_input(["5.7.2(1)"]), actor=experts[0])
    with pytest.raises(GradingRefused) as exc:
        services.opinion_start(case.pk, actor=experts[0])
    assert exc.value.code == "already_signed"


# A SIGNED OPINION NEVER CHANGES (model and database) ----------------------------------------------

def test_the_model_refuses_to_change_or_delete_a_signed_opinion():
    case, experts = panel_case()
    opinion = Opinion.objects.get(pk=signed_opinion(case, experts[0]).pk)
    opinion.grade = 1
    with pytest.raises(Immutable):
        opinion.save()
    with pytest.raises(Immutable):
        opinion.delete()
    assert Opinion.objects.get(pk=opinion.pk).grade == 10


def test_the_model_refuses_to_change_the_items_and_findings_of_a_signed_opinion():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    item = Item.objects.filter(opinion=opinion).first()
    item.grade = 1
    with pytest.raises(Immutable):
        item.save()
    with pytest.raises(Immutable):
        item.delete()
    finding = Finding.objects.get(opinion=opinion)
    finding.text = "改"
    with pytest.raises(Immutable):
        finding.save()


def test_the_database_refuses_a_bulk_update_of_a_signed_opinion():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        Opinion.objects.filter(pk=opinion.pk).update(grade=1)
    assert Opinion.objects.get(pk=opinion.pk).grade == 10


def test_the_database_refuses_a_bulk_update_of_the_items_and_findings_of_a_signed_opinion():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.filter(opinion=opinion).update(grade=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(opinion=opinion).update(text="改")
    assert set(Item.objects.filter(opinion=opinion).values_list("grade", flat=True)) == {10}


def test_the_database_lets_a_draft_change():
    case, experts = panel_case()
    opinion = draft(case, experts[0])
    assert Opinion.objects.filter(pk=opinion.pk).update(basis="草稿可改") == 1
    assert Item.objects.filter(opinion=opinion).update(injury="草稿可改") == 1


# CORRECTION ---------------------------------------------------------------------------------------

def test_a_correction_is_version_2_listing_what_changed_and_its_signature_verifies():
    case, experts = panel_case()
    old = signed_opinion(case, experts[0])
    new = services.opinion_correct(old.pk, actor=experts[0])
    assert (new.version, new.supersedes_id, new.state) == (2, old.pk, Opinion.State.DRAFT)
    services.opinion_save(new.pk, opinion_input(["5.7.2(1)"], basis="复核后更正"), actor=experts[0])
    services.opinion_sign(new.pk, actor=experts[0], password=PASSWORD)
    stored = Opinion.objects.get(pk=new.pk)
    changed = {c["field"]: (c["before"], c["after"]) for c in stored.changes}
    assert set(changed) == {"items", "grade", "basis"}
    assert changed["grade"] == (10, 7)
    assert changed["basis"] == ("依据查体及影像资料", "复核后更正")
    assert services.signature_of(stored) == stored.signature
    assert Opinion.objects.get(pk=old.pk).signature == old.signature
    assert [o.version for o in selectors.opinion_history(stored)] == [2, 1]


def test_only_the_latest_signed_version_can_be_corrected():
    case, experts = panel_case()
    old = signed_opinion(case, experts[0])
    services.opinion_correct(old.pk, actor=experts[0])
    with pytest.raises(GradingRefused) as exc:
        services.opinion_correct(old.pk, actor=experts[0])
    assert exc.value.code == "not_latest"


def test_a_draft_cannot_be_corrected_and_others_cannot_correct_yours():
    case, experts = panel_case()
    opinion = draft(case, experts[0])
    with pytest.raises(GradingRefused):
        services.opinion_correct(opinion.pk, actor=experts[0])
    signed = signed_opinion(case, experts[1])
    with pytest.raises(PermissionDeniedError):
        services.opinion_correct(signed.pk, actor=experts[0])


def test_correcting_withdraws_the_drafted_conclusion_and_signing_drafts_it_again():
    case, experts = agreed_case()
    assert Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT).exists()
    old = Opinion.objects.get(case=case, author=experts[0])
    new = services.opinion_correct(old.pk, actor=experts[0])
    assert not Conclusion.objects.filter(case=case).exists()
    services.opinion_save(new.pk, opinion_input(["5.10.2(12)", "5.10.2(12)"], basis="补充依据"), actor=experts[0])
    services.opinion_sign(new.pk, actor=experts[0], password=PASSWORD)
    conclusion = Conclusion.objects.get(case=case)
    assert new.pk in set(conclusion.opinions.values_list("pk", flat=True))
    assert old.pk not in set(conclusion.opinions.values_list("pk", flat=True))


# THE PANEL'S RESULT -------------------------------------------------------------------------------

def test_no_conclusion_is_drafted_while_signatures_are_outstanding():
    case, experts = panel_case()
    signed_opinion(case, experts[0])
    signed_opinion(case, experts[1])
    draft(case, experts[2])
    assert not Conclusion.objects.filter(case=case).exists()
    assert refresh(case).status == Status.EXAMINED


def test_when_the_three_experts_agree_a_conclusion_is_drafted_with_the_grade_and_clauses():
    case, experts = agreed_case(["5.10.2(12)", "5.10.2(12)"])
    conclusion = Conclusion.objects.get(case=case)
    assert (conclusion.state, conclusion.source, conclusion.grade) == (Conclusion.State.DRAFT, "panel", 9)
    assert conclusion.clauses == ["5.10.2(12)"]
    assert conclusion.edition == selectors.current_edition()
    assert set(conclusion.opinions.values_list("author_id", flat=True)) == {e.pk for e in experts}
    assert conclusion.number is None
    assert refresh(case).status == Status.EXAMINED
    assert TimelineEntry.objects.filter(case=case, action="conclusion_drafted").exists()


def test_diverging_opinions_send_the_case_to_difficult_by_the_system_actor_with_the_reasons():
    case, experts = panel_case()
    signed_opinion(case, experts[0], ["5.7.2(1)"])
    signed_opinion(case, experts[1], ["5.7.2(1)"])
    signed_opinion(case, experts[2], ["5.8.2(1)"])
    assert refresh(case).status == Status.DIFFICULT
    entry = TimelineEntry.objects.get(case=case, action="mark_difficult")
    assert entry.actor == case_services.system_actor(case.committee)
    assert entry.actor.username == f"system-{case.committee.code}"
    assert "7级、7级、8级" in entry.note
    assert entry.data == {"reason": "divergence"}
    assert not Conclusion.objects.filter(case=case).exists()


def test_a_committee_tolerance_of_one_grade_drafts_the_majority_grade():
    case, experts = panel_case()
    GradingRules.objects.create(committee=case.committee, grade_tolerance=1)
    signed_opinion(case, experts[0], ["5.7.2(1)"])
    signed_opinion(case, experts[1], ["5.8.2(1)"])
    signed_opinion(case, experts[2], ["5.7.2(1)"])
    conclusion = Conclusion.objects.get(case=case)
    assert (conclusion.grade, conclusion.clauses) == (7, ["5.7.2(1)"])
    assert any("most experts gave" in r for r in conclusion.reasons)


def test_different_care_levels_send_the_case_to_difficult():
    case, experts = panel_case()
    signed_opinion(case, experts[0], care_needs=["eating"])
    signed_opinion(case, experts[1], care_needs=["eating"])
    signed_opinion(case, experts[2], care_needs=["eating", "moving", "turning"])
    assert refresh(case).status == Status.DIFFICULT


def test_a_case_already_difficult_records_the_divergence_on_its_timeline():
    case, experts = panel_case(status=Status.DIFFICULT)
    signed_opinion(case, experts[0], ["5.7.2(1)"])
    signed_opinion(case, experts[1], ["5.7.2(1)"])
    signed_opinion(case, experts[2], ["5.9.2(1)"])
    assert refresh(case).status == Status.DIFFICULT
    assert TimelineEntry.objects.filter(case=case, action="opinions_diverge").exists()
    assert not Conclusion.objects.filter(case=case).exists()


# THE CONCLUSION -----------------------------------------------------------------------------------

def test_the_leader_approves_the_case_concludes_and_the_conclusion_is_numbered():
    case, _experts = agreed_case()
    boss = leader(case)
    conclusion = services.conclusion_approve(case.pk, actor=boss)
    case = refresh(case)
    assert case.status == Status.CONCLUDED
    assert case.concluded_on == clocks.today()
    conclusion = Conclusion.objects.get(pk=conclusion.pk)
    assert (conclusion.state, conclusion.approved_by, conclusion.grade) == (Conclusion.State.APPROVED, boss, 9)
    year = clocks.today().year
    assert conclusion.number == f"{case.committee.case_number_prefix}结〔{year}〕0001号"
    assert conclusion.edition.code == "GB/T 16180-2014"
    event = AuditEvent.objects.get(action="conclusion.approve", object_id=str(conclusion.pk))
    assert (event.actor, event.after["number"], event.after["edition"]) == (boss, conclusion.number,
                                                                            "GB/T 16180-2014")
    assert event.after["clauses"] == ["5.10.2(12)"]


def test_conclusion_numbers_follow_each_other_within_the_committee():
    first, _ = agreed_case()
    second, _ = agreed_case(committee=first.committee)
    boss = leader(first)
    a = services.conclusion_approve(first.pk, actor=boss)
    b = services.conclusion_approve(second.pk, actor=boss)
    assert (a.number[-5:], b.number[-5:]) == ("0001号", "0002号")


def test_an_approved_conclusion_cannot_be_approved_again_or_changed():
    case, _experts = agreed_case()
    boss = leader(case)
    services.conclusion_approve(case.pk, actor=boss)
    with pytest.raises(GradingRefused) as exc:
        services.conclusion_approve(case.pk, actor=leader(case))
    assert exc.value.code == "already_approved"
    stored = Conclusion.objects.get(case=case)
    stored.grade = 1
    with pytest.raises(Immutable):
        stored.save()


def test_approving_without_a_drafted_conclusion_is_refused():
    case, experts = panel_case()
    signed_opinion(case, experts[0])
    with pytest.raises(GradingRefused) as exc:
        services.conclusion_approve(case.pk, actor=leader(case))
    assert exc.value.code == "no_conclusion"
    assert refresh(case).status == Status.EXAMINED


def test_an_expert_cannot_approve_the_conclusion():
    case, experts = agreed_case()
    with pytest.raises(PermissionDeniedError):
        services.conclusion_approve(case.pk, actor=experts[0])
    assert Conclusion.objects.get(case=case).state == Conclusion.State.DRAFT


def test_a_leader_who_wrote_an_opinion_cannot_approve_even_after_leaving_the_panel():
    case, experts = panel_case(experts=2)
    chair = UserFactory(committee=case.committee, roles=["leader", "expert"])
    CaseAssignment.objects.create(case=case, user=chair, role=CaseAssignment.Role.EXPERT, active=True)
    for expert in [*experts, chair]:
        signed_opinion(case, expert)
    with pytest.raises(TransitionRefused) as exc:
        services.conclusion_approve(case.pk, actor=chair)
    assert exc.value.code == "panel_member_conclude"
    CaseAssignment.objects.filter(case=case, user=chair).update(active=False)
    with pytest.raises(TransitionRefused) as exc:
        services.conclusion_approve(case.pk, actor=chair)
    assert exc.value.code == "approver_wrote_opinion"
    assert refresh(case).status == Status.EXAMINED
    assert Conclusion.objects.get(case=case).state == Conclusion.State.DRAFT


def test_the_generic_conclude_step_is_refused_without_the_grading_service():
    case, _experts = agreed_case()
    with pytest.raises(TransitionRefused) as exc:
        case_services.transition(case.pk, "conclude", actor=leader(case))
    assert exc.value.code == "conclusion_not_drafted"
    assert refresh(case).status == Status.EXAMINED


def test_the_generic_conclude_step_is_refused_even_when_it_names_the_drafted_conclusion():
    case, _experts = agreed_case()
    conclusion = Conclusion.objects.get(case=case)
    with pytest.raises(TransitionRefused) as exc:
        case_services.transition(case.pk, "conclude", actor=leader(case), data={"conclusion_id": conclusion.pk})
    assert exc.value.code == "conclusion_not_drafted"
    assert refresh(case).status == Status.EXAMINED
    assert services.conclusion_approve(case.pk, actor=leader(case)).number


def test_opinions_cannot_be_corrected_once_the_conclusion_is_approved():
    case, experts = agreed_case()
    services.conclusion_approve(case.pk, actor=leader(case))
    with pytest.raises(GradingRefused):
        services.opinion_correct(Opinion.objects.filter(case=case, author=experts[0]).get().pk, actor=experts[0])


# PERIOD CASES -------------------------------------------------------------------------------------

def period_input(months, **overrides):
    return opinion_input([], months=months, diagnoses=["S02.0"], **overrides)  # skull vault: 3 months


def test_months_beyond_the_statutory_maximum_are_refused():
    case, experts = panel_case(case_type=CaseType.LEAVE_CONFIRMATION)
    opinion = services.opinion_start(case.pk, actor=experts[0])
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_save(opinion.pk, period_input(13), actor=experts[0])
    assert exc.value.code == "period_beyond_maximum"
    assert Opinion.objects.get(pk=opinion.pk).months is None


def test_an_extension_beyond_24_months_in_all_is_refused():
    case, experts = panel_case(case_type=CaseType.LEAVE_EXTENSION)
    opinion = services.opinion_start(case.pk, actor=experts[0])
    with pytest.raises(ValidationFailed, match="24 months in all"):
        services.opinion_save(opinion.pk, period_input(6, prior_months=20), actor=experts[0])


def test_months_beyond_the_catalogue_need_reasons_before_signing():
    case, experts = panel_case(case_type=CaseType.LEAVE_CONFIRMATION)
    opinion = services.opinion_start(case.pk, actor=experts[0])
    services.opinion_save(opinion.pk, period_input(5), actor=experts[0])
    assert len(Opinion.objects.get(pk=opinion.pk).period_warnings) == 1
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_sign(opinion.pk, actor=experts[0], password=PASSWORD)
    assert exc.value.code == "period_reason_missing"
    services.opinion_save(opinion.pk, period_input(5, period_reasons="合并感染，愈合延迟"), actor=experts[0])
    signed = services.opinion_sign(opinion.pk, actor=experts[0], password=PASSWORD)
    assert (signed.state, signed.months, signed.grade) == (Opinion.State.SIGNED, 5, None)


def test_a_period_opinion_needs_months_to_be_signed():
    case, experts = panel_case(case_type=CaseType.REHAB_CONFIRMATION)
    opinion = draft(case, experts[0], [])
    with pytest.raises(ValidationFailed) as exc:
        services.opinion_sign(opinion.pk, actor=experts[0], password=PASSWORD)
    assert exc.value.code == "months_missing"


def test_an_agreeing_period_panel_drafts_a_conclusion_with_the_months_and_no_grade():
    case, experts = panel_case(case_type=CaseType.LEAVE_CONFIRMATION)
    for expert in experts:
        signed_opinion(case, expert, [], months=3, diagnoses=["S02.0"])
    conclusion = Conclusion.objects.get(case=case)
    assert (conclusion.months, conclusion.grade) == (3, None)
    services.conclusion_approve(case.pk, actor=leader(case))
    assert refresh(case).status == Status.CONCLUDED


# THE EXTENSION ------------------------------------------------------------------------------------

def test_an_extension_request_then_the_leader_approval_extends_the_case_once():
    case, experts = panel_case()
    services.extension_request(case.pk, actor=experts[0], reason="需补充CT检查")
    request = selectors.extension_request_of(case)
    assert (request.actor, request.note) == (experts[0], "需补充CT检查")
    assert AuditEvent.objects.filter(action="case.extension_request", object_id=str(case.pk)).exists()
    case_services.transition(case.pk, "approve_extension", actor=leader(case), note="需补充CT检查")
    case = refresh(case)
    assert case.extension_days == case.committee.extension_days == 30
    assert selectors.extension_request_of(case) is None
    with pytest.raises(GradingRefused) as exc:
        services.extension_request(case.pk, actor=experts[0], reason="再延一次")
    assert exc.value.code == "extension_already_granted"


def test_an_extension_request_needs_a_reason():
    case, experts = panel_case()
    with pytest.raises(ValidationFailed):
        services.extension_request(case.pk, actor=experts[0], reason="  ")
    assert selectors.extension_request_of(case) is None


def test_an_extension_cannot_be_asked_for_after_the_conclusion():
    case, experts = panel_case(status=Status.CONCLUDED)
    with pytest.raises(GradingRefused):
        services.extension_request(case.pk, actor=experts[0], reason="太晚了")
