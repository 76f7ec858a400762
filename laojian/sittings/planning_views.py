"""Planning sittings (现场鉴定会): the committee's sittings and venues, one sitting's rooms, panels
and workers, filling it with the cases waiting for an appointment, cancelling it, and the printed
notices. Thin: selectors read, services write; a refusal is shown on the page with status 400.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases.models import Case, CaseAssignment, Mode, Status
from laojian.cases.selectors import case_get_for, cases_visible_to
from laojian.core.categories import Category
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.sittings import planning, printing, selectors, services
from laojian.sittings.forms import service_errors
from laojian.sittings.models import Appointment, Sitting, SittingGroup
from laojian.sittings.planning_forms import CancelSittingForm, SittingForm, VenueForm

VIEW = "sittings.view_sitting"
DEFAULT_CATEGORY = Category.ORTHO  # a case has no category field: the commonest is preselected


def _reader(request: HttpRequest) -> None:
    if not request.user.committee_id or not (request.user.has_perm(VIEW) or request.user.has_perm(services.PLAN)):
        raise PermissionDenied


def _planner(request: HttpRequest) -> None:
    if not request.user.committee_id or not request.user.has_perm(services.PLAN):
        raise PermissionDenied


def _sitting_or_404(request: HttpRequest, pk: int) -> Sitting:
    try:
        return selectors.sitting_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such sitting.")) from None


# THE LIST ----------------------------------------------------------------------------------------

def _list_page(request: HttpRequest, *, plan_form: SittingForm | None = None, venue_form: VenueForm | None = None,
               status: int = 200) -> HttpResponse:
    today = timezone.localdate()
    rows = list(selectors.sittings_of(request.user).order_by("date", "starts_at", "id"))
    counts: dict[int, int] = {}
    for sitting_id in (Appointment.objects.filter(sitting__in=rows, state__in=[*Appointment.LIVE,
                                                                               Appointment.State.EXAMINED])
                       .values_list("sitting_id", flat=True)):
        counts[sitting_id] = counts.get(sitting_id, 0) + 1
    upcoming = [s for s in rows if s.date >= today]
    past = sorted((s for s in rows if s.date < today), key=lambda s: (s.date, s.starts_at), reverse=True)
    for s in rows:
        s.workers = counts.get(s.pk, 0)
    committee = request.user.committee
    return render(request, "sittings/sitting/list.html", {
        "upcoming": upcoming, "past": past, "can_plan": request.user.has_perm(services.PLAN),
        "plan_form": plan_form or SittingForm(prefix="plan", committee=committee),
        "venue_form": venue_form or VenueForm(prefix="venue"),
        "venues": committee.venues.filter(active=True).prefetch_related("rooms").order_by("name"),
    }, status=status)


@require_GET
@login_required
def sittings(request: HttpRequest) -> HttpResponse:
    _reader(request)
    return _list_page(request)


@require_POST
@login_required
def sitting_plan(request: HttpRequest) -> HttpResponse:
    _planner(request)
    form = SittingForm(request.POST, prefix="plan", committee=request.user.committee)
    if not form.is_valid():
        return _list_page(request, plan_form=form, status=400)
    d = form.cleaned_data
    try:
        sitting = planning.sitting_plan(request.user.committee, actor=request.user, date=d["date"],
                                        venue_id=d["venue"].pk, starts_at=d["starts_at"], ends_at=d["ends_at"],
                                        non_working_reason=d["non_working_reason"], bring=d["bring"],
                                        note=d["note"])
    except ApplicationError as exc:
        service_errors(form, exc)
        return _list_page(request, plan_form=form, status=400)
    messages.success(request, _("The sitting was planned. Now put the cases on it."))
    return HttpResponseSeeOther(reverse("sittings:sitting", args=[sitting.pk]))


@require_POST
@login_required
def venue_create(request: HttpRequest) -> HttpResponse:
    _planner(request)
    form = VenueForm(request.POST, prefix="venue")
    if not form.is_valid():
        return _list_page(request, venue_form=form, status=400)
    d = form.cleaned_data
    try:
        planning.venue_create(request.user.committee, actor=request.user, name=d["name"], address=d["address"],
                              rooms=form.room_names(), directions=d["directions"])
    except ApplicationError as exc:
        service_errors(form, exc)
        return _list_page(request, venue_form=form, status=400)
    messages.success(request, _("The venue was added."))
    return HttpResponseSeeOther(reverse("sittings:sittings"))


# ONE SITTING -------------------------------------------------------------------------------------

def waiting_cases(user: Any) -> list[Case]:
    """The committee's cases waiting for a sitting appointment: reviewed, mode sitting, no live appointment."""
    booked = Appointment.objects.filter(state__in=Appointment.LIVE).values("case_id")
    return list(cases_visible_to(user).filter(status=Status.REVIEWED, mode=Mode.SITTING)
                .exclude(pk__in=booked).select_related("worker").order_by("reviewed_on", "id"))


def _panel_names(groups: list[SittingGroup]) -> dict[int, list[str]]:
    """Each room's drawn panel (the experts' names), read from its first case's seats."""
    first_case: dict[int, int] = {}
    for group_id, case_id in (Appointment.objects.filter(group__in=groups).order_by("starts_at", "id")
                              .values_list("group_id", "case_id")):
        first_case.setdefault(group_id, case_id)
    from laojian.experts.selectors import expert_names, experts_of_users

    rows = list(CaseAssignment.objects.filter(case_id__in=first_case.values(), role__in=selectors.PANEL_ROLES,
                                              active=True).order_by("id").values_list("case_id", "user_id"))
    by_user = experts_of_users(sorted({u for _c, u in rows}))
    experts = expert_names(sorted(set(by_user.values())))
    names: dict[int, list[str]] = {}
    for group_id, case_id in first_case.items():
        names[group_id] = [experts[by_user[u]].name if u in by_user and by_user[u] in experts else ""
                           for c, u in rows if c == case_id]
    return names


def _sitting_page(request: HttpRequest, sitting: Sitting, *, cancel_form: CancelSittingForm | None = None,
                  fill_error: str = "", chosen: dict[int, list[int]] | None = None,
                  short_notice_reason: str = "", status: int = 200) -> HttpResponse:
    groups = list(selectors.groups_of(sitting))
    panels = _panel_names(groups)
    appointments = list(sitting.appointments.exclude(state__in=[Appointment.State.RESCHEDULED,
                                                                Appointment.State.CANCELLED])
                        .select_related("case__worker", "group__room").order_by("group__order", "starts_at", "id"))
    labels = dict(Category.choices)
    rooms = [{"group": g, "categories": [labels.get(c, c) for c in g.categories], "panel": panels.get(g.pk, []),
              "appointments": [a for a in appointments if a.group_id == g.pk]} for g in groups]
    can_plan = request.user.has_perm(services.PLAN)
    picker = []
    if can_plan and sitting.state == Sitting.State.PLANNED:
        from laojian.experts.selectors import active_panel, first_panel_categories

        chosen = chosen or {}
        for case in waiting_cases(request.user):
            picked = chosen.get(case.pk) or first_panel_categories(case) or [DEFAULT_CATEGORY]
            picker.append({"case": case, "chosen": case.pk in chosen, "categories": picked,
                           "has_panel": active_panel(case) is not None})
    return render(request, "sittings/sitting/detail.html", {
        "sitting": sitting, "rooms": rooms, "workers": len(appointments), "can_plan": can_plan,
        "can_desk": request.user.has_perm(services.DESK), "picker": picker, "category_choices": Category.choices,
        "free_rooms": sitting.venue.rooms.filter(active=True).exclude(pk__in=[g.room_id for g in groups]).count(),
        "cancel_form": cancel_form or CancelSittingForm(prefix="cancel"), "fill_error": fill_error,
        "short_notice_reason": short_notice_reason,
        "screen_url": reverse("sittings:screen", args=[sitting.screen_token]),
    }, status=status)


@require_GET
@login_required
def sitting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    return _sitting_page(request, _sitting_or_404(request, pk))


def parse_fill(post: Any) -> dict[int, list[int]]:
    """The ticked cases and, per case, its ticked categories (``categories-<case id>``). ValueError on junk."""
    chosen: dict[int, list[int]] = {}
    for value in post.getlist("cases"):
        case_id = int(value)
        chosen[case_id] = sorted({int(c) for c in post.getlist(f"categories-{case_id}")})
    return chosen


@require_POST
@login_required
def sitting_fill(request: HttpRequest, pk: int) -> HttpResponse:
    _planner(request)
    sitting = _sitting_or_404(request, pk)
    reason = request.POST.get("short_notice_reason", "")
    try:
        chosen = parse_fill(request.POST)
    except ValueError:
        return _sitting_page(request, sitting, fill_error=_("Some of the information is not valid."),
                             short_notice_reason=reason, status=400)
    try:
        result = planning.sitting_fill(sitting.pk, chosen, actor=request.user, short_notice_reason=reason)
    except NotFoundError:
        return _sitting_page(request, sitting, fill_error=_("No such case, or it is not yours to see."),
                             chosen=chosen, short_notice_reason=reason, status=400)
    except ApplicationError as exc:
        return _sitting_page(request, sitting, fill_error=exc.message, chosen=chosen, short_notice_reason=reason,
                             status=400)
    messages.success(request, _("%(n)s workers were booked in %(rooms)s rooms; the panels were drawn and everyone "
                                "was told.") % {"n": len(result.appointments), "rooms": len(result.groups)})
    return HttpResponseSeeOther(reverse("sittings:sitting", args=[sitting.pk]))


@require_POST
@login_required
def sitting_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _planner(request)
    sitting = _sitting_or_404(request, pk)
    form = CancelSittingForm(request.POST, prefix="cancel")
    if not form.is_valid():
        return _sitting_page(request, sitting, cancel_form=form, status=400)
    try:
        planning.sitting_cancel(sitting.pk, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        service_errors(form, exc)
        return _sitting_page(request, sitting, cancel_form=form, status=400)
    messages.success(request, _("The sitting was cancelled; every worker and expert was told."))
    return HttpResponseSeeOther(reverse("sittings:sitting", args=[sitting.pk]))


# NOTICES -----------------------------------------------------------------------------------------

@require_GET
@login_required
def sitting_notices(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    sitting = _sitting_or_404(request, pk)
    return render(request, "sittings/sitting/notices.html",
                  {"sitting": sitting, "notices": printing.sitting_notices(sitting)})


@require_GET
@login_required
def appointment_notice(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = Appointment.objects.filter(pk=pk).only("case_id", "committee_id").first()
    if appointment is None:
        raise Http404(_("No such appointment."))
    try:
        case_get_for(request.user, appointment.case_id)
    except NotFoundError:
        raise Http404(_("No such appointment.")) from None
    notice = printing.appointment_notice(pk, appointment.committee_id)
    return render(request, "sittings/sitting/notices.html", {"notices": [notice], "sitting": None})


routes = [
    path("", sittings, name="sittings"),
    path("plan/", sitting_plan, name="sitting_plan"),
    path("venues/", venue_create, name="venue_create"),
    path("<int:pk>/", sitting_detail, name="sitting"),
    path("<int:pk>/fill/", sitting_fill, name="sitting_fill"),
    path("<int:pk>/cancel/", sitting_cancel, name="sitting_cancel"),
    path("<int:pk>/notices/", sitting_notices, name="sitting_notices"),
    path("appointments/<int:pk>/notice/", appointment_notice, name="appointment_notice"),
]
