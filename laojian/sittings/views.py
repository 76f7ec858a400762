"""The case's appointments page: its appointments in every mode, and what a clerk does with the
live one (move, cancel, absence, examined). Booking itself starts from each mode's own page.

Thin: selectors read, services write; an ``ApplicationError`` becomes a message, a case the
user may not see a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases.models import Case, Mode
from laojian.cases.selectors import case_get_for
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.sittings import day, forms, selectors, services, visits
from laojian.sittings.models import Appointment

# Where each mode's booking starts (url name, takes the case id or nothing).
BOOK_PAGES: dict[str, tuple[str, bool]] = {
    Mode.SITTING: ("sittings:sittings", False),
    Mode.CLINIC: ("sittings:case_clinic", True),
    Mode.HOME: ("sittings:case_home", True),
    Mode.REMOTE: ("sittings:case_remote", True),
}


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return case_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None


def _appointment_or_404(request: HttpRequest, pk: int) -> Appointment:
    appointment = Appointment.objects.filter(pk=pk).first()
    if appointment is None:
        raise Http404(_("No such appointment."))
    _case_or_404(request, appointment.case_id)
    return appointment


def _book_links(case: Case) -> list[tuple[str, str, bool]]:
    """(mode label, URL, is the case's own mode) for each mode whose booking page exists."""
    links = []
    for mode, (name, takes_case) in BOOK_PAGES.items():
        try:
            url = reverse(name, args=[case.pk] if takes_case else [])
        except NoReverseMatch:
            continue
        links.append((str(Mode(mode).label), url, mode == case.mode))
    return links


def _page(request: HttpRequest, case: Case, **bound: django_forms.Form) -> HttpResponse:
    live = selectors.live_appointment(case)
    context: dict[str, Any] = {
        "case": case,
        "appointments": list(selectors.appointments_of_case(case)),
        "live": live,
        "waiting_for": list(selectors.open_extra_examinations(case)),
        "can_plan": request.user.has_perm(services.PLAN),
        "can_terminate": request.user.has_perm("cases.terminate_case"),
        "can_see_video": live is not None and visits.may_see_video_room(request.user, case),
        "book_links": _book_links(case),
        "move_form": bound.get("move_form") or forms.MoveForm(prefix="move"),
        "excused_form": bound.get("excused_form") or forms.ExcusedForm(prefix="excused"),
        "cancel_form": bound.get("cancel_form") or forms.CancelForm(prefix="cancel"),
        "absence_form": bound.get("absence_form") or forms.AbsenceForm(prefix="absence"),
    }
    return render(request, "sittings/case.html", context, status=400 if bound else 200)


def _to_case_page(case_id: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("sittings:case", args=[case_id]))


@require_GET
@login_required
def case_appointments(request: HttpRequest, case_id: int) -> HttpResponse:
    return _page(request, _case_or_404(request, case_id))


def _post(request: HttpRequest, pk: int, form_class: type[django_forms.Form] | None, prefix: str,
          action: Callable[[Appointment, Any], Any], success: str) -> HttpResponse:
    """Validate the form; call the service; a refusal shows the page again with what was typed."""
    appointment = _appointment_or_404(request, pk)
    form = form_class(request.POST, prefix=prefix) if form_class else None
    if form is not None and not form.is_valid():
        return _page(request, appointment.case, **{f"{prefix}_form": form})
    try:
        action(appointment, form)
    except NotFoundError:
        raise Http404(_("No such appointment.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if form is not None:
            return _page(request, appointment.case, **{f"{prefix}_form": form})
    else:
        messages.success(request, success)
    return _to_case_page(appointment.case_id)


@require_POST
@login_required
def appointment_move(request: HttpRequest, pk: int) -> HttpResponse:
    def move(appointment: Appointment, form: Any) -> None:
        start, end = form.window()
        services.appointment_move(appointment.pk, actor=request.user, starts_at=start, ends_at=end,
                                  reason=form.cleaned_data["reason"],
                                  worker_requested=form.cleaned_data["worker_requested"],
                                  short_notice_reason=form.cleaned_data["short_notice_reason"])

    return _post(request, pk, forms.MoveForm, "move", move, _("The appointment was moved; everyone was told."))


@require_POST
@login_required
def appointment_excused(request: HttpRequest, pk: int) -> HttpResponse:
    def excused(appointment: Appointment, form: Any) -> None:
        start, end = form.window()
        services.appointment_move(appointment.pk, actor=request.user, starts_at=start, ends_at=end,
                                  reason=form.cleaned_data["reason"], worker_requested=True, excused_absence=True,
                                  short_notice_reason=form.cleaned_data["short_notice_reason"])

    return _post(request, pk, forms.ExcusedForm, "excused", excused,
                 _("Absence with good reason recorded; the new appointment is booked and the deadline moved."))


@require_POST
@login_required
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, forms.CancelForm, "cancel",
                 lambda a, form: services.appointment_cancel(a.pk, actor=request.user,
                                                             reason=form.cleaned_data["reason"]),
                 _("The appointment was cancelled; everyone was told."))


@require_POST
@login_required
def appointment_absent(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, forms.AbsenceForm, "absence",
                 lambda a, form: services.attendance_terminate(a.pk, form.cleaned_data["outcome"], actor=request.user,
                                                               note=form.cleaned_data["note"]),
                 _("Recorded: the appraisal is terminated and the termination notice is being issued."))


@require_POST
@login_required
def appointment_examined(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, None, "examined", lambda a, form: day.examination_done(a.pk, actor=request.user),
                 _("Examination recorded: the panel can now write its opinions."))


routes = [
    path("cases/<int:case_id>/", case_appointments, name="case"),
    path("appointments/<int:pk>/move/", appointment_move, name="appointment_move"),
    path("appointments/<int:pk>/excused/", appointment_excused, name="appointment_excused"),
    path("appointments/<int:pk>/cancel/", appointment_cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/absent/", appointment_absent, name="appointment_absent"),
    path("appointments/<int:pk>/examined/", appointment_examined, name="appointment_examined"),
]
