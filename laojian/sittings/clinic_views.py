"""The clinic's pages: the weekly duty roster (add and end lines), and booking a case's clinic slot
(the earliest suitable slot first, then the next ones). Thin: ``clinic.py`` reads and writes; a
refusal is shown on the page, in the user's language, with status 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases.models import Case
from laojian.cases.selectors import case_get_for
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.experts.selectors import specialties_of_committee_experts
from laojian.sittings import clinic, selectors, services
from laojian.sittings.clinic_forms import RosterEndForm, RosterForm, SlotForm
from laojian.sittings.forms import service_errors

VIEW = "sittings.view_sitting"


def _reader(request: HttpRequest) -> None:
    if not request.user.committee_id or not (request.user.has_perm(VIEW) or request.user.has_perm(services.PLAN)):
        raise PermissionDenied


def _planner(request: HttpRequest) -> None:
    if not request.user.committee_id or not request.user.has_perm(services.PLAN):
        raise PermissionDenied


# THE ROSTER --------------------------------------------------------------------------------------

def _roster_page(request: HttpRequest, *, add_form: RosterForm | None = None, status: int = 200) -> HttpResponse:
    today = timezone.localdate()
    committee = request.user.committee
    return render(request, "sittings/clinic/roster.html", {
        "grid": clinic.roster_grid(committee, on=today),
        "lines": list(clinic.roster_lines(committee, on=today)),
        "uncovered": clinic.uncovered_specialties(committee, on=today),
        "today": today,
        "can_plan": request.user.has_perm(services.PLAN),
        "add_form": add_form or RosterForm(prefix="roster", committee=committee, initial={"valid_from": today}),
        "rules": selectors.rules_for(committee),
    }, status=status)


@require_GET
@login_required
def roster(request: HttpRequest) -> HttpResponse:
    _reader(request)
    return _roster_page(request)


@require_POST
@login_required
def roster_add(request: HttpRequest) -> HttpResponse:
    _planner(request)
    form = RosterForm(request.POST, prefix="roster", committee=request.user.committee)
    if not form.is_valid():
        return _roster_page(request, add_form=form, status=400)
    d = form.cleaned_data
    try:
        clinic.roster_add(request.user.committee, actor=request.user, expert_id=d["expert"].pk,
                          specialty_id=d["specialty"].pk, weekday=d["weekday"], half=d["half"],
                          venue_id=d["venue"].pk, room_id=d["room"].pk if d["room"] else None,
                          valid_from=d["valid_from"], valid_to=d["valid_to"])
    except ApplicationError as exc:
        service_errors(form, exc)
        return _roster_page(request, add_form=form, status=400)
    messages.success(request, _("The roster line was added."))
    return HttpResponseSeeOther(reverse("sittings:roster"))


@require_POST
@login_required
def roster_end(request: HttpRequest, pk: int) -> HttpResponse:
    _planner(request)
    form = RosterEndForm(request.POST, prefix="end")
    if not form.is_valid():
        messages.error(request, _("Enter the line's last day."))
        return _roster_page(request, status=400)
    try:
        clinic.roster_end(pk, actor=request.user, valid_to=form.cleaned_data["valid_to"])
    except NotFoundError:
        raise Http404(_("No such roster line.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _roster_page(request, status=400)
    messages.success(request, _("The roster line ends on %(date)s.") % {"date": form.cleaned_data["valid_to"]})
    return HttpResponseSeeOther(reverse("sittings:roster"))


# BOOKING A CASE'S SLOT ---------------------------------------------------------------------------

def _case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return case_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None


def _booking_page(request: HttpRequest, case: Case, *, error: str = "", chosen: str = "",
                  status: int = 200) -> HttpResponse:
    live = selectors.live_appointment(case)
    waiting = live is None and case.status in services.BOOKABLE_STATES
    specialties = list(specialties_of_committee_experts(case.committee))
    wanted = request.GET.get("specialty", "")
    specialty = next((sp for sp in specialties if str(sp.pk) == wanted), None)
    slots = (clinic.next_slots(case, count=clinic.PAGE_SLOTS + 1,
                               specialty_ids=[specialty.pk] if specialty else None) if waiting else [])
    needed = clinic.case_specialties(case) if waiting and specialty is None else None
    return render(request, "sittings/clinic/case.html", {
        "specialties": specialties, "specialty": specialty,
        "uncovered": clinic.uncovered_specialties(case.committee, on=timezone.localdate(), among=needed)
        if needed else [],
        "case": case, "live": live, "waiting": waiting, "earliest": slots[0] if slots else None,
        "slots": slots[1:], "error": error, "chosen": chosen, "can_book": request.user.has_perm(services.PLAN),
        "book_url": reverse("sittings:case_clinic_book", args=[case.pk]),
    }, status=status)


@require_GET
@login_required
def case_clinic(request: HttpRequest, case_id: int) -> HttpResponse:
    return _booking_page(request, _case_or_404(request, case_id))


@require_POST
@login_required
def case_clinic_book(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(request, case_id)
    if not request.user.has_perm(services.PLAN):
        raise PermissionDenied
    form = SlotForm(request.POST)
    chosen = request.POST.get("slot", "")
    if not form.is_valid():
        return _booking_page(request, case, error=_("Choose one of the slots offered."), status=400)
    try:
        entry_id, starts_at = clinic.parse_key(form.cleaned_data["slot"])
        appointment = clinic.clinic_book(case.pk, entry_id=entry_id, starts_at=starts_at, actor=request.user)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        return _booking_page(request, case, error=exc.message, chosen=chosen, status=400)
    messages.success(request, _("Booked at the clinic: %(when)s, %(place)s. The worker and the expert are told.")
                     % {"when": selectors.when_text(appointment.starts_at, appointment.ends_at),
                        "place": appointment.place})
    return HttpResponseSeeOther(reverse("sittings:case", args=[case.pk]))


routes = [
    path("roster/", roster, name="roster"),
    path("roster/add/", roster_add, name="roster_add"),
    path("roster/<int:pk>/end/", roster_end, name="roster_end"),
    path("cases/<int:case_id>/clinic/", case_clinic, name="case_clinic"),
    path("cases/<int:case_id>/clinic/book/", case_clinic_book, name="case_clinic_book"),
]
