"""Extra examinations the panel orders (which, where, by when) and their results."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.selectors import case_for_update
from laojian.core import audit
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.sittings import notifications, selectors
from laojian.sittings.models import ExtraExamination
from laojian.sittings.services import PLAN, invalid

if TYPE_CHECKING:
    from laojian.core.models import User

# EXTRA EXAMINATIONS ------------------------------------------------------------------------------

def extra_examination_order(case_id: int, *, actor: User, what: str, where: str, due: dt.date,
                            appointment_id: int | None = None, today: dt.date | None = None,
                            at: dt.datetime | None = None) -> ExtraExamination:
    """The panel (or the clerk for it) orders an extra examination: which, where, by when.
    The case then waits for the result, and the case page says so."""
    today = today or clocks.today()
    what, where = (what or "").strip(), (where or "").strip()
    if not what:
        raise invalid(_("Say which examination is needed."), "what", "no_what")
    if not where:
        raise invalid(_("Say where the examination is done."), "where", "no_where")
    if due < today:
        raise invalid(_("%(date)s is in the past.") % {"date": due.isoformat()}, "due", "date_in_past")
    with transaction.atomic():
        case = case_for_update(actor, case_id, related=("committee", "worker"))
        if not (actor.has_perm(PLAN) or actor.pk in selectors.panel_experts(case)):
            raise PermissionDeniedError()
        if case.status not in (Status.SCHEDULED, Status.EXAMINED, Status.DIFFICULT):
            raise ValidationFailed(_("Extra examinations are ordered once the case is scheduled, not while it is "
                                     "“%(status)s”.") % {"status": case.get_status_display()}, code="wrong_state")
        exam = ExtraExamination.objects.create(case=case, appointment_id=appointment_id, what=what, where=where,
                                               due=due, ordered_by=actor)
        case_services.timeline_add(case.pk, "extra_examination_ordered", actor=actor, at=at,
                                   note=f"{what}（{where}）", data={"due": due.isoformat()})
        audit.record("appointment.extra_examination", actor=actor, obj=exam, committee=case.committee,
                     after={"case_id": case.pk, "what": what, "where": where, "due": due})
        from laojian.notify.listeners import applicant_phone

        phone, _why = applicant_phone(case)
        notifications.send(notifications.EXTRA_EXAMINATION, phone,
                           {"committee": case.committee.short_name, "number": case.number or "", "what": what,
                            "where": where, "due": f"{due.year}年{due.month}月{due.day}日"},
                           case_id=case.pk, committee_id=case.committee_id,
                           key=f"{notifications.EXTRA_EXAMINATION}:{exam.pk}")
    return exam


def extra_examination_receive(exam_id: int, *, actor: User, result_note: str, received_on: dt.date | None = None,
                              at: dt.datetime | None = None) -> ExtraExamination:
    """The result of an extra examination arrived; the case no longer waits for it."""
    received_on = received_on or clocks.today()
    result_note = (result_note or "").strip()
    if not result_note:
        raise invalid(_("Summarise the result (the report itself is uploaded as a material)."), "result_note",
                       "no_result")
    if received_on > clocks.today():
        raise invalid(_("%(date)s is in the future.") % {"date": received_on.isoformat()}, "received_on",
                       "date_in_future")
    with transaction.atomic():
        case_id = ExtraExamination.objects.filter(pk=exam_id).values_list("case_id", flat=True).first()
        if case_id is None:
            raise NotFoundError()
        case = case_for_update(actor, case_id)
        if not (actor.has_perm(PLAN) or actor.pk in selectors.panel_experts(case)):
            raise PermissionDeniedError()
        exam = ExtraExamination.objects.get(pk=exam_id)
        if exam.state != ExtraExamination.State.ORDERED:
            raise ConflictError(_("This examination's result is already recorded."), code="already_received")
        exam.state, exam.result_note, exam.received_on = ExtraExamination.State.RECEIVED, result_note, received_on
        exam.save(update_fields=["state", "result_note", "received_on", "updated_at"])
        case_services.timeline_add(case.pk, "extra_examination_received", actor=actor, at=at, note=exam.what)
        audit.record("appointment.extra_examination_result", actor=actor, obj=exam, committee=case.committee,
                     after={"case_id": case.pk, "received_on": received_on})
    return exam
