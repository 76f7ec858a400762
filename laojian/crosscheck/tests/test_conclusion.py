"""The conclusion block: a case with unresolved flags cannot be concluded, unless a leader recorded
an override with a written reason; the approval uses it once and the audit trail says so."""

from __future__ import annotations

import pytest

from laojian.cases.models import Status
from laojian.cases.workflow import TransitionRefused
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.crosscheck import services
from laojian.crosscheck.listeners import conclusion_blocked_by_open_flags
from laojian.crosscheck.models import Flag, Override
from laojian.crosscheck.services import CrosscheckRefused
from laojian.crosscheck.tests.factories import HOSPITAL_A, ClaimedCareFactory, staff
from laojian.grading import services as grading_services
from laojian.grading.models import Conclusion
from laojian.grading.tests.factories import leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready():
    """An examined case whose panel agreed (the conclusion is drafted) and which has two open flags."""
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, ["5.10.2(12)"])
    care = ClaimedCareFactory(case=case)
    for n, rule in enumerate(("no_settlement", "not_licensed")):
        Flag.objects.create(case=case, committee=case.committee, rule=rule, claimed=care, fingerprint=f"f{n}",
                            weight=5, hospital_name=HOSPITAL_A, found_at=care.created_at, last_seen_at=care.created_at)
    return case


def status(case) -> str:
    case.refresh_from_db()
    return case.status


def test_the_approval_is_refused_while_flags_are_open(ready):
    with pytest.raises(TransitionRefused) as exc:
        grading_services.conclusion_approve(ready.pk, actor=leader(ready))
    assert exc.value.code == "crosscheck_open"
    assert exc.value.message.startswith(
        "2 cross-check doubts are open: claimed stay with no settlement record (聊城市人民医院); "
        "hospital not licensed (for that service) (聊城市人民医院).")
    assert status(ready) == Status.EXAMINED
    assert Conclusion.objects.get(case=ready).state == Conclusion.State.DRAFT


def test_a_flag_waiting_for_a_letter_s_reply_also_blocks(ready):
    Flag.objects.filter(case=ready, rule="no_settlement").update(state=Flag.State.CLEARED)
    Flag.objects.filter(case=ready, rule="not_licensed").update(state=Flag.State.LETTER_SENT)
    with pytest.raises(TransitionRefused) as exc:
        grading_services.conclusion_approve(ready.pk, actor=leader(ready))
    assert exc.value.message.startswith("1 cross-check doubt is open: hospital not licensed")


def test_resolved_flags_do_not_block(ready):
    Flag.objects.filter(case=ready, rule="no_settlement").update(state=Flag.State.CLEARED)
    Flag.objects.filter(case=ready, rule="not_licensed").update(state=Flag.State.CONFIRMED)
    grading_services.conclusion_approve(ready.pk, actor=leader(ready))
    assert status(ready) == Status.CONCLUDED
    assert not AuditEvent.objects.filter(action="crosscheck.override").exists()


def test_with_the_leader_s_override_the_approval_goes_through_and_is_audited(ready):
    boss = leader(ready)
    override = services.override_record(ready.pk, actor=boss, reason="伤者已提供自费住院票据原件，医保无记录属正常")
    ids = sorted(Flag.objects.filter(case=ready).values_list("id", flat=True))
    assert override.open_flags == ids
    grading_services.conclusion_approve(ready.pk, actor=leader(ready))
    assert status(ready) == Status.CONCLUDED
    override.refresh_from_db()
    assert override.used is True
    event = AuditEvent.objects.get(action="crosscheck.override")
    assert (event.after["flag_ids"], event.after["override_id"], event.after["recorded_by"]) == (ids, override.pk, boss.pk)
    assert AuditEvent.objects.filter(action="crosscheck.override_record", object_id=str(ready.pk)).count() == 1
    # The flags themselves stay open: the override lets the conclusion through, it explains nothing.
    assert set(Flag.objects.filter(case=ready).values_list("state", flat=True)) == {Flag.State.OPEN}


def test_an_override_is_used_once(ready):
    services.override_record(ready.pk, actor=leader(ready), reason="理由")
    approver = leader(ready)
    grading_services.conclusion_approve(ready.pk, actor=approver)
    ready.refresh_from_db()
    from laojian.cases.workflow import Context

    ctx = Context(actor=approver, note="", data={}, today=ready.concluded_on)
    with pytest.raises(TransitionRefused):
        conclusion_blocked_by_open_flags(ready, ctx)
    assert AuditEvent.objects.filter(action="crosscheck.override").count() == 1


def test_a_refused_approval_does_not_use_the_override(ready, monkeypatch):
    from laojian.cases import workflow

    def refuse_after_us(case, ctx):
        raise TransitionRefused("refused by a later rule", code="later")

    services.override_record(ready.pk, actor=leader(ready), reason="理由")
    guards = workflow._EXTRA_GUARDS["conclude"]
    assert conclusion_blocked_by_open_flags in guards
    monkeypatch.setitem(workflow._EXTRA_GUARDS, "conclude", [*guards, refuse_after_us])
    with pytest.raises(TransitionRefused) as exc:
        grading_services.conclusion_approve(ready.pk, actor=leader(ready))
    assert exc.value.code == "later"
    assert Override.objects.get(case=ready).used is False
    assert not AuditEvent.objects.filter(action="crosscheck.override").exists()


def test_doubts_found_after_the_override_need_a_new_one(ready):
    services.override_record(ready.pk, actor=leader(ready), reason="理由")
    first = Flag.objects.filter(case=ready).first()
    Flag.objects.create(case=ready, committee=ready.committee, rule="pre_existing", fingerprint="later", weight=4,
                        found_at=first.found_at, last_seen_at=first.found_at)
    with pytest.raises(TransitionRefused) as exc:
        grading_services.conclusion_approve(ready.pk, actor=leader(ready))
    assert "a new override is needed" in exc.value.message
    assert Override.objects.get(case=ready).used is False


def test_only_a_leader_overrides_and_with_a_reason(ready):
    with pytest.raises(PermissionDeniedError):
        services.override_record(ready.pk, actor=staff(ready, "liaison"), reason="理由")
    with pytest.raises(ValidationFailed):
        services.override_record(ready.pk, actor=leader(ready), reason="  ")
    assert not Override.objects.exists()


def test_there_is_nothing_to_override_without_open_flags(ready):
    Flag.objects.filter(case=ready).update(state=Flag.State.CLEARED)
    with pytest.raises(CrosscheckRefused):
        services.override_record(ready.pk, actor=leader(ready), reason="理由")
