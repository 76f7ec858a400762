"""The liaison's work on flags: resolve, cross-check letter, reply."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases import clocks
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.crosscheck import selectors, services
from laojian.crosscheck.models import Flag, Letter
from laojian.crosscheck.tests.factories import (
    HOSPITAL_B,
    ClaimedCareFactory,
    D,
    care_row,
    open_case,
    partner_data,
    staff,
)
from laojian.documents.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged():
    """A case with two open flags (no settlement; pre-existing treatment), found by a run."""
    case = open_case()
    ClaimedCareFactory(case=case, record_number="ZY000777")
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B, icd10="S62.0",
                                                         admitted_on=D(2025, 6, 1), discharged_on=D(2025, 6, 9))])
    services.match_committee(case.committee)
    assert Flag.objects.filter(case=case).count() == 2
    return case


def flag(case, rule: str) -> Flag:
    return Flag.objects.get(case=case, rule=rule)


def test_the_liaison_clears_a_flag_with_a_note(flagged):
    liaison = staff(flagged, "liaison")
    resolved = services.flag_resolve(flag(flagged, "no_settlement").pk, actor=liaison, outcome="cleared",
                                     note="自费住院，未经医保结算，已核实收费票据")
    assert (resolved.state, resolved.resolved_by, resolved.resolution_note) == (
        Flag.State.CLEARED, liaison, "自费住院，未经医保结算，已核实收费票据")
    event = AuditEvent.objects.get(action="crosscheck.flag_clear")
    assert (event.before, event.after["state"], event.after["rule"]) == ({"state": "open"}, "cleared", "no_settlement")
    assert flagged.timeline.filter(action="crosscheck_flag_cleared").count() == 1


def test_confirming_also_needs_a_note(flagged):
    with pytest.raises(ValidationFailed) as exc:
        services.flag_resolve(flag(flagged, "pre_existing").pk, actor=staff(flagged, "liaison"),
                              outcome="confirmed", note=" ")
    assert list(exc.value.extra["fields"]) == ["note"]
    assert flag(flagged, "pre_existing").state == Flag.State.OPEN


def test_a_resolved_flag_cannot_be_resolved_again(flagged):
    liaison = staff(flagged, "liaison")
    pk = flag(flagged, "pre_existing").pk
    services.flag_resolve(pk, actor=liaison, outcome="confirmed", note="旧伤")
    with pytest.raises(ConflictError):
        services.flag_resolve(pk, actor=liaison, outcome="cleared", note="改判")
    assert flag(flagged, "pre_existing").state == Flag.State.CONFIRMED


def test_only_the_liaison_resolves(flagged):
    with pytest.raises(PermissionDeniedError):
        services.flag_resolve(flag(flagged, "pre_existing").pk, actor=staff(flagged, "leader"), outcome="cleared",
                              note="x")


def test_a_liaison_of_another_committee_gets_not_found(flagged):
    with pytest.raises(NotFoundError):
        services.flag_resolve(flag(flagged, "pre_existing").pk, actor=UserFactory(roles=["liaison"]),
                              outcome="cleared", note="x")


def test_the_letter_is_issued_as_a_document_and_the_flags_wait(flagged, document_files):
    liaison = staff(flagged, "liaison")
    flags = list(Flag.objects.filter(case=flagged).order_by("found_at", "id"))
    letter = services.letter_send(flagged.pk, [f.pk for f in flags], actor=liaison, department="聊城市医疗保障局")
    document = Document.objects.get(pk=letter.document_id)
    assert (document.kind, document.case_id, document.issued_by) == ("crosscheck_letter", flagged.pk, liaison)
    assert document.values["note"] == selectors.letter_questions(flags)
    assert "ZY000777" in document.values["note"]
    assert document.values["note"].startswith("1. ")
    assert sorted(letter.flags.values_list("id", flat=True)) == sorted(f.pk for f in flags)
    assert set(Flag.objects.filter(case=flagged).values_list("state", flat=True)) == {Flag.State.LETTER_SENT}
    event = AuditEvent.objects.get(action="crosscheck.letter_send")
    assert (event.after["number"], event.after["flag_ids"]) == (document.number, [f.pk for f in flags])
    assert flagged.timeline.filter(action="crosscheck_letter_sent").count() == 1


def test_the_liaison_may_rewrite_the_questions(flagged, document_files):
    pk = flag(flagged, "pre_existing").pk
    letter = services.letter_send(flagged.pk, [pk], actor=staff(flagged, "liaison"), department="卫健委",
                                  questions="请提供2025年6月的住院病历。")
    assert Document.objects.get(pk=letter.document_id).values["note"] == "请提供2025年6月的住院病历。"
    assert flag(flagged, "no_settlement").state == Flag.State.OPEN


def test_a_letter_only_asks_about_open_flags(flagged, document_files):
    liaison = staff(flagged, "liaison")
    pk = flag(flagged, "pre_existing").pk
    services.flag_resolve(pk, actor=liaison, outcome="cleared", note="已解释")
    with pytest.raises(ConflictError):
        services.letter_send(flagged.pk, [pk], actor=liaison, department="卫健委")
    assert not Letter.objects.exists()
    assert not Document.objects.exists()


def test_a_letter_about_another_case_s_flag_is_refused(flagged, document_files):
    other = open_case(committee=flagged.committee)
    with pytest.raises(NotFoundError):
        services.letter_send(other.pk, [flag(flagged, "pre_existing").pk], actor=staff(flagged, "liaison"),
                             department="卫健委")


def test_the_reply_clears_the_letter_s_flags(flagged, document_files):
    liaison = staff(flagged, "liaison")
    ids = list(Flag.objects.filter(case=flagged).values_list("id", flat=True))
    letter = services.letter_send(flagged.pk, ids, actor=liaison, department="聊城市医疗保障局")
    services.letter_reply(letter.pk, actor=liaison, reply_on=clocks.today(), reply="经核实，该次住院已在异地结算。",
                          outcome="cleared")
    letter.refresh_from_db()
    assert (letter.reply, letter.reply_recorded_by) == ("经核实，该次住院已在异地结算。", liaison)
    states = set(Flag.objects.filter(case=flagged).values_list("state", "resolution_note"))
    assert states == {("cleared", f"Reply of {clocks.today().isoformat()}: 经核实，该次住院已在异地结算。")}
    event = AuditEvent.objects.get(action="crosscheck.letter_reply")
    assert (event.after["outcome"], sorted(event.after["flag_ids"])) == ("cleared", sorted(ids))


def test_a_reply_without_outcome_leaves_the_flags_waiting(flagged, document_files):
    liaison = staff(flagged, "liaison")
    ids = list(Flag.objects.filter(case=flagged).values_list("id", flat=True))
    letter = services.letter_send(flagged.pk, ids, actor=liaison, department="卫健委")
    services.letter_reply(letter.pk, actor=liaison, reply_on=clocks.today(), reply="材料附后")
    assert set(Flag.objects.filter(case=flagged).values_list("state", flat=True)) == {Flag.State.LETTER_SENT}
    services.flag_resolve(ids[0], actor=liaison, outcome="confirmed", note="回函证实为旧伤")
    assert Flag.objects.get(pk=ids[0]).state == Flag.State.CONFIRMED


@pytest.mark.parametrize(("days", "reply"), [(1, "ok"), (-400, "ok"), (0, "")], ids=["future", "before_sent", "empty"])
def test_an_impossible_reply_is_refused(flagged, document_files, days, reply):
    liaison = staff(flagged, "liaison")
    letter = services.letter_send(flagged.pk, [flag(flagged, "pre_existing").pk], actor=liaison, department="卫健委")
    with pytest.raises(ValidationFailed):
        services.letter_reply(letter.pk, actor=liaison, reply_on=clocks.today() + dt.timedelta(days=days), reply=reply)
    letter.refresh_from_db()
    assert letter.reply_on is None


def test_a_reply_is_recorded_once(flagged, document_files):
    liaison = staff(flagged, "liaison")
    letter = services.letter_send(flagged.pk, [flag(flagged, "pre_existing").pk], actor=liaison, department="卫健委")
    services.letter_reply(letter.pk, actor=liaison, reply_on=clocks.today(), reply="第一次")
    with pytest.raises(ConflictError):
        services.letter_reply(letter.pk, actor=liaison, reply_on=clocks.today(), reply="第二次")
