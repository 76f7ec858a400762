"""Home visits (上门鉴定) and remote appraisal (远程鉴定): booking with the panel drawn when the
case has none, the day's route sheet and its order, and the video rooms an expert joins.

Services write (atomic, permission-checked, audited); the reads below them scope by committee or
by the user's own panel seats, so a video room's address reaches only the panel and the staff.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases.models import CaseAssignment, Mode
from laojian.cases.selectors import case_for_update
from laojian.core import audit
from laojian.core.errors import NotFoundError
from laojian.sittings import selectors, services
from laojian.sittings.models import Appointment
from laojian.sittings.services import PLAN, Booking, invalid, require

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import Committee, User

# Roles whose members may go along to check the worker's identity on a home visit.
STAFF_ROLES = ("clerk",)
# Appointments that still happen (or happened) on their day: the route sheet shows them.
ON_THE_ROUTE = (Appointment.State.BOOKED, Appointment.State.CHECKED_IN, Appointment.State.EXAMINED)


# READS -------------------------------------------------------------------------------------------

def identity_staff(committee: Committee) -> QuerySet[Any]:
    """The committee's active users who may check a worker's identity on a visit (clerk-like roles)."""
    return (get_user_model().objects.filter(committee=committee, is_active=True, groups__name__in=STAFF_ROLES)
            .distinct().order_by("display_name", "username"))


def has_panel(case: Case) -> bool:
    return bool(selectors.panel_experts(case))


def home_visits_on(committee: Committee, day: dt.date) -> QuerySet[Appointment]:
    """The committee's home visits of one day in route order: the set order first, then by time."""
    start = selectors.combine(day, dt.time(0, 0))
    return (Appointment.objects.filter(committee=committee, mode=Mode.HOME, state__in=ON_THE_ROUTE,
                                       starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
            .select_related("case__worker", "staff_member")
            .order_by(F("route_order").asc(nulls_last=True), "starts_at", "id"))


def route_sheet(committee: Committee, day: dt.date) -> list[dict[str, Any]]:
    """One line per visit for the team: time, worker (full name and phone), address, staff member,
    experts, what to bring, family contact. The sheet goes with the team, so nothing is masked."""
    rows = []
    for appointment in home_visits_on(committee, day):
        case = appointment.case
        rows.append({
            "appointment": appointment, "case": case, "worker": case.worker,
            "experts": list(selectors.panel_experts(case).values()),
        })
    return rows


def remote_rooms_of(user: User, *, now: dt.datetime | None = None) -> QuerySet[Appointment]:
    """The user's upcoming remote appraisals with their video rooms: the cases the user sits on as a
    panel expert, or, for committee staff, the committee's. Nobody else gets a room's address."""
    now = now or timezone.now()
    qs = Appointment.objects.filter(mode=Mode.REMOTE, state__in=Appointment.LIVE, ends_at__gte=now)
    if not (user and user.is_authenticated and user.is_active):
        return qs.none()
    if user.committee_id and user.has_perm("cases.view_committee_cases"):
        qs = qs.filter(committee_id=user.committee_id)
    else:
        seats = CaseAssignment.objects.filter(user=user, role__in=selectors.PANEL_ROLES, active=True)
        qs = qs.filter(case_id__in=seats.values("case_id"))
    return qs.select_related("case").order_by("starts_at", "id")


def may_see_video_room(user: User, case: Case) -> bool:
    """Committee staff of the case's committee, and the case's own panel experts."""
    if user.committee_id == case.committee_id and user.has_perm("cases.view_committee_cases"):
        return True
    return user.pk in selectors.panel_experts(case)


def my_remote_rooms(context: dict[str, Any]) -> dict[str, Any]:
    """For an inclusion tag on the experts' workbench (``sittings/remote/_my_rooms.html``)."""
    return {"rooms": list(remote_rooms_of(context["request"].user))}


# WRITES ------------------------------------------------------------------------------------------

def _draw_if_needed(case_id: int, categories: list[int], *, actor: User, starts_at: dt.datetime,
                    ends_at: dt.datetime) -> None:
    """A case without a panel gets one drawn the usual way, for the visit's date; experts busy at
    that time are excluded (recorded in the draw as busy)."""
    from laojian.cases.selectors import case_get_for
    from laojian.experts import services as experts_services
    from laojian.experts.selectors import experts_of_users

    case = case_get_for(actor, case_id)
    if has_panel(case):
        return
    if not categories:
        raise invalid(_("The case has no panel yet: choose the categories of its injuries to draw one."),
                      "categories", "no_categories")
    busy_users = sorted(selectors.busy_between(case.committee, starts_at, ends_at))
    busy = dict.fromkeys(experts_of_users(busy_users).values(), _("booked elsewhere at that time"))
    experts_services.panel_draw(case_id, experts_services.DrawRequest(
        list(categories), sitting_date=selectors.local(starts_at).date(), busy=busy), actor=actor)


def visit_book(case_id: int, booking: Booking, *, actor: User, categories: list[int] | None = None,
               today: dt.date | None = None, ip_address: str = "") -> Appointment:
    """Book a home visit or a remote appraisal: draw the panel first when the case has none (both in
    one transaction: a refused booking leaves no panel behind), then book as any mode."""
    require(actor, PLAN)
    if booking.mode not in (Mode.HOME, Mode.REMOTE):
        raise invalid(_("Unknown appraisal mode."), "mode", "bad_mode")
    if booking.mode == Mode.REMOTE and not booking.local_doctor.strip():
        raise invalid(_("Name the local examining doctor."), "local_doctor", "no_local_doctor")
    with transaction.atomic():
        _draw_if_needed(case_id, list(categories or []), actor=actor, starts_at=booking.starts_at,
                        ends_at=booking.ends_at)
        return services.appointment_book(case_id, booking, actor=actor, today=today, ip_address=ip_address)


def route_order_set(appointment_ids_in_order: list[int], *, actor: User) -> list[Appointment]:
    """Set the order the team visits one day's homes in (1, 2, 3 …), as the planner arranged the route."""
    require(actor, PLAN)
    ids = [int(i) for i in appointment_ids_in_order]
    if not ids:
        raise invalid(_("Put at least one visit in order."), "order", "no_order")
    if len(set(ids)) != len(ids):
        raise invalid(_("A visit is listed twice."), "order", "duplicate")
    with transaction.atomic():
        qs = Appointment.objects.filter(pk__in=ids, committee_id=actor.committee_id, mode=Mode.HOME)
        if connection.features.has_select_for_update:
            qs = qs.select_for_update()
        found = {a.pk: a for a in qs}
        if len(found) != len(ids):
            raise NotFoundError()
        days = {selectors.local(a.starts_at).date() for a in found.values()}
        if len(days) != 1:
            raise invalid(_("A route covers the visits of one day."), "order", "several_days")
        for appointment in found.values():
            case_for_update(actor, appointment.case_id)  # scoped like every write on a case
        before = {str(pk): found[pk].route_order for pk in ids}
        for position, pk in enumerate(ids, start=1):
            found[pk].route_order = position
            found[pk].save(update_fields=["route_order", "updated_at"])
        audit.record("appointment.route_order", actor=actor, committee=actor.committee,
                     object_type="sittings.appointment", object_id=",".join(map(str, ids)),
                     before={"order": before}, after={"day": days.pop(), "order": ids})
    return [found[pk] for pk in ids]
