"""The day itself: signing workers in at the desk, the called queue of each room, the examination
recorded, and a remote appraisal's local findings and consent. Atomic and audited like every write."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import services as case_services
from laojian.cases.models import Mode
from laojian.core import audit, purposes
from laojian.core.errors import ConflictError, NotFoundError
from laojian.sittings import selectors
from laojian.sittings.guards import through_appointment
from laojian.sittings.models import Appointment, SittingGroup
from laojian.sittings.services import (
    DESK,
    PLAN,
    appointment_for_update,
    close,
    invalid,
    require,
    require_live,
)

if TYPE_CHECKING:
    from laojian.core.models import User

# THE DAY: SIGN-IN, QUEUE, EXAMINED -------------------------------------------------------------

def _same_id(entered: str, actual: str) -> bool:
    return entered.strip().upper().replace(" ", "") == actual.upper()


def check_in(appointment_id: int, *, actor: User, id_number: str, photo_matched: bool,
             at: dt.datetime | None = None) -> Appointment:
    """Sign a worker in at the desk: the ID number read from the card must be the case's worker's,
    and the desk confirms the photo. A sitting's worker gets the next queue number of the day."""
    require(actor, DESK)
    at = at or timezone.now()
    with transaction.atomic():
        appointment, case = appointment_for_update(actor, appointment_id)
        if appointment.state == Appointment.State.CHECKED_IN:
            raise ConflictError(_("Already signed in with number %(n)s.") % {"n": appointment.queue_number},
                                code="already_signed_in")
        require_live(appointment)
        if selectors.local(appointment.starts_at).date() != selectors.local(at).date():
            raise invalid(_("This appointment is on %(date)s, not today.")
                           % {"date": selectors.local(appointment.starts_at).date().isoformat()},
                           "appointment", "not_today")
        if not _same_id(id_number or "", case.worker.id_number):
            audit.record("appointment.identity_mismatch", actor=actor, obj=appointment, committee=case.committee,
                         after={"case_id": case.pk})
            raise invalid(_("The ID number does not match the worker of this case. Check the card again; "
                             "the worker cannot be signed in."), "id_number", "identity_mismatch")
        if not photo_matched:
            raise invalid(_("Compare the worker with the photo on the ID card and tick the box."), "photo_matched",
                           "photo_not_checked")
        if appointment.sitting_id:
            last = (Appointment.objects.filter(sitting_id=appointment.sitting_id, queue_number__isnull=False)
                    .order_by("-queue_number").values_list("queue_number", flat=True).first())
            appointment.queue_number = (last or 0) + 1
        appointment.state = Appointment.State.CHECKED_IN
        appointment.checked_in_at = at
        appointment.checked_in_by = actor
        appointment.photo_matched = True
        appointment.save(update_fields=["state", "queue_number", "checked_in_at", "checked_in_by", "photo_matched",
                                        "updated_at"])
        case_services.timeline_add(case.pk, "appointment_signed_in", actor=actor, at=at,
                                   data={"appointment": appointment.pk, "queue_number": appointment.queue_number})
        audit.record("appointment.sign_in", actor=actor, obj=appointment, committee=case.committee,
                     after={"case_id": case.pk, "queue_number": appointment.queue_number})
    return appointment


def _group_for_update(actor: User, group_id: int) -> SittingGroup:
    qs = SittingGroup.objects.select_related("sitting", "room").filter(pk=group_id,
                                                                       sitting__committee_id=actor.committee_id)
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    group = qs.first()
    if group is None:
        raise NotFoundError()
    return group


def _may_run_room(actor: User, group: SittingGroup) -> bool:
    if actor.has_perm(DESK):
        return True
    return selectors.sits_in_group(actor, group)


def call_next(group_id: int, *, actor: User, at: dt.datetime | None = None) -> Appointment | None:
    """The room calls its next worker: the signed-in one with the lowest queue number not yet called."""
    at = at or timezone.now()
    with transaction.atomic():
        group = _group_for_update(actor, group_id) if actor.committee_id else None
        if group is None or not _may_run_room(actor, group):
            raise NotFoundError()
        appointment = selectors.next_to_call(group)
        if appointment is None:
            return None
        Appointment.objects.filter(pk=appointment.pk).update(called_at=at, updated_at=at)
        appointment.called_at = at
        audit.record("appointment.call", actor=actor, obj=appointment, committee=group.sitting.committee,
                     after={"case_id": appointment.case_id, "queue_number": appointment.queue_number,
                            "room": group.room.name})
    return appointment


def examination_done(appointment_id: int, *, actor: User, today: dt.date | None = None,
                     at: dt.datetime | None = None) -> Appointment:
    """The worker was examined: the appointment closes and the case moves to "examined", where the
    panel writes its opinions (the case's ``record_examination`` step checks the panel confirmed)."""
    at = at or timezone.now()
    with transaction.atomic():
        appointment, case = appointment_for_update(actor, appointment_id)
        require_live(appointment)
        if selectors.local(appointment.starts_at).date() > selectors.local(at).date():
            raise invalid(_("The examination cannot be recorded before the appointment's day."), "appointment",
                           "examined_early")
        if appointment.mode == Mode.SITTING and appointment.state != Appointment.State.CHECKED_IN:
            raise invalid(_("Sign the worker in at the desk first."), "appointment", "not_signed_in")
        if appointment.mode == Mode.REMOTE and appointment.recording_consent is None:
            raise invalid(_("Record whether the worker consents to the recording first."), "recording_consent",
                           "consent_missing")
        close(appointment, Appointment.State.EXAMINED, actor=actor, note="", at=at)
        with through_appointment():
            case_services.transition(case.pk, "record_examination", actor=actor, today=today,
                                     data={"appointment": appointment.pk})
    return appointment


def remote_record(appointment_id: int, *, actor: User, local_doctor: str, local_findings: str,
                  recording_consent: bool | None, at: dt.datetime | None = None) -> Appointment:
    """A remote appraisal's local examining doctor, their findings, and the worker's recording consent."""
    at = at or timezone.now()
    with transaction.atomic():
        appointment, case = appointment_for_update(actor, appointment_id)
        if not (actor.has_perm(PLAN) or selectors.panel_experts(case).get(actor.pk)):
            raise NotFoundError()
        if appointment.mode != Mode.REMOTE:
            raise invalid(_("Only a remote appraisal has a local examining doctor."), "mode", "not_remote")
        require_live(appointment)
        if recording_consent is None:
            raise invalid(_("Say whether the worker consents to the recording."), "recording_consent",
                           "consent_missing")
        appointment.local_doctor = (local_doctor or "").strip()
        appointment.local_findings = (local_findings or "").strip()
        if not appointment.local_doctor:
            raise invalid(_("Name the local examining doctor."), "local_doctor", "no_local_doctor")
        changed_consent = appointment.recording_consent != recording_consent
        appointment.recording_consent = recording_consent
        if changed_consent:  # the consent record (SEC-60): who, when, and the text that was read
            appointment.consent_recorded_at = at
            appointment.consent_recorded_by = actor
            appointment.consent_text_version = purposes.consent_text("remote_recording")[0]
        appointment.save(update_fields=["local_doctor", "local_findings", "recording_consent",
                                        "consent_recorded_at", "consent_recorded_by", "consent_text_version",
                                        "updated_at"])
        audit.record("appointment.remote_record", actor=actor, obj=appointment, committee=case.committee,
                     after={"case_id": case.pk, "local_doctor": appointment.local_doctor,
                            "recording_consent": recording_consent,
                            "consent_text_version": appointment.consent_text_version})
    return appointment
