"""Writes. Each workflow step is one call to ``transition``: atomic, permission-checked,
safe under concurrency on SQLite and PostgreSQL, recorded on the timeline and in the audit trail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import clocks, retention
from laojian.cases.models import (
    OPEN_CASE_CLASH,
    Case,
    CaseAssignment,
    CaseNumberSequence,
    Employer,
    InjuryDetermination,
    Sensitivity,
    Status,
    TimelineEntry,
    Worker,
    is_open_case_clash,
    open_case_of_injury,
)
from laojian.cases.selectors import case_for_update
from laojian.cases.workflow import (
    Context,
    TransitionEvent,
    TransitionRefused,
    get_transition,
    guards_for,
    listeners,
    open_case_message,
)
from laojian.core import audit, notices
from laojian.core.errors import ConflictError, PermissionDeniedError, ValidationFailed
from laojian.core.validators import normalize_credit_code, parse_resident_id

if TYPE_CHECKING:
    from laojian.core.models import Committee, User

# Fields whose before/after values the audit trail keeps for every transition.
AUDITED_FIELDS = (
    "status", "version", "received_on", "correction_requested_on", "resubmitted_on", "accepted_on", "accepted_by_id", "concluded_on", "delivered_on",
    "extension_days", "reschedule_shift_days", "completeness_due", "correction_due", "conclusion_due", "delivery_due",
    "target_due", "reappraisal_window_ends", "next_due",
)


def _snapshot(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in AUDITED_FIELDS}


def _fail(field: str, error: ValidationError | str) -> ValidationFailed:
    messages = error.messages if isinstance(error, ValidationError) else [str(error)]
    return ValidationFailed(messages[0], extra={"fields": {field: messages}})


# PARTIES ------------------------------------------------------------------------------------------

@dataclass
class WorkerInput:
    id_number: str
    name: str
    phone: str = ""
    address: str = ""
    county: str = ""


@dataclass
class EmployerInput:
    credit_code: str
    name: str
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""


@dataclass
class DeterminationInput:
    number: str
    injury_date: dt.date
    determination_date: dt.date
    injured_parts: str
    diagnosis: str


def worker_upsert(data: WorkerInput, *, today: dt.date | None = None) -> Worker:
    """Find the worker by ID number or create them; birth date and sex come from the number."""
    try:
        parsed = parse_resident_id(data.id_number, today=today)
    except ValidationError as exc:
        raise _fail("id_number", exc) from None
    name = data.name.strip()
    if not name:
        raise _fail("name", _("Enter the worker's name."))
    worker, created = Worker.objects.get_or_create(
        id_number_index=Worker.index_of(parsed.number),
        defaults={"id_number": parsed.number, "name": name, "birth_date": parsed.birth_date, "sex": parsed.sex, "phone": data.phone,
                  "address": data.address, "county": data.county},
    )
    if not created:
        changed = {k: v for k, v in (("phone", data.phone), ("address", data.address), ("county", data.county))
                   if v and getattr(worker, k) != v}
        for key, value in changed.items():
            setattr(worker, key, value)
        if changed:
            worker.save(update_fields=[*changed, "updated_at"])
    return worker


def employer_upsert(data: EmployerInput) -> Employer:
    try:
        code = normalize_credit_code(data.credit_code)
    except ValidationError as exc:
        raise _fail("credit_code", exc) from None
    name = data.name.strip()
    if not name:
        raise _fail("employer_name", _("Enter the employer's name."))
    employer, _created = Employer.objects.get_or_create(
        credit_code=code,
        defaults={"name": name, "address": data.address, "contact_name": data.contact_name,
                  "contact_phone": data.contact_phone},
    )
    return employer


def determination_create(data: DeterminationInput, *, worker: Worker, employer: Employer,
                         today: dt.date) -> InjuryDetermination:
    """Record an injury determination after checking its dates make sense."""
    if data.injury_date > today:
        raise _fail("injury_date", _("The injury date cannot be in the future."))
    if data.injury_date < worker.birth_date:
        raise _fail("injury_date", _("The injury date cannot be before the worker was born."))
    if data.determination_date < data.injury_date:
        raise _fail("determination_date", _("The determination date cannot be before the injury date."))
    if data.determination_date > today:
        raise _fail("determination_date", _("The determination date cannot be in the future."))
    number = data.number.strip()
    if not number:
        raise _fail("determination_number", _("Enter the number of the injury determination."))
    existing = InjuryDetermination.objects.filter(number=number).first()
    if existing is not None:
        if existing.worker_id != worker.pk:
            raise _fail("determination_number",
                        _("This determination number is already recorded for another worker."))
        return existing
    return InjuryDetermination.objects.create(
        number=number, worker=worker, employer=employer, injury_date=data.injury_date,
        determination_date=data.determination_date, injured_parts=data.injured_parts.strip(),
        diagnosis=data.diagnosis.strip(),
    )


# CASE NUMBERS -------------------------------------------------------------------------------------

def next_seq(committee: Committee, year: int, kind: str = "case") -> int:
    """Issue the next number of a kind (case, conclusion, …); the UPDATE locks the counter row until commit."""
    counter, _created = CaseNumberSequence.objects.get_or_create(committee=committee, kind=kind, year=year)
    CaseNumberSequence.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db(fields=["last"])
    return counter.last


def _assign_number(case: Case, today: dt.date) -> None:
    if case.number:
        return
    case.year = today.year
    case.seq = next_seq(case.committee, today.year)
    case.number = case.committee.format_case_number(case.year, case.seq)


# REGISTRATION -------------------------------------------------------------------------------------

def case_register(
    *,
    actor: User,
    committee: Committee,
    worker: WorkerInput,
    employer: EmployerInput,
    determination: DeterminationInput,
    case_type: str,
    applicant_kind: str,
    mode: str,
    applicant_name: str = "",
    applicant_user: User | None = None,
    applicant_phone: str = "",
    mode_reason: str = "",
    notice_version: str = "",
    submit: bool = True,
    number: str | None = None,
    today: dt.date | None = None,
    at: dt.datetime | None = None,
    ip_address: str = "",
) -> Case:
    """Register an application (at the counter, or as an online draft) with its parties.

    All or nothing: a bad ID number, credit code, date or a duplicate case number saves nothing.
    ``notice_version`` is the personal-information notice (``core.notices``) the applicant was shown
    and acknowledged (SEC-61); it is stored with the time of registration. The intake forms require
    it; batch loaders of paper files leave it empty.
    """
    today = today or clocks.today()
    notice_version = (notice_version or "").strip()
    if notice_version and notices.get(notice_version) is None:
        raise _fail("notice_version", _("Unknown version of the personal-information notice."))
    if not actor.has_perm("cases.register_case") and not actor.has_perm("cases.submit_case"):
        raise PermissionDeniedError()
    if actor.committee_id and actor.committee_id != committee.pk:
        raise PermissionDeniedError()
    case = Case(committee=committee, case_type=case_type, applicant_kind=applicant_kind, mode=mode,
                mode_reason=(mode_reason or "").strip(), applicant_user=applicant_user,
                applicant_phone=(applicant_phone or "").strip(), status=Status.DRAFT,
                notice_version=notice_version, notice_acknowledged_at=(at or timezone.now()) if notice_version else None)
    try:
        case.clean_fields(exclude=["committee", "worker", "employer", "determination", "applicant_user"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(messages[0], extra={"fields": exc.message_dict}) from None
    try:
        with transaction.atomic():
            w = worker_upsert(worker, today=today)
            e = employer_upsert(employer)
            d = determination_create(determination, worker=w, employer=e, today=today)
            case.worker, case.employer, case.determination = w, e, d
            case.applicant_name = applicant_name or w.name
            if number:
                if Case.objects.filter(committee=committee, number=number.strip()).exists():
                    raise _fail("number", _("Case number %(number)s is already in use.") % {"number": number})
                case.number = number.strip()
            if submit:
                other = open_case_of_injury(case)
                if other is not None:
                    raise ValidationFailed(open_case_message(other), code="open_case_of_injury")
                case.status = Status.SUBMITTED
                case.received_on = today
                _assign_number(case, today)
            clocks.refresh(case)
            case.save()
            TimelineEntry.objects.create(case=case, at=at or timezone.now(), actor=actor, action="register",
                                         to_status=case.status)
            audit.record("case.register", actor=actor, obj=case, committee=committee,
                         after={"number": case.number, "notice_version": case.notice_version, **_snapshot(case)},
                         ip_address=ip_address)
    except IntegrityError as exc:
        if is_open_case_clash(exc):  # the same injury registered at the same moment (REL-21)
            raise ValidationFailed(str(OPEN_CASE_CLASH),
                                   code="open_case_of_injury") from exc
        raise ValidationFailed(_("This case conflicts with one already saved (duplicate number)."),
                               code="duplicate") from exc
    return case


# TRANSITIONS --------------------------------------------------------------------------------------



def transition(
    case_id: int,
    name: str,
    *,
    actor: User,
    note: str = "",
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    today: dt.date | None = None,
    at: dt.datetime | None = None,
    ip_address: str = "",
) -> Case:
    """Fire workflow step ``name`` on a case.

    Order of checks: the case must be visible (else 404), the user must hold the step's
    permission, the case must be in a state the step leaves from, every guard must pass.
    ``today``/``at`` default to now; only batch loaders (the demo city, imports of paper files)
    pass earlier ones, and the audit trail always records the real time.
    The status changes with a compare-and-set on (status, version): if someone else moved the
    case first, exactly one of the two wins and the other gets ConflictError; nothing is half-written.
    """
    try:
        return _transition(case_id, name, actor=actor, note=note, data=data, expected_version=expected_version,
                           today=today, at=at, ip_address=ip_address)
    except IntegrityError as exc:
        if not is_open_case_clash(exc):
            raise
        # Submitted at the same moment as another case of the injury (REL-21): the guard could not see it.
        raise TransitionRefused(str(OPEN_CASE_CLASH),
                                code="open_case_of_injury") from exc


def _transition(case_id: int, name: str, *, actor: User, note: str, data: dict[str, Any] | None,
                expected_version: int | None, today: dt.date | None, at: dt.datetime | None,
                ip_address: str) -> Case:
    step = get_transition(name)
    note = (note or "").strip()
    ctx = Context(actor=actor, note=note, data=dict(data or {}), today=today or clocks.today())
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        if expected_version is not None and case.version != expected_version:
            raise ConflictError()
        if not actor.has_perm(step.permission):
            raise PermissionDeniedError(
                _("Your role cannot “%(action)s”.") % {"action": step.label}
            )
        if not step.leaves(case.status):
            raise TransitionRefused(
                _("“%(action)s” is not possible while the case is “%(status)s”.")
                % {"action": step.label, "status": case.get_status_display()},
                code="illegal_transition",
            )
        if step.note_required and not note:
            raise TransitionRefused(
                _("%(what)s: this cannot be left empty.") % {"what": step.note_label or _("Note")},
                code="note_required",
            )
        for guard in guards_for(step):
            guard(case, ctx)

        before = _snapshot(case)
        old_status, old_version = case.status, case.version
        for effect in step.effects:
            effect(case, ctx)
        if step.target:
            case.status = step.target
        retention.on_status(case, ctx.today)  # SEC-64: the retention class, once the case closes
        if case.status != Status.DRAFT:
            _assign_number(case, ctx.today)
        warnings = clocks.refresh(case)
        case.version = old_version + 1
        fields = [f.attname for f in Case._meta.concrete_fields if f.attname not in {"id", "created_at"}]
        case.updated_at = timezone.now()
        updated = Case.objects.filter(pk=case.pk, status=old_status, version=old_version).update(
            **{f: getattr(case, f) for f in fields}
        )
        if updated != 1:
            raise ConflictError()
        after = _snapshot(case)
        TimelineEntry.objects.create(
            case=case, at=at or timezone.now(), actor=actor, action=step.name, from_status=old_status,
            to_status=case.status, note=note,
            data={k: v for k, v in ctx.data.items() if isinstance(v, str | int | bool)}
            | ({"warnings": [str(w) for w in warnings]} if warnings else {}),
        )
        changed_before, changed_after = audit.changes(before, after)
        audit.record(f"case.{step.name}", actor=actor, obj=case, committee=case.committee,
                     before=changed_before, after={**changed_after, "note": note} if note else changed_after,
                     ip_address=ip_address)
        event = TransitionEvent(case_id=case.pk, name=step.name, from_status=old_status, to_status=case.status,
                                actor_id=actor.pk, note=note, backdated=at is not None)
        for listener in listeners():
            transaction.on_commit(partial(listener, event))
    return case


def assignment_add(case: Case, user: User, role: str, *, actor: User,
                   at: dt.datetime | None = None) -> CaseAssignment:
    """Put a user on a case (a clerk, a reviewer, a panel expert, a leader)."""
    with transaction.atomic():
        assignment, created = CaseAssignment.objects.update_or_create(
            case=case, user=user, role=role, defaults={"active": True}
        )
        TimelineEntry.objects.create(case=case, at=at or timezone.now(), actor=actor, action="assign",
                                     data={"role": role, "user": str(user)})
        audit.record("case.assign", actor=actor, obj=case, committee=case.committee,
                     after={"user_id": user.pk, "role": role})
    return assignment


def system_actor(committee: Committee) -> User:
    """The committee's own account for steps the rules take by themselves (it cannot sign in)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(
        username=f"system-{committee.code}",
        defaults={"committee": committee, "display_name": _("System (automatic rules)")},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(*Group.objects.filter(name__in=("clerk", "system")))  # idempotent
    return user


def close_uncorrected(*, today: dt.date | None = None) -> list[Case]:
    """Close every application whose correction notice went unanswered past the committee's limit."""
    today = today or clocks.today()
    closed = []
    due = Case.objects.filter(status=Status.CORRECTION_REQUESTED, correction_due__lt=today).select_related("committee")
    for case in due.order_by("id"):
        actor = system_actor(case.committee)
        try:
            closed.append(transition(
                case.pk, "close_uncorrected", actor=actor, today=today,
                note=_("The corrections asked for on %(date)s did not arrive by %(due)s.")
                % {"date": case.correction_requested_on, "due": case.correction_due},
            ))
        except (ConflictError, TransitionRefused):
            continue  # someone acted on it meanwhile
    return closed


def assignment_end(case_id: int, user_ids: list[int], role: str, *, actor: User) -> int:
    """Take users off a case in one capacity (a panel expert who declined, a cancelled panel)."""
    with transaction.atomic():
        ended = CaseAssignment.objects.filter(case_id=case_id, user_id__in=user_ids, role=role,
                                              active=True).update(active=False)
        if ended:
            audit.record("case.unassign", actor=actor, object_type="cases.case", object_id=str(case_id),
                         committee=Case.objects.only("committee").get(pk=case_id).committee,
                         after={"user_ids": sorted(user_ids), "role": role})
    return ended


def timeline_add(case_id: int, action: str, *, actor: User | None, at: dt.datetime | None = None,
                 note: str = "", data: dict[str, Any] | None = None) -> TimelineEntry:
    """Put an event of another app on a case's timeline (a draw, a decline): what the user sees."""
    return TimelineEntry.objects.create(case_id=case_id, at=at or timezone.now(), actor=actor, action=action,
                                        note=note, data=data or {})


__all__ = [
    "DeterminationInput", "EmployerInput", "TransitionRefused", "WorkerInput", "assignment_add", "assignment_end",
    "next_seq", "timeline_add",
    "case_register", "determination_create", "employer_upsert", "transition", "worker_upsert",
]


def case_label(case_id: int, sensitivity: str, *, actor: User, reason: str, ip_address: str = "") -> Case:
    """Set a case's sensitivity label (issue 10): a leader, with a reason, audited. The label narrows
    who of the committee's staff sees the case (``selectors.cases_visible_to``); the people who work on
    it keep it."""
    if not actor.has_perm("cases.label_case"):
        raise PermissionDeniedError()
    if sensitivity not in Sensitivity.values:
        raise ValidationFailed(_("Choose a sensitivity label."), code="bad_label", extra={"fields": {"sensitivity": []}})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the label: the audit trail keeps it."), code="no_reason",
                               extra={"fields": {"reason": []}})
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        before = case.sensitivity
        if before == sensitivity:
            return case
        Case.objects.filter(pk=case.pk).update(sensitivity=sensitivity, updated_at=timezone.now())
        case.sensitivity = sensitivity
        audit.record("case.sensitivity", actor=actor, obj=case, committee=case.committee, ip_address=ip_address,
                     before={"sensitivity": before}, after={"sensitivity": sensitivity, "reason": reason})
    return case
