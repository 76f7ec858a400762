"""Writes of cross-checks: the claimed care, the matching runs and their flags, the work on flags
(resolve, cross-check letter, reply), and the leader's override of the conclusion block.

Each write is atomic, checks the user's permission and the case's visibility (404 for both), and
goes to the audit trail; what the case's users should see goes on its timeline too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laojian.cases import clocks
from laojian.cases.models import Case, Status
from laojian.cases.selectors import case_for_update
from laojian.cases.services import timeline_add
from laojian.cases.workflow import TransitionRefused
from laojian.core import audit
from laojian.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from laojian.core.versioning import bump, check_version
from laojian.crosscheck import matching, selectors
from laojian.crosscheck.models import ClaimedCare, Flag, Letter, MatchRun, Override
from laojian.crosscheck.selectors import UNRESOLVED

if TYPE_CHECKING:
    from laojian.core.models import Committee, User


class CrosscheckRefused(ApplicationError):
    code = "crosscheck_refused"


# CLAIMED CARE ------------------------------------------------------------------------------------

# Committee staff keep the claimed care up to date until the conclusion; the applicant while the
# application is theirs to change (a draft, or returned for correction).
STAFF_STATES = frozenset({Status.DRAFT}) | matching.MATCHED_STATES
APPLICANT_STATES = frozenset({Status.DRAFT, Status.CORRECTION_REQUESTED})
CARE_FIELDS = ("kind", "hospital_name", "hospital_code", "started_on", "ended_on", "diagnosis", "icd10",
               "record_number")


@dataclass
class ClaimedCareInput:
    kind: str
    hospital_name: str
    started_on: dt.date | None
    ended_on: dt.date | None = None
    hospital_code: str = ""
    diagnosis: str = ""
    icd10: str = ""
    record_number: str = ""


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, extra={"fields": {field: [message]}})


def _clean_care(data: ClaimedCareInput, case: Case, today: dt.date) -> dict[str, Any]:
    """The values to store, or ValidationFailed naming the field."""
    if data.kind not in ClaimedCare.Kind.values:
        raise _invalid("kind", _("Choose what kind of care this is."))
    hospital = " ".join((data.hospital_name or "").split())
    if not hospital:
        raise _invalid("hospital_name", _("Enter the hospital."))
    if data.started_on is None:
        raise _invalid("started_on", _("Enter the date of admission or of the visit."))
    if data.started_on > today:
        raise _invalid("started_on", _("The date of admission or of the visit cannot be in the future."))
    if data.started_on < case.worker.birth_date:
        raise _invalid("started_on", _("The date of admission or of the visit is before the worker was born."))
    if data.ended_on is not None:
        if data.ended_on > today:
            raise _invalid("ended_on", _("The discharge date cannot be in the future."))
        if data.ended_on < data.started_on:
            raise _invalid("ended_on", _("The discharge date cannot be before the admission."))
    icd10 = matching.normalize_icd10(data.icd10)
    if icd10 and not matching.ICD10_RE.match(icd10):
        raise _invalid("icd10", _("“%(code)s” is not an ICD-10 code such as S62.0 or S82.201.")
                       % {"code": data.icd10.strip()})
    return {
        "kind": data.kind, "hospital_name": hospital[:100], "hospital_code": (data.hospital_code or "").strip().upper(),
        "started_on": data.started_on, "ended_on": data.ended_on if data.kind == ClaimedCare.Kind.STAY else None,
        "diagnosis": (data.diagnosis or "").strip(), "icd10": icd10, "record_number": (data.record_number or "").strip(),
    }


def care_entered_from(actor: User, case: Case) -> str | None:
    """``clerk`` or ``applicant`` when the user may change this case's claimed care now, else None."""
    if not actor.has_perm("crosscheck.enter_claimed_care"):
        return None
    if actor.committee_id == case.committee_id and actor.has_perm("cases.view_committee_cases"):
        return ClaimedCare.EnteredFrom.CLERK if case.status in STAFF_STATES else None
    if case.applicant_user_id == actor.pk and case.status in APPLICANT_STATES:
        return ClaimedCare.EnteredFrom.APPLICANT
    return None


def _care_case(actor: User, case_id: int) -> tuple[Case, str]:
    case = case_for_update(actor, case_id, related=("committee", "worker"))
    entered_from = care_entered_from(actor, case)
    if entered_from is None:
        if not actor.has_perm("crosscheck.enter_claimed_care"):
            raise PermissionDeniedError()
        raise CrosscheckRefused(_("The claimed care of this case cannot be changed at this step."),
                                code="care_closed")
    return case, entered_from


def _care_values(care: ClaimedCare) -> dict[str, Any]:
    return {name: getattr(care, name) for name in CARE_FIELDS}


def _care_text(values: dict[str, Any]) -> str:
    period = str(values["started_on"]) + (f" – {values['ended_on']}" if values.get("ended_on") else "")
    return f"{values['hospital_name']} {period}"


def claimed_care_add(case_id: int, data: ClaimedCareInput, *, actor: User, today: dt.date | None = None,
                     ip_address: str = "") -> ClaimedCare:
    """Add a stay, visit or examination the application relies on."""
    today = today or clocks.today()
    with transaction.atomic():
        case, entered_from = _care_case(actor, case_id)
        values = _clean_care(data, case, today)
        care = ClaimedCare.objects.create(case=case, entered_from=entered_from, entered_by=actor, **values)
        timeline_add(case.pk, "claimed_care_add", actor=actor, note=_care_text(values))
        audit.record("crosscheck.claimed_care_add", actor=actor, obj=care, committee=case.committee,
                     after={"case_id": case.pk, "entered_from": entered_from, **values}, ip_address=ip_address)
    return care


def _locked_care(actor: User, care_id: int) -> tuple[ClaimedCare, Case, str]:
    case_id = ClaimedCare.objects.filter(pk=care_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotFoundError()
    case, entered_from = _care_case(actor, case_id)
    care = ClaimedCare.objects.select_for_update().filter(pk=care_id, case=case).first()
    if care is None:
        raise NotFoundError()
    if entered_from == ClaimedCare.EnteredFrom.APPLICANT and care.entered_from != ClaimedCare.EnteredFrom.APPLICANT:
        raise PermissionDeniedError(_("This entry was made by the committee: ask the clerk to change it."))
    return care, case, entered_from


def claimed_care_update(care_id: int, data: ClaimedCareInput, *, actor: User, today: dt.date | None = None,
                        expected_version: int | None = None, ip_address: str = "") -> ClaimedCare:
    """Correct an entry (an applicant only their own entries); ``expected_version``: the version the
    form was filled in against (a newer one refuses the save)."""
    today = today or clocks.today()
    with transaction.atomic():
        care, case, _entered_from = _locked_care(actor, care_id)
        check_version(care, expected_version)
        values = _clean_care(data, case, today)
        before = _care_values(care)
        for name, value in values.items():
            setattr(care, name, value)
        bump(care)
        care.save()
        changed_before, changed_after = audit.changes(before, values)
        if changed_after or changed_before:
            timeline_add(case.pk, "claimed_care_change", actor=actor, note=_care_text(values))
            audit.record("crosscheck.claimed_care_change", actor=actor, obj=care, committee=case.committee,
                         before=changed_before, after=changed_after, ip_address=ip_address)
    return care


def claimed_care_remove(care_id: int, *, actor: User, ip_address: str = "") -> None:
    """Remove an entry; flags raised about it stay, with their evidence."""
    with transaction.atomic():
        care, case, _entered_from = _locked_care(actor, care_id)
        before = _care_values(care)
        pk = care.pk
        care.delete()
        timeline_add(case.pk, "claimed_care_remove", actor=actor, note=_care_text(before))
        audit.record("crosscheck.claimed_care_remove", actor=actor, object_type="crosscheck.claimedcare",
                     object_id=str(pk), committee=case.committee, before={"case_id": case.pk, **before},
                     ip_address=ip_address)


# MATCHING ----------------------------------------------------------------------------------------

_CHUNK = 500  # ids per UPDATE … WHERE id IN (…): well under SQLite's limit on parameters


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _record_findings(committee_id: int, findings: list[matching.Finding], *, case_id: int | None,
                     now: dt.datetime) -> int:
    """Upsert the flags of a run by (case, fingerprint): new findings are created, known ones get
    ``last_seen_at`` (and, while unresolved, the new evidence); a cleared or confirmed flag stays
    so. Bulk statements only; returns how many flags are new."""
    weights = matching.rule_weights()
    scope = Flag.objects.filter(committee_id=committee_id)
    scope = scope.filter(case_id=case_id) if case_id is not None else scope.filter(
        case__status__in=matching.MATCHED_STATES)
    known = {(case, fp): (pk, state) for pk, case, fp, state in
             scope.values_list("id", "case_id", "fingerprint", "state")}
    found = {(f.case_id, f.fingerprint): f for f in findings}
    # What unresolved flags say now (one query for the scope: no list of ids, however many flags).
    current = {pk: (evidence, weight, hospital, claimed) for pk, evidence, weight, hospital, claimed in
               scope.filter(state__in=UNRESOLVED).values_list("id", "evidence", "weight", "hospital_name",
                                                              "claimed_id")} if found else {}
    new: list[Flag] = []
    changed: list[Flag] = []
    touched: list[int] = []
    for key, finding in found.items():
        values = (finding.evidence, weights[finding.rule], finding.hospital_name, finding.claimed_id)
        if key not in known:
            new.append(Flag(case_id=finding.case_id, committee_id=committee_id, rule=finding.rule,
                            claimed_id=finding.claimed_id, fingerprint=finding.fingerprint, weight=values[1],
                            hospital_name=finding.hospital_name, evidence=finding.evidence, found_at=now,
                            last_seen_at=now))
            continue
        pk = known[key][0]
        if pk in current and current[pk] != values:
            changed.append(Flag(pk=pk, evidence=values[0], weight=values[1], hospital_name=values[2],
                                claimed_id=values[3], last_seen_at=now, updated_at=now))
        else:
            touched.append(pk)
    Flag.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    Flag.objects.bulk_update(changed, ["evidence", "weight", "hospital_name", "claimed", "last_seen_at",
                                       "updated_at"], batch_size=500)
    for chunk in _chunks(touched):
        Flag.objects.filter(pk__in=chunk).update(last_seen_at=now)
    per_case = Counter(flag.case_id for flag in new)
    labels = dict(Flag.Rule.choices)
    rules_per_case: dict[int, list[str]] = {}
    for flag in new:
        rules_per_case.setdefault(flag.case_id, []).append(str(labels[flag.rule]))
    for case, count in sorted(per_case.items()):
        timeline_add(case, "crosscheck_flags_found", actor=None, at=now, note=ngettext(
            "The cross-check found %(n)d new doubt: %(rules)s.", "The cross-check found %(n)d new doubts: %(rules)s.",
            count) % {"n": count, "rules": "、".join(sorted(set(rules_per_case[case])))})
    return len(new)


def _run(committee: Committee, run: MatchRun, *, case_id: int | None) -> MatchRun:
    """Compute outside any transaction (Polars reads files for a while), then write in one."""
    try:
        result = matching.find_for(committee.pk, case_id=case_id)
    except (pl.exceptions.PolarsError, OSError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at", "updated_at"])
        audit.record("crosscheck.match", actor=run.requested_by, obj=run, committee=committee,
                     after={"case_id": case_id, "error": run.error})
        return run
    now = timezone.now()
    with transaction.atomic():
        if case_id is not None:
            checked = 1
        else:
            checked = Case.objects.filter(committee=committee, status__in=matching.MATCHED_STATES).count()
        raised = _record_findings(committee.pk, result.findings, case_id=case_id, now=now)
        run.cases_checked = checked
        run.flags_found = len(result.findings)
        run.flags_raised = raised
        run.skipped = result.skipped
        run.finished_at = timezone.now()
        run.error = ""
        run.save()
        audit.record("crosscheck.match", actor=run.requested_by, obj=run, committee=committee,
                     after={"case_id": case_id, "cases_checked": checked, "findings": run.flags_found,
                            "new_flags": raised, "skipped": sorted(result.skipped)})
    return run


def match_committee(committee: Committee) -> MatchRun:
    """The nightly batch: every open case of the committee against all its finished partner data."""
    run = MatchRun.objects.create(committee=committee, started_at=timezone.now())
    return _run(committee, run, case_id=None)


def match_all() -> list[MatchRun]:
    """The nightly batch for every committee that has a case to check."""
    from laojian.core.models import Committee

    committees = Committee.objects.filter(
        pk__in=Case.objects.filter(status__in=matching.MATCHED_STATES).values("committee_id")).order_by("pk")
    return [match_committee(committee) for committee in committees]


def match_request(case_id: int, *, actor: User) -> MatchRun:
    """Ask for a check of one case now: the run is recorded at once and done by a background task."""
    if not actor.has_perm("crosscheck.view_flag"):
        raise PermissionDeniedError()
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        if case.status not in matching.MATCHED_STATES:
            raise CrosscheckRefused(_("Only a filed case that is not yet concluded is cross-checked."),
                                    code="not_open")
        if MatchRun.objects.filter(case=case, finished_at__isnull=True).exists():
            raise CrosscheckRefused(_("A check of this case is already waiting to run."), code="already_queued")
        run = MatchRun.objects.create(committee=case.committee, case=case, started_at=timezone.now(),
                                      requested_by=actor)
        from laojian.crosscheck import tasks

        transaction.on_commit(lambda: tasks.match_case.enqueue(run.pk))
    return run


def match_case_now(case_id: int) -> MatchRun:
    """Check one case in the foreground (the console); any filed case not yet concluded."""
    case = Case.objects.select_related("committee").filter(pk=case_id).first()
    if case is None:
        raise NotFoundError()
    if case.status not in matching.MATCHED_STATES:
        raise CrosscheckRefused(_("Only a filed case that is not yet concluded is cross-checked."), code="not_open")
    run = MatchRun.objects.create(committee=case.committee, case=case, started_at=timezone.now())
    return _run(case.committee, run, case_id=case.pk)


def match_case(run_id: int) -> MatchRun:
    """Do a requested check of one case (called by the task); a finished run is left alone."""
    run = MatchRun.objects.select_related("committee", "requested_by").get(pk=run_id)
    if run.finished_at is not None:
        return run
    return _run(run.committee, run, case_id=run.case_id)


# FLAG WORK ---------------------------------------------------------------------------------------

def _work_flags(actor: User) -> None:
    if not actor.has_perm("crosscheck.work_flags"):
        raise PermissionDeniedError(_("Only the cross-check liaison works on flags."))


def _locked_flags(case: Case, flag_ids: list[int]) -> list[Flag]:
    flags = list(Flag.objects.select_for_update().filter(case=case, pk__in=flag_ids).order_by("found_at", "id"))
    if not flags or len(flags) != len(set(flag_ids)):
        raise NotFoundError()
    return flags


def _resolve_values(outcome: str, note: str, actor: User, now: dt.datetime) -> dict[str, Any]:
    return {"state": outcome, "resolution_note": note, "resolved_by": actor, "resolved_at": now, "updated_at": now}


def flag_resolve(flag_id: int, *, actor: User, outcome: str, note: str, ip_address: str = "") -> Flag:
    """Clear a flag (explained) or confirm it (the doubt stands); a note says why, always."""
    _work_flags(actor)
    note = (note or "").strip()
    if outcome not in (Flag.State.CLEARED, Flag.State.CONFIRMED):
        raise _invalid("outcome", _("Choose whether the doubt is cleared or confirmed."))
    if not note:
        raise _invalid("note", _("Write why: the explanation, or what confirms the doubt."))
    with transaction.atomic():
        case_id = Flag.objects.filter(pk=flag_id).values_list("case_id", flat=True).first()
        if case_id is None:
            raise NotFoundError()
        case = case_for_update(actor, case_id)
        (flag,) = _locked_flags(case, [flag_id])
        if flag.state not in UNRESOLVED:
            raise ConflictError(_("This flag is already %(state)s.") % {"state": flag.get_state_display()})
        before = flag.state
        now = timezone.now()
        Flag.objects.filter(pk=flag.pk, state=before).update(**_resolve_values(outcome, note, actor, now))
        flag.refresh_from_db()
        timeline_add(case.pk, f"crosscheck_flag_{outcome}", actor=actor, note=note,
                     data={"flag_id": flag.pk, "rule": flag.rule})
        audit.record(f"crosscheck.flag_{'clear' if outcome == Flag.State.CLEARED else 'confirm'}", actor=actor,
                     obj=flag, committee=case.committee, before={"state": before},
                     after={"state": outcome, "note": note, "rule": flag.rule, "case_id": case.pk},
                     ip_address=ip_address)
    return flag


def letter_send(case_id: int, flag_ids: list[int], *, actor: User, department: str, questions: str = "",
                today: dt.date | None = None, ip_address: str = "") -> Letter:
    """Issue a cross-check letter (协查函) to a department about open flags of a case; the flags
    wait for the reply (``letter_sent``). The letter's questions default to those built from the
    flags' evidence."""
    from laojian.documents.services import document_issue

    _work_flags(actor)
    today = today or clocks.today()
    department = " ".join((department or "").split())
    if not department:
        raise _invalid("department", _("Name the department the letter goes to."))
    if not flag_ids:
        raise _invalid("flags", _("Choose the flags the letter asks about."))
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        flags = _locked_flags(case, flag_ids)
        waiting = [flag for flag in flags if flag.state != Flag.State.OPEN]
        if waiting:
            raise ConflictError(_("A letter can ask only about open flags; %(n)d of those chosen are not open.")
                                % {"n": len(waiting)})
        text = (questions or "").strip() or selectors.letter_questions(flags)
        # The letter is addressed to the department ({{ crosscheck.department }}).
        document = document_issue(case.pk, "crosscheck_letter", actor=actor, note=text, today=today,
                                  extra={"crosscheck": {"department": department}})
        letter = Letter.objects.create(case=case, department=department[:100], document_id=document.pk,
                                       sent_on=today, sent_by=actor)
        letter.flags.set(flags)
        ids = [flag.pk for flag in flags]
        Flag.objects.filter(pk__in=ids, state=Flag.State.OPEN).update(state=Flag.State.LETTER_SENT,
                                                                      updated_at=timezone.now())
        timeline_add(case.pk, "crosscheck_letter_sent", actor=actor,
                     note=_("Cross-check letter %(number)s to %(department)s.")
                     % {"number": document.number, "department": department},
                     data={"letter_id": letter.pk, "flag_ids": ids})
        audit.record("crosscheck.letter_send", actor=actor, obj=letter, committee=case.committee,
                     after={"case_id": case.pk, "document_id": document.pk, "number": document.number,
                            "department": department, "flag_ids": ids}, ip_address=ip_address)
    return letter


def letter_reply(letter_id: int, *, actor: User, reply_on: dt.date | None, reply: str, outcome: str = "",
                 note: str = "", today: dt.date | None = None, ip_address: str = "") -> Letter:
    """Record the department's reply; with an outcome, the letter's waiting flags are cleared or
    confirmed at the same time (the note, or else the reply, says why)."""
    _work_flags(actor)
    today = today or clocks.today()
    reply = (reply or "").strip()
    note = (note or "").strip()
    if outcome and outcome not in (Flag.State.CLEARED, Flag.State.CONFIRMED):
        raise _invalid("outcome", _("Choose whether the doubts are cleared or confirmed."))
    with transaction.atomic():
        case_id = Letter.objects.filter(pk=letter_id).values_list("case_id", flat=True).first()
        if case_id is None:
            raise NotFoundError()
        case = case_for_update(actor, case_id)
        letter = Letter.objects.select_for_update().get(pk=letter_id)
        if letter.reply_on is not None:
            raise ConflictError(_("The reply to this letter is already recorded."))
        if reply_on is None:
            raise _invalid("reply_on", _("Enter the date the reply was received."))
        if reply_on > today:
            raise _invalid("reply_on", _("The reply date cannot be in the future."))
        if reply_on < letter.sent_on:
            raise _invalid("reply_on", _("The reply date cannot be before the letter was sent (%(date)s).")
                           % {"date": letter.sent_on.isoformat()})
        if not reply:
            raise _invalid("reply", _("Write what the department replied."))
        letter.reply_on, letter.reply, letter.reply_recorded_by = reply_on, reply, actor
        letter.save(update_fields=["reply_on", "reply", "reply_recorded_by", "updated_at"])
        resolved: list[int] = []
        if outcome:
            resolved = list(letter.flags.filter(state=Flag.State.LETTER_SENT).values_list("id", flat=True))
            reason = note or _("Reply of %(date)s: %(reply)s") % {"date": reply_on.isoformat(), "reply": reply}
            Flag.objects.filter(pk__in=resolved, state=Flag.State.LETTER_SENT).update(
                **_resolve_values(outcome, reason, actor, timezone.now()))
        timeline_add(case.pk, "crosscheck_letter_reply", actor=actor, note=reply,
                     data={"letter_id": letter.pk, "outcome": outcome, "flag_ids": resolved})
        audit.record("crosscheck.letter_reply", actor=actor, obj=letter, committee=case.committee,
                     after={"case_id": case.pk, "reply_on": reply_on, "reply": reply, "outcome": outcome,
                            "flag_ids": resolved}, ip_address=ip_address)
    return letter


# THE CONCLUSION BLOCK ----------------------------------------------------------------------------

def override_record(case_id: int, *, actor: User, reason: str, ip_address: str = "") -> Override:
    """The leader's written reason to approve the conclusion although doubts are still open. It
    covers the flags open now; the next approval uses it once."""
    if not actor.has_perm("crosscheck.override_flags"):
        raise PermissionDeniedError()
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", _("Write why the conclusion may be approved with the doubts open."))
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        if case.status in (Status.CONCLUDED, Status.DELIVERED, Status.ARCHIVED):
            raise CrosscheckRefused(_("The conclusion is already approved."), code="concluded")
        open_ids = list(Flag.objects.filter(case=case, state__in=UNRESOLVED).order_by("id").values_list("id", flat=True))
        if not open_ids:
            raise CrosscheckRefused(_("No cross-check doubt is open: the conclusion needs no override."),
                                    code="nothing_open")
        override = Override.objects.create(case=case, reason=reason, open_flags=open_ids, by=actor)
        timeline_add(case.pk, "crosscheck_override_recorded", actor=actor, note=reason,
                     data={"override_id": override.pk})
        audit.record("crosscheck.override_record", actor=actor, obj=case, committee=case.committee,
                     after={"override_id": override.pk, "flag_ids": open_ids, "reason": reason},
                     ip_address=ip_address)
    return override


def conclusion_check(case: Case, actor: User) -> None:
    """Called by the ``conclude`` guard inside the approval's transaction: refuses while flags are
    open, unless the leader's latest unused override covers all of them; that override is then
    used (once) and the audit trail gets ``crosscheck.override`` with the flag ids."""
    open_flags = list(Flag.objects.filter(case=case, state__in=UNRESOLVED).order_by("found_at", "id"))
    if not open_flags:
        return
    ids = [flag.pk for flag in open_flags]
    override = Override.objects.filter(case=case, used=False).order_by("-at", "-id").first()
    if override is not None and set(ids) <= set(override.open_flags):
        if Override.objects.filter(pk=override.pk, used=False).update(used=True) == 1:
            timeline_add(case.pk, "crosscheck_override", actor=actor, note=override.reason,
                         data={"override_id": override.pk, "flag_ids": ids})
            audit.record("crosscheck.override", actor=actor, obj=case, committee=case.committee,
                         after={"override_id": override.pk, "flag_ids": ids, "reason": override.reason,
                                "recorded_by": override.by_id})
            return
    shown = "; ".join(selectors.flag_short(flag) for flag in open_flags[:5])
    if len(open_flags) > 5:
        shown += "; …"
    message = ngettext("%(n)d cross-check doubt is open: %(flags)s.", "%(n)d cross-check doubts are open: %(flags)s.",
                       len(open_flags)) % {"n": len(open_flags), "flags": shown}
    if override is not None:
        message += " " + _("Doubts were found after the leader's override: a new override is needed.")
    else:
        message += " " + _("Resolve them first, or a leader records an override with a written reason.")
    raise TransitionRefused(message, code="crosscheck_open")


__all__ = [
    "ClaimedCareInput", "CrosscheckRefused", "claimed_care_add", "claimed_care_remove", "claimed_care_update",
    "conclusion_check", "flag_resolve", "letter_reply", "letter_send", "match_all", "match_case",
    "match_case_now", "match_committee", "match_request", "override_record",
]
