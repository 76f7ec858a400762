"""The sitting day: the sign-in desk, each room's queue, and the waiting-room wall screen.

The desk (``sittings.run_sign_in_desk``) sees full names and the last four digits of the ID number
and signs workers in against the card. A room page is for the desk and the room's own panel
experts: call the next number, record examined or absent. The wall screen opens without signing in
by the sitting's long random key and shows queue numbers and masked names only, never cached.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.core.validators import mask_name
from laojian.sittings import day, selectors, services
from laojian.sittings.forms import AbsenceForm
from laojian.sittings.models import Appointment, Sitting, SittingGroup
from laojian.sittings.planning_forms import CheckInForm

SCREEN_NEXT = 3  # numbers shown as "next" under each room's current one
DESK_STATES = (Appointment.State.BOOKED, Appointment.State.CHECKED_IN, Appointment.State.EXAMINED)


# THE SIGN-IN DESK --------------------------------------------------------------------------------

def _desk_sitting(request: HttpRequest, pk: int) -> Sitting:
    if not request.user.has_perm(services.DESK):
        raise Http404(_("No such sitting."))
    try:
        return selectors.sitting_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such sitting.")) from None


def desk_rows(sitting: Sitting, q: str = "") -> list[Appointment]:
    """The day's workers for the desk, by time; ``q`` filters on the case number or the worker's name."""
    qs = (sitting.appointments.filter(state__in=DESK_STATES).select_related("case__worker", "group__room")
          .order_by("starts_at", "group__order", "id"))
    q = q.strip()
    if q:
        qs = qs.filter(Q(case__number__icontains=q) | Q(case__worker__name__icontains=q))
    rows = list(qs)
    for a in rows:
        a.id_tail = a.case.worker.id_number[-4:]
    return rows


def _desk_page(request: HttpRequest, sitting: Sitting, *, bound: dict[int, CheckInForm] | None = None,
               status: int = 200) -> HttpResponse:
    q = request.GET.get("q", "")
    rows = desk_rows(sitting, q)
    bound = bound or {}
    for a in rows:
        a.form = bound.get(a.pk) or CheckInForm(prefix=f"in{a.pk}")
    signed = None
    signed_id = request.GET.get("signed", "")
    if signed_id.isdigit():
        signed = next((a for a in rows if a.pk == int(signed_id) and a.queue_number), None)
        if signed is None:
            signed = (sitting.appointments.filter(pk=int(signed_id), queue_number__isnull=False)
                      .select_related("case__worker", "group__room").first())
    context = {"sitting": sitting, "rows": rows, "q": q, "signed": signed}
    if request.headers.get("HX-Request") and request.method == "GET":
        return render(request, "sittings/day/_desk_rows.html", context)
    return render(request, "sittings/day/desk.html", context, status=status)


@require_GET
@login_required
def desk(request: HttpRequest, pk: int) -> HttpResponse:
    return _desk_page(request, _desk_sitting(request, pk))


@require_POST
@login_required
def desk_sign_in(request: HttpRequest, pk: int, appointment_pk: int) -> HttpResponse:
    sitting = _desk_sitting(request, pk)
    if not sitting.appointments.filter(pk=appointment_pk).exists():
        raise Http404(_("No such appointment."))
    form = CheckInForm(request.POST, prefix=f"in{appointment_pk}")
    if not form.is_valid():
        return _desk_page(request, sitting, bound={appointment_pk: form}, status=400)
    try:
        appointment = day.check_in(appointment_pk, actor=request.user, id_number=form.cleaned_data["id_number"],
                                   photo_matched=form.cleaned_data["photo_matched"])
    except NotFoundError:
        raise Http404(_("No such appointment.")) from None
    except ApplicationError as exc:
        fields = exc.extra.get("fields") or {}
        name = next((f for f in fields if f in form.fields), None)
        form.add_error(name, exc.message)
        return _desk_page(request, sitting, bound={appointment_pk: form}, status=400)
    messages.success(request, _("Signed in: queue number %(n)s.") % {"n": appointment.queue_number})
    return HttpResponseSeeOther(f"{reverse('sittings:desk', args=[sitting.pk])}?signed={appointment.pk}")


# A ROOM ------------------------------------------------------------------------------------------

def _room_or_404(request: HttpRequest, group_pk: int) -> SittingGroup:
    group = (SittingGroup.objects.select_related("sitting__venue", "room")
             .filter(pk=group_pk, sitting__committee_id=request.user.committee_id).first())
    if group is None or not (request.user.has_perm(services.DESK) or selectors.sits_in_group(request.user, group)):
        raise Http404(_("No such room."))
    return group


def queue_state(a: Appointment) -> str:
    """How the room sees a worker: expected, waiting (signed in), called, examined, or what closed it."""
    if a.state == Appointment.State.CHECKED_IN:
        return "called" if a.called_at else "waiting"
    if a.state == Appointment.State.BOOKED:
        return "expected"
    return a.state


QUEUE_LABELS = {"expected": gettext_lazy("not signed in"), "waiting": gettext_lazy("waiting"),
                "called": gettext_lazy("called")}


def _room_page(request: HttpRequest, group: SittingGroup, *, absence: tuple[int, AbsenceForm] | None = None,
               status: int = 200) -> HttpResponse:
    rows = list(selectors.queue_of(group))
    signed = sorted((a for a in rows if a.queue_number), key=lambda a: (a.queue_number, a.pk))
    rows = signed + [a for a in rows if not a.queue_number]
    for a in rows:
        a.queue_state = queue_state(a)
        a.queue_label = str(QUEUE_LABELS.get(a.queue_state) or a.get_state_display())
        a.absence_form = absence[1] if absence and absence[0] == a.pk else AbsenceForm(prefix=f"absence{a.pk}")
    current = next((a for a in sorted((a for a in rows if a.called_at), key=lambda a: a.called_at, reverse=True)),
                   None)
    return render(request, "sittings/day/room.html", {
        "group": group, "sitting": group.sitting, "rows": rows, "current": current,
        "next": selectors.next_to_call(group), "can_terminate": request.user.has_perm("cases.terminate_case"),
        "can_desk": request.user.has_perm(services.DESK),
    }, status=status)


@require_GET
@login_required
def room(request: HttpRequest, group_pk: int) -> HttpResponse:
    return _room_page(request, _room_or_404(request, group_pk))


def _to_room(group: SittingGroup) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("sittings:room", args=[group.pk]))


@require_POST
@login_required
def room_call_next(request: HttpRequest, group_pk: int) -> HttpResponse:
    group = _room_or_404(request, group_pk)
    try:
        called = day.call_next(group.pk, actor=request.user)
    except NotFoundError:
        raise Http404(_("No such room.")) from None
    if called is None:
        messages.info(request, _("Nobody signed in is waiting for this room."))
    else:
        messages.success(request, _("Number %(n)s called.") % {"n": called.queue_number})
    return _to_room(group)


def _room_appointment(request: HttpRequest, group_pk: int, pk: int) -> tuple[SittingGroup, Appointment]:
    group = _room_or_404(request, group_pk)
    appointment = Appointment.objects.filter(pk=pk, group=group).first()
    if appointment is None:
        raise Http404(_("No such appointment."))
    return group, appointment


@require_POST
@login_required
def room_examined(request: HttpRequest, group_pk: int, pk: int) -> HttpResponse:
    group, appointment = _room_appointment(request, group_pk, pk)
    try:
        day.examination_done(appointment.pk, actor=request.user)
    except NotFoundError:
        raise Http404(_("No such appointment.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _room_page(request, group, status=400)
    messages.success(request, _("Examination recorded: the panel can now write its opinions."))
    return _to_room(group)


@require_POST
@login_required
def room_absent(request: HttpRequest, group_pk: int, pk: int) -> HttpResponse:
    group, appointment = _room_appointment(request, group_pk, pk)
    form = AbsenceForm(request.POST, prefix=f"absence{pk}")
    if not form.is_valid():
        return _room_page(request, group, absence=(pk, form), status=400)
    try:
        services.attendance_terminate(appointment.pk, form.cleaned_data["outcome"], actor=request.user,
                                      note=form.cleaned_data["note"])
    except NotFoundError:
        raise Http404(_("No such appointment.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _room_page(request, group, absence=(pk, form), status=400)
    messages.success(request, _("Recorded: the appraisal is terminated and the termination notice is being issued."))
    return _to_room(group)


# THE WAITING-ROOM SCREEN -------------------------------------------------------------------------

def screen_rooms(sitting: Sitting) -> list[dict[str, Any]]:
    """Each room: the number called last (with the masked name) and the next few signed-in numbers.

    Only queue numbers and masked names (张*三): the screen is public in the waiting room."""
    rooms = []
    for group, current in selectors.now_serving(sitting):
        waiting = (Appointment.objects.filter(group=group, state=Appointment.State.CHECKED_IN, called_at__isnull=True)
                   .select_related("case__worker").order_by("queue_number", "id")[:SCREEN_NEXT])
        rooms.append({
            "name": group.room.name,
            "current": ({"number": current.queue_number, "name": mask_name(current.case.worker.name)}
                        if current else None),
            "next": [{"number": a.queue_number, "name": mask_name(a.case.worker.name)} for a in waiting],
        })
    return rooms


def _screen_sitting(token: str) -> Sitting:
    sitting = Sitting.objects.select_related("venue", "committee").filter(screen_token=token).first()
    if sitting is None:
        raise Http404()
    return sitting


def _screen_context(sitting: Sitting) -> dict[str, Any]:
    cancelled = sitting.state == Sitting.State.CANCELLED
    return {"sitting": sitting, "cancelled": cancelled, "rooms": [] if cancelled else screen_rooms(sitting),
            "committee": sitting.committee.short_name or sitting.committee.name}


@never_cache
@require_GET
def screen(request: HttpRequest, token: str) -> HttpResponse:
    sitting = _screen_sitting(token)
    return render(request, "sittings/day/screen.html", _screen_context(sitting))


@never_cache
@require_GET
def screen_part(request: HttpRequest, token: str) -> HttpResponse:
    sitting = _screen_sitting(token)
    return render(request, "sittings/day/_screen_part.html", _screen_context(sitting))


routes = [
    path("<int:pk>/desk/", desk, name="desk"),
    path("<int:pk>/desk/<int:appointment_pk>/sign-in/", desk_sign_in, name="desk_sign_in"),
    path("rooms/<int:group_pk>/", room, name="room"),
    path("rooms/<int:group_pk>/call/", room_call_next, name="room_call_next"),
    path("rooms/<int:group_pk>/appointments/<int:pk>/examined/", room_examined, name="room_examined"),
    path("rooms/<int:group_pk>/appointments/<int:pk>/absent/", room_absent, name="room_absent"),
    path("screen/<str:token>/", screen, name="screen"),
    path("screen/<str:token>/part/", screen_part, name="screen_part"),
]
