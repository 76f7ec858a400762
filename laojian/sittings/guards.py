"""Rules the sittings app adds to the case workflow (registered in ``apps.py``).

A case with a live appointment is scheduled, moved and examined through its appointment, so
that the appointment and the case never disagree. The generic steps stay open for cases without
one (paper files entered afterwards, the demo city's history).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from laojian.cases.workflow import Context, TransitionRefused
from laojian.sittings.models import Appointment

if TYPE_CHECKING:
    from laojian.cases.models import Case

_through_appointment: ContextVar[bool] = ContextVar("sittings_through_appointment", default=False)


@contextmanager
def through_appointment() -> Iterator[None]:
    """Around the sittings services' own calls of ``transition``."""
    token = _through_appointment.set(True)
    try:
        yield
    finally:
        _through_appointment.reset(token)


def appointment_steps_on_appointment(case: Case, ctx: Context) -> None:
    if _through_appointment.get():
        return
    if Appointment.objects.filter(case=case, state__in=Appointment.LIVE).exists():
        raise TransitionRefused(
            _("This case has an appointment: book, move or close it on the appointment page."),
            code="use_appointment",
        )
