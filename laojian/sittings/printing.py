"""Printable appointment notices (鉴定通知): what one A4 sheet tells the worker. Reads only.

The same facts as the SMS (``services._notice_context``): committee, case number, time, place,
what to bring; on paper the worker's full name, the room and, for a sitting, the queue procedure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from laojian.cases.models import Mode
from laojian.sittings import selectors
from laojian.sittings.models import Appointment, Sitting


@dataclass
class Notice:
    appointment_id: int
    committee: str
    number: str
    worker: str
    mode: str
    when: str
    place: str
    room: str
    bring: str
    directions: str
    video_room: str
    procedure: list[str] = field(default_factory=list)


def sitting_procedure() -> list[str]:
    """How the day runs for the worker, printed on every sitting notice."""
    return [
        _("Come to the sign-in desk at the venue at least 15 minutes before your time, with your ID card."),
        _("The desk checks your ID card and photo and gives you a queue number."),
        _("Wait in the waiting room: the screen shows the number each room calls. Go to your room when your number is called."),
        _("If you cannot come, call the committee before the day: an absence without good reason ends the appraisal."),
    ]


def notice_of(appointment: Appointment) -> Notice:
    case = appointment.case
    committee = case.committee
    venue = appointment.sitting.venue if appointment.sitting_id else None
    procedure = sitting_procedure() if appointment.mode == Mode.SITTING else [
        _("Bring your ID card. If you cannot come at this time, call the committee before the day: an absence "
          "without good reason ends the appraisal.")]
    return Notice(
        appointment_id=appointment.pk, committee=committee.name, number=case.number or "",
        worker=case.worker.name, mode=str(appointment.get_mode_display()),
        when=selectors.when_text(appointment.starts_at, appointment.ends_at), place=appointment.place,
        room=appointment.group.room.name if appointment.group_id else "", bring=appointment.bring,
        directions=venue.directions if venue else "", video_room=appointment.video_room, procedure=procedure)


def _with_related(qs: QuerySet[Appointment]) -> QuerySet[Appointment]:
    return qs.select_related("case__committee", "case__worker", "sitting__venue", "group__room")


def sitting_notices(sitting: Sitting) -> list[Notice]:
    """One notice per worker with a live appointment on the sitting, in room and time order."""
    qs = _with_related(sitting.appointments.filter(state__in=Appointment.LIVE)).order_by(
        "group__order", "starts_at", "id")
    return [notice_of(a) for a in qs]


def appointment_notice(appointment_id: int, committee_id: int) -> Notice | None:
    appointment = _with_related(Appointment.objects.filter(pk=appointment_id, committee_id=committee_id)).first()
    return notice_of(appointment) if appointment else None
