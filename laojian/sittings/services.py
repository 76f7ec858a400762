"""Writes: booking an appointment in any mode, moving and cancelling it, the day itself
(sign-in, the called queue, examined), attendance and its consequences, extra examinations,
and planning a sitting (grouping its cases into rooms and drawing one panel per room).

Every call is atomic and audited. Bookings of one committee are serialised by locking the
committee's scheduling-rules row (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE),
so the double-booking check and the insert cannot interleave with another clerk's.
The case's own steps (schedule, reschedule, record_examination, terminate) go through
``cases.services.transition`` inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases import services as case_services
from laojian.cases.models import Case, Mode, Status
from laojian.cases.selectors import case_for_update
from laojian.core import audit
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.validators import mask_name
from laojian.sittings import notifications, selectors, video
from laojian.sittings.guards import through_appointment
from laojian.sittings.models import (
    DEFAULT_BRING,
    Appointment,
    SchedulingRules,
    Sitting,
    SittingGroup,
)

if TYPE_CHECKING:
    from laojian.core.models import Committee, User

PLAN = "sittings.plan_sitting"
DESK = "sittings.run_sign_in_desk"

# A first appointment moves the case to "scheduled"; a later one (after a cancellation) keeps it there.
BOOKABLE_STATES = frozenset({Status.REVIEWED, Status.SCHEDULED})


def require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDeniedError()


def invalid(message: str, field_name: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, extra={"fields": {field_name: [message]}})


def lock_schedule(committee: Committee) -> SchedulingRules:
    """Take the committee's scheduling lock (its rules row) for the rest of the transaction."""
    rules, _created = SchedulingRules.objects.get_or_create(committee=committee)
    if connection.features.has_select_for_update:
        rules = SchedulingRules.objects.select_for_update().get(pk=rules.pk)
    return rules


# THE DATE ----------------------------------------------------------------------------------------

def check_day(day: dt.date, *, non_working_reason: str = "", today: dt.date) -> list[str]:
    """Refuse a date in the past, and a weekend or holiday unless the planner says why.

    Returns warnings: a year without a holiday schedule is judged by the weekday alone, and says so.
    """
    if day < today:
        raise invalid(_("%(date)s is in the past.") % {"date": day.isoformat()}, "date", "date_in_past")
    warnings: list[str] = []
    try:
        workday = WorkingCalendar.for_range(day, day).is_workday(day)
    except CalendarYearMissing as exc:
        workday = day.weekday() < 5
        warnings.append(exc.message)
    if not workday and not non_working_reason.strip():
        raise invalid(_("%(date)s is not a working day. Choose another day, or say why the appraisal is held "
                         "on it.") % {"date": day.isoformat()}, "non_working_reason", "non_working_day")
    return warnings


def _check_notice(rules: SchedulingRules, day: dt.date, today: dt.date, short_notice_reason: str) -> str:
    """The worker is told at least the committee's lead time ahead, or the planner says why not."""
    lead = (day - today).days
    if lead >= rules.notice_lead_days:
        return ""
    reason = short_notice_reason.strip()
    if not reason:
        raise invalid(
            _("The notice would reach the worker %(lead)s days ahead; the committee's lead time is %(days)s days. "
              "Choose a later date or give the reason for the short notice.")
            % {"lead": lead, "days": rules.notice_lead_days}, "short_notice_reason", "short_notice")
    return reason


# BOOKING -----------------------------------------------------------------------------------------

@dataclass
class Booking:
    """What a booking asks for; which fields matter depends on the mode."""

    mode: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str = ""
    bring: str = ""
    group_id: int | None = None  # sitting: the room (its sitting follows)
    expert_id: int | None = None  # clinic: the roster's expert
    roster_entry_id: int | None = None
    address: str = ""  # home visit
    staff_member_id: int | None = None
    family_phone: str = ""
    local_doctor: str = ""  # remote
    non_working_reason: str = ""
    short_notice_reason: str = ""
    extra_experts: dict[int, str] = field(default_factory=dict)  # user id → name, also held by the booking
    notify_experts: bool = True  # a sitting room tells its panel once for the room (planning.sitting_fill)


def _check_booking(case: Case, booking: Booking) -> None:
    if booking.mode not in Mode.values:
        raise invalid(_("Unknown appraisal mode."), "mode", "bad_mode")
    if booking.ends_at <= booking.starts_at:
        raise invalid(_("The appointment must end after it starts."), "ends_at", "time_order")
    if booking.starts_at < timezone.now():
        raise invalid(_("%(when)s is in the past.") % {"when": selectors.when_text(booking.starts_at)},
                       "starts_at", "slot_in_past")
    if booking.mode == Mode.SITTING and booking.group_id is None:
        raise invalid(_("A sitting appointment needs a sitting room."), "group", "no_group")
    if booking.mode == Mode.CLINIC and booking.expert_id is None:
        raise invalid(_("A clinic appointment needs the expert on duty."), "expert", "no_expert")
    if booking.mode == Mode.HOME:
        if not (booking.address or case.worker.address).strip():
            raise invalid(_("Enter the address to visit."), "address", "no_address")
        if booking.staff_member_id is None:
            raise invalid(_("Choose the staff member who checks the worker's identity."), "staff_member",
                           "no_staff_member")


def _place_of(case: Case, booking: Booking, group: SittingGroup | None) -> str:
    if booking.place.strip():
        return booking.place.strip()
    if group is not None:
        venue = group.sitting.venue
        return f"{venue.name}（{venue.address}）{group.room.name}"
    if booking.mode == Mode.HOME:
        return (booking.address or case.worker.address).strip()
    if booking.mode == Mode.REMOTE:
        return _("video appraisal")
    return ""


def _conflict_error(found: list[selectors.Conflict]) -> ValidationFailed:
    messages = list(dict.fromkeys(c.message for c in found))
    return ValidationFailed(" ".join(messages), code="double_booked", extra={"fields": {"starts_at": messages},
                                                                             "conflicts": messages})


def _experts_of_booking(case: Case, booking: Booking) -> dict[int, str]:
    experts = selectors.panel_experts(case) | booking.extra_experts
    if booking.expert_id is not None:
        from laojian.experts.selectors import expert_names

        expert = expert_names([booking.expert_id]).get(booking.expert_id)
        if expert is None or expert.committee_id != case.committee_id or expert.user_id is None:
            raise invalid(_("Choose an expert of this committee."), "expert", "bad_expert")
        experts[expert.user_id] = expert.name
    return experts


def _book_locked(case: Case, booking: Booking, *, actor: User, rules: SchedulingRules, today: dt.date,
                 at: dt.datetime, previous: Appointment | None = None, check_lead: bool = True) -> Appointment:
    """Book inside the caller's transaction, with the schedule lock held and the case locked."""
    _check_booking(case, booking)
    group = None
    if booking.group_id is not None:
        group = (SittingGroup.objects.select_related("sitting__venue", "room")
                 .filter(pk=booking.group_id, sitting__committee=case.committee).first())
        if group is None or group.sitting.state != Sitting.State.PLANNED:
            raise invalid(_("Choose a room of a planned sitting of this committee."), "group", "bad_group")
    day = selectors.local(booking.starts_at).date()
    reason = booking.non_working_reason or (group.sitting.non_working_reason if group else "")
    warnings = check_day(day, non_working_reason=reason, today=today)
    lead_warning = _check_notice(rules, day, today, booking.short_notice_reason) if check_lead else ""
    experts = _experts_of_booking(case, booking)
    half = selectors.half_of(rules, booking.starts_at)
    found = selectors.conflicts(
        start=booking.starts_at, end=booking.ends_at, worker_ids=[case.worker_id], experts=experts,
        room_ids=[group.room_id] if group else [], exclude=[previous.pk] if previous else [],
        same_group=group.pk if group else None,
        roster_day=(day, half) if half and booking.mode != Mode.CLINIC else None)
    if found:
        raise _conflict_error(found)
    appointment = Appointment(
        case=case, committee=case.committee, mode=booking.mode, starts_at=booking.starts_at,
        ends_at=booking.ends_at, place=_place_of(case, booking, group),
        bring=booking.bring.strip() or (group.sitting.bring if group else DEFAULT_BRING),
        sitting=group.sitting if group else None, group=group, expert_id=booking.expert_id,
        roster_entry_id=booking.roster_entry_id,
        address=(booking.address or case.worker.address).strip() if booking.mode == Mode.HOME else "",
        staff_member_id=booking.staff_member_id if booking.mode == Mode.HOME else None,
        family_phone=booking.family_phone.strip(), local_doctor=booking.local_doctor.strip(),
        previous=previous, lead_warning=lead_warning, created_by=actor)
    if booking.mode == Mode.REMOTE:
        appointment.video_room = video.provider().room_for(case, booking.starts_at)
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as exc:
        raise ConflictError(_("This case or this slot was booked by someone else at the same moment. "
                              "Reload the page and choose again."), code="booked_meanwhile") from exc
    case_services.timeline_add(case.pk, "appointment_booked", actor=actor, at=at, data={
        "appointment": appointment.pk, "mode": booking.mode, "when": selectors.when_text(booking.starts_at),
        "place": appointment.place, **({"warnings": warnings} if warnings else {}),
        **({"short_notice": lead_warning} if lead_warning else {})})
    audit.record("appointment.book", actor=actor, obj=appointment, committee=case.committee, after={
        "case_id": case.pk, "mode": booking.mode, "starts_at": booking.starts_at, "ends_at": booking.ends_at,
        "place": appointment.place, "previous": previous.pk if previous else None,
        **({"short_notice": lead_warning} if lead_warning else {})})
    if booking.mode != case.mode:
        _change_mode(case, booking.mode, actor=actor)
    return appointment


def _change_mode(case: Case, mode: str, *, actor: User) -> None:
    """The committee books the case in another mode than asked for: the mode (and its service target) follow."""
    before = case.mode
    case.mode = mode
    clocks.refresh(case)
    Case.objects.filter(pk=case.pk).update(mode=mode, target_due=case.target_due, next_due=case.next_due,
                                           clock_basis=case.clock_basis)
    audit.record("case.mode", actor=actor, obj=case, committee=case.committee, before={"mode": before},
                 after={"mode": mode})


def _notice_context(appointment: Appointment, case: Case, **extra: Any) -> dict[str, Any]:
    return {"committee": case.committee.short_name or case.committee.name, "number": case.number or "",
            "when": selectors.when_text(appointment.starts_at, appointment.ends_at), "place": appointment.place,
            "mode": str(appointment.get_mode_display()), "bring": appointment.bring,
            "masked_name": mask_name(case.worker.name), **extra}


def _notify_booked(appointment: Appointment, case: Case, *, worker_template: str, expert_template: str,
                   experts: bool = True, **extra: Any) -> None:
    """The worker (applicant), a home visit's family and the experts hear of the booking after commit."""
    from laojian.experts.selectors import expert_names
    from laojian.notify.listeners import applicant_phone

    context = _notice_context(appointment, case, **extra)
    phone, _why = applicant_phone(case)
    key = f"{worker_template}:{appointment.pk}"
    notifications.send(worker_template, phone, context, case_id=case.pk, committee_id=case.committee_id,
                       key=key)
    if appointment.mode == Mode.HOME and appointment.family_phone and worker_template == notifications.BOOKED:
        notifications.send(notifications.FAMILY_VISIT, appointment.family_phone, context, case_id=case.pk,
                           committee_id=case.committee_id, key=f"{notifications.FAMILY_VISIT}:{appointment.pk}")
    if not experts:
        return
    ids = panel_expert_ids(case)
    if appointment.expert_id:
        ids.append(appointment.expert_id)
    for expert in expert_names(sorted(set(ids))).values():
        notifications.send(expert_template, expert.phone, context, case_id=case.pk, committee_id=case.committee_id,
                           key=f"{expert_template}:{appointment.pk}:{expert.pk}")


def panel_expert_ids(case: Case) -> list[int]:
    """The experts (pool records, not users) seated on the case's panel."""
    from laojian.experts.selectors import experts_of_users

    return list(experts_of_users(sorted(set(selectors.panel_experts(case)))).values())


def appointment_book(case_id: int, booking: Booking, *, actor: User, today: dt.date | None = None,
                     at: dt.datetime | None = None, ip_address: str = "") -> Appointment:
    """Book a case's appointment in any mode and schedule the case (its first appointment).

    Refused, with nothing saved: a time in the past, a non-working day without a reason, notice
    shorter than the committee's lead time without a reason, the worker, an expert or the room
    already booked at an overlapping time (the message says who and when), a case that is not
    waiting for its appraisal or already has a live appointment.
    """
    require(actor, PLAN)
    today = today or clocks.today()
    at = at or timezone.now()
    with transaction.atomic():
        case = case_for_update(actor, case_id, related=("committee", "worker"))
        rules = lock_schedule(case.committee)
        if case.status not in BOOKABLE_STATES:
            raise ValidationFailed(
                _("An appointment is booked after the preliminary review, not while the case is “%(status)s”.")
                % {"status": case.get_status_display()}, code="not_bookable")
        if selectors.live_appointment(case) is not None:
            raise ConflictError(_("This case already has an appointment: move or cancel it instead."),
                                code="already_booked")
        appointment = _book_locked(case, booking, actor=actor, rules=rules, today=today, at=at)
        if case.status == Status.REVIEWED:
            with through_appointment():
                case_services.transition(case.pk, "schedule", actor=actor, today=today, ip_address=ip_address,
                                         data={"appointment": appointment.pk, "mode": booking.mode,
                                               "when": selectors.when_text(booking.starts_at)})
        _notify_booked(appointment, case, worker_template=notifications.BOOKED,
                       expert_template=notifications.EXPERT_BOOKED, experts=booking.notify_experts)
    return appointment


def appointment_for_update(actor: User, appointment_id: int) -> tuple[Appointment, Case]:
    row = Appointment.objects.filter(pk=appointment_id).values_list("case_id", flat=True).first()
    if row is None:
        raise NotFoundError()
    case = case_for_update(actor, row, related=("committee", "worker"))
    qs = Appointment.objects.select_related("group__room", "sitting__venue", "expert")
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    return qs.get(pk=appointment_id), case


def require_live(appointment: Appointment) -> None:
    if not appointment.is_live:
        raise ConflictError(_("This appointment is “%(state)s”: nothing more can be changed on it.")
                            % {"state": appointment.get_state_display()}, code="appointment_closed")


def close(appointment: Appointment, state: str, *, actor: User, note: str, at: dt.datetime) -> None:
    appointment.state = state
    appointment.outcome_note = note
    appointment.outcome_at = at
    appointment.outcome_by = actor
    appointment.save(update_fields=["state", "outcome_note", "outcome_at", "outcome_by", "updated_at"])


def _moved_booking(old: Appointment, starts_at: dt.datetime, ends_at: dt.datetime, place: str) -> Booking:
    return Booking(mode=old.mode, starts_at=starts_at, ends_at=ends_at, place=place or old.place, bring=old.bring,
                   group_id=old.group_id, expert_id=old.expert_id, roster_entry_id=old.roster_entry_id,
                   address=old.address, staff_member_id=old.staff_member_id, family_phone=old.family_phone,
                   local_doctor=old.local_doctor,
                   non_working_reason=old.sitting.non_working_reason if old.sitting_id else "")


def appointment_move(appointment_id: int, *, actor: User, starts_at: dt.datetime, ends_at: dt.datetime,
                     reason: str, worker_requested: bool, excused_absence: bool = False, place: str = "",
                     group_id: int | None = None, expert_id: int | None = None,
                     short_notice_reason: str = "", today: dt.date | None = None,
                     at: dt.datetime | None = None) -> Appointment:
    """Move an appointment (reschedule), or rebook a worker who was absent with good reason.

    When the worker asked for it, or could not come for good reason, the conclusion deadline moves
    by the same number of days as the appointment (the case's ``reschedule`` step records it).
    The old appointment is kept, marked rescheduled (or absent with good reason); everyone on the
    new one is told.
    """
    require(actor, PLAN)
    reason = (reason or "").strip()
    if not reason:
        raise invalid(_("Give the reason the appointment moves."), "reason", "no_reason")
    today = today or clocks.today()
    at = at or timezone.now()
    with transaction.atomic():
        old, case = appointment_for_update(actor, appointment_id)
        rules = lock_schedule(case.committee)
        require_live(old)
        if excused_absence and old.starts_at > at:
            raise invalid(_("The worker can be marked absent only once the appointment has begun."),
                           "starts_at", "absence_before_appointment")
        booking = _moved_booking(old, starts_at, ends_at, place)
        if group_id is not None:
            booking.group_id, booking.place = group_id, place
        if expert_id is not None:
            booking.expert_id = expert_id
        booking.short_notice_reason = short_notice_reason
        close(old, Appointment.State.EXCUSED if excused_absence else Appointment.State.RESCHEDULED, actor=actor,
               note=reason, at=at)
        new = _book_locked(case, booking, actor=actor, rules=rules, today=today, at=at, previous=old)
        shift = (selectors.local(new.starts_at).date() - selectors.local(old.starts_at).date()).days
        counts = (worker_requested or excused_absence) and shift > 0
        with through_appointment():
            case_services.transition(case.pk, "reschedule", actor=actor, today=today, note=reason,
                                     data={"worker_requested": counts, "shift_days": shift if counts else 0,
                                           "appointment": new.pk, "when": selectors.when_text(new.starts_at)})
        _notify_booked(new, case, worker_template=notifications.MOVED, expert_template=notifications.EXPERT_MOVED,
                       reason=reason)
    return new


def appointment_cancel(appointment_id: int, *, actor: User, reason: str, at: dt.datetime | None = None) -> Appointment:
    """Cancel an appointment with a reason; the case waits for a new one (its deadline does not move)."""
    require(actor, PLAN)
    reason = (reason or "").strip()
    if not reason:
        raise invalid(_("Give the reason for cancelling."), "reason", "no_reason")
    at = at or timezone.now()
    with transaction.atomic():
        appointment, case = appointment_for_update(actor, appointment_id)
        require_live(appointment)
        close(appointment, Appointment.State.CANCELLED, actor=actor, note=reason, at=at)
        case_services.timeline_add(case.pk, "appointment_cancelled", actor=actor, at=at, note=reason,
                                   data={"appointment": appointment.pk})
        audit.record("appointment.cancel", actor=actor, obj=appointment, committee=case.committee,
                     after={"case_id": case.pk, "reason": reason})
        _notify_booked(appointment, case, worker_template=notifications.CANCELLED,
                       expert_template=notifications.EXPERT_CANCELLED, reason=reason)
    return appointment


# ATTENDANCE --------------------------------------------------------------------------------------

ABSENCE_NOTES = {
    Appointment.State.ABSENT: "无正当理由未参加鉴定",
    Appointment.State.REFUSED: "拒不接受劳动能力鉴定委员会安排的检查",
}


def attendance_terminate(appointment_id: int, outcome: str, *, actor: User, note: str,
                         today: dt.date | None = None, at: dt.datetime | None = None) -> Appointment:
    """Absent without good reason, or refused an ordered examination: the appraisal terminates (终止).

    The case's ``terminate`` step records it and issues the termination notice.
    """
    if outcome not in ABSENCE_NOTES:
        raise invalid(_("Unknown attendance outcome."), "outcome", "bad_outcome")
    note = (note or "").strip()
    if not note:
        raise invalid(_("Say what happened (it is printed on the termination notice)."), "note", "no_note")
    at = at or timezone.now()
    with transaction.atomic():
        appointment, case = appointment_for_update(actor, appointment_id)
        require(actor, "cases.terminate_case")
        if outcome == Appointment.State.ABSENT:
            require_live(appointment)
            if appointment.starts_at > at:
                raise invalid(_("The worker can be marked absent only once the appointment has begun."),
                               "starts_at", "absence_before_appointment")
        elif appointment.state not in (*Appointment.LIVE, Appointment.State.EXAMINED):
            require_live(appointment)
        close(appointment, outcome, actor=actor, note=note, at=at)
        audit.record("appointment.attendance", actor=actor, obj=appointment, committee=case.committee,
                     after={"case_id": case.pk, "outcome": outcome, "note": note})
        with through_appointment():
            case_services.transition(case.pk, "terminate", actor=actor, today=today,
                                     note=f"{ABSENCE_NOTES[outcome]}：{note}", data={"appointment": appointment.pk})
    return appointment
