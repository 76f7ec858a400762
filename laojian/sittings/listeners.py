"""After a case leaves the appraisal (withdrawn, terminated for another reason than attendance),
its live appointment is cancelled and the experts told. Runs after the step has committed."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from laojian.cases.workflow import TransitionEvent
from laojian.sittings.models import Appointment

logger = logging.getLogger("laojian.sittings")

CLOSING_STEPS = frozenset({"withdraw", "terminate"})


def on_transition(event: TransitionEvent) -> None:
    if event.name not in CLOSING_STEPS or event.backdated:
        return
    from laojian.cases.services import system_actor
    from laojian.sittings import services

    for appointment in Appointment.objects.filter(case_id=event.case_id, state__in=Appointment.LIVE) \
            .select_related("committee"):
        try:
            services.appointment_cancel(appointment.pk, actor=system_actor(appointment.committee),
                                        reason=_("The appraisal ended: %(step)s.") % {"step": event.note or event.name})
        except Exception:  # the case has ended either way; the appointment stays for a clerk to close
            logger.exception("could not cancel appointment #%s of case %s", appointment.pk, event.case_id)
