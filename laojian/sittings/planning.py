"""Planning sittings: venues and rooms, the sitting day, filling it with cases (grouped into rooms
by category, one drawn panel a room, a time for every worker), and cancelling it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases.models import Mode
from laojian.core import audit
from laojian.core.errors import ConflictError
from laojian.sittings import notifications, selectors
from laojian.sittings.models import DEFAULT_BRING, Appointment, Room, Sitting, SittingGroup, Venue
from laojian.sittings.services import (
    PLAN,
    Booking,
    appointment_book,
    appointment_cancel,
    check_day,
    invalid,
    lock_schedule,
    panel_expert_ids,
    require,
)

if TYPE_CHECKING:
    from laojian.core.models import Committee, User

# PLANNING A SITTING ------------------------------------------------------------------------------

def venue_create(committee: Committee, *, actor: User, name: str, address: str, rooms: list[str],
                 directions: str = "") -> Venue:
    """A venue with its rooms (at least one)."""
    require(actor, PLAN)
    name, address = (name or "").strip(), (address or "").strip()
    names = [r.strip() for r in rooms if r and r.strip()]
    if not name:
        raise invalid(_("Enter the venue's name."), "name", "no_name")
    if not address:
        raise invalid(_("Enter the venue's address."), "address", "no_address")
    if not names:
        raise invalid(_("Enter at least one room."), "rooms", "no_rooms")
    if len(set(names)) != len(names):
        raise invalid(_("Two rooms have the same name."), "rooms", "duplicate_room")
    with transaction.atomic():
        if Venue.objects.filter(committee=committee, name=name).exists():
            raise invalid(_("A venue of this name exists already."), "name", "duplicate_venue")
        venue = Venue.objects.create(committee=committee, name=name, address=address, directions=directions.strip())
        Room.objects.bulk_create(Room(venue=venue, name=n, order=i) for i, n in enumerate(names))
        audit.record("sitting.venue", actor=actor, obj=venue, committee=committee,
                     after={"name": name, "address": address, "rooms": names})
    return venue


def sitting_plan(committee: Committee, *, actor: User, date: dt.date, venue_id: int, starts_at: dt.time,
                 ends_at: dt.time, non_working_reason: str = "", bring: str = "", note: str = "",
                 today: dt.date | None = None) -> Sitting:
    """Plan a sitting day: a working day (or a reason), not in the past, at a venue of the committee."""
    require(actor, PLAN)
    today = today or clocks.today()
    if ends_at <= starts_at:
        raise invalid(_("A sitting must end after it starts."), "ends_at", "time_order")
    check_day(date, non_working_reason=non_working_reason, today=today)
    venue = Venue.objects.filter(pk=venue_id, committee=committee, active=True).first()
    if venue is None:
        raise invalid(_("Choose a venue of this committee."), "venue", "bad_venue")
    with transaction.atomic():
        lock_schedule(committee)
        clash = Sitting.objects.filter(venue=venue, date=date, state=Sitting.State.PLANNED,
                                       starts_at__lt=ends_at, ends_at__gt=starts_at).first()
        if clash is not None:
            raise invalid(_("%(venue)s already holds a sitting on %(date)s %(start)s–%(end)s.")
                           % {"venue": venue.name, "date": date.isoformat(), "start": clash.starts_at.strftime("%H:%M"),
                              "end": clash.ends_at.strftime("%H:%M")}, "date", "venue_double_booked")
        sitting = Sitting.objects.create(committee=committee, date=date, venue=venue, starts_at=starts_at,
                                         ends_at=ends_at, non_working_reason=non_working_reason.strip(),
                                         bring=bring.strip() or DEFAULT_BRING,
                                         note=note.strip(), created_by=actor)
        audit.record("sitting.plan", actor=actor, obj=sitting, committee=committee,
                     after={"date": date, "venue": venue.name, "starts_at": starts_at, "ends_at": ends_at,
                            "non_working_reason": sitting.non_working_reason})
    return sitting


@dataclass
class PlannedGroup:
    categories: tuple[int, ...]
    case_ids: list[int]


def group_cases(categories_by_case: dict[int, list[int]], per_group: int) -> list[PlannedGroup]:
    """Split a sitting's cases into rooms: cases judged by the same categories share a room, at most
    ``per_group`` a room, the categories with most cases first; the case order is kept inside a room."""
    if per_group < 1:
        raise ValueError("per_group must be at least 1")
    by_key: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for case_id, categories in categories_by_case.items():
        by_key[tuple(sorted(set(categories)))].append(case_id)
    groups = []
    for key, ids in sorted(by_key.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        for start in range(0, len(ids), per_group):
            groups.append(PlannedGroup(key, ids[start:start + per_group]))
    return groups


@dataclass
class FillResult:
    groups: list[SittingGroup] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)


def sitting_fill(sitting_id: int, categories_by_case: dict[int, list[int]], *, actor: User,
                 short_notice_reason: str = "", today: dt.date | None = None,
                 at: dt.datetime | None = None) -> FillResult:
    """Put reviewed cases on a sitting: group them into rooms by category, draw one panel per room
    (the experts app's group draw: nobody with an interest in any worker of the room sits on it),
    and book each worker a time in the room's order. All or nothing."""
    from laojian.experts import services as experts_services
    from laojian.experts.selectors import experts_of_users

    require(actor, PLAN)
    if not categories_by_case:
        raise invalid(_("Choose at least one case."), "cases", "no_cases")
    if not all(categories_by_case.values()):
        raise invalid(_("Choose the categories of the injuries for every case."), "categories",
                           "no_categories")
    today = today or clocks.today()
    at = at or timezone.now()
    with transaction.atomic(), audit.batched():  # all or nothing, so its entries are written at the end
        sitting = selectors.sitting_get_for(actor, sitting_id)
        if sitting.state != Sitting.State.PLANNED:
            raise ConflictError(_("This sitting is no longer planned."), code="sitting_closed")
        rules = lock_schedule(sitting.committee)
        planned = group_cases(categories_by_case, rules.workers_per_group)
        used = set(sitting.groups.values_list("room_id", flat=True))
        free = [r for r in sitting.venue.rooms.filter(active=True).order_by("order", "id") if r.pk not in used]
        if len(planned) > len(free):
            raise invalid(_("These cases need %(n)s rooms; %(venue)s has %(free)s free.")
                           % {"n": len(planned), "venue": sitting.venue.name, "free": len(free)}, "cases",
                           "too_few_rooms")
        slot = dt.timedelta(minutes=rules.minutes_per_worker)
        start = selectors.combine(sitting.date, sitting.starts_at)
        end = selectors.combine(sitting.date, sitting.ends_at)
        longest = max(len(p.case_ids) for p in planned)
        if start + slot * longest > end:
            raise invalid(_("%(n)s workers in one room at %(minutes)s minutes each do not fit between %(start)s and "
                             "%(end)s.") % {"n": longest, "minutes": rules.minutes_per_worker,
                                            "start": sitting.starts_at.strftime("%H:%M"),
                                            "end": sitting.ends_at.strftime("%H:%M")}, "cases", "sitting_too_long")
        result = FillResult()
        order = sitting.groups.count()
        for plan, room in zip(planned, free, strict=False):
            group = SittingGroup.objects.create(sitting=sitting, room=room, categories=list(plan.categories),
                                                order=order)
            order += 1
            busy = dict.fromkeys(experts_of_users(sorted(selectors.busy_between(sitting.committee, start, end)))
                                 .values(), _("booked elsewhere during this sitting"))
            experts_services.panel_draw_group(
                plan.case_ids, experts_services.DrawRequest(list(plan.categories), sitting_date=sitting.date,
                                                            busy=busy),
                actor=actor, at=at)
            result.groups.append(group)
            booked = [appointment_book(case_id, Booking(mode=Mode.SITTING, starts_at=start + slot * index,
                                                        ends_at=start + slot * (index + 1), group_id=group.pk,
                                                        short_notice_reason=short_notice_reason, notify_experts=False),
                                       actor=actor, today=today, at=at)
                      for index, case_id in enumerate(plan.case_ids)]
            _notify_room_panel(sitting, group, booked)
            result.appointments.extend(booked)
        audit.record("sitting.fill", actor=actor, obj=sitting, committee=sitting.committee,
                     after={"groups": [[g.room.name, g.categories] for g in result.groups],
                            "case_ids": sorted(categories_by_case)})
    return result


def _notify_room_panel(sitting: Sitting, group: SittingGroup, booked: list[Appointment]) -> None:
    """One SMS to each expert of a room's panel for the whole room, not one per worker."""
    from laojian.experts.selectors import expert_names

    lead = booked[0].case
    context = {"committee": sitting.committee.short_name or sitting.committee.name, "number": lead.number or "",
               "when": selectors.when_text(booked[0].starts_at, booked[-1].ends_at), "place": booked[0].place,
               "count": len(booked)}
    for expert in expert_names(panel_expert_ids(lead)).values():
        notifications.send(notifications.EXPERT_SITTING, expert.phone, context, case_id=None,
                           committee_id=sitting.committee_id, key=f"{notifications.EXPERT_SITTING}:{group.pk}:{expert.pk}")


def sitting_cancel(sitting_id: int, *, actor: User, reason: str, at: dt.datetime | None = None) -> Sitting:
    """Cancel a whole sitting: every live appointment on it is cancelled and everyone told."""
    require(actor, PLAN)
    reason = (reason or "").strip()
    if not reason:
        raise invalid(_("Give the reason for cancelling."), "reason", "no_reason")
    with transaction.atomic():
        sitting = selectors.sitting_get_for(actor, sitting_id)
        if sitting.state != Sitting.State.PLANNED:
            raise ConflictError(_("This sitting is no longer planned."), code="sitting_closed")
        for appointment_id in sitting.appointments.filter(state__in=Appointment.LIVE).values_list("pk", flat=True):
            appointment_cancel(appointment_id, actor=actor, reason=reason, at=at)
        sitting.state, sitting.cancel_reason = Sitting.State.CANCELLED, reason
        sitting.save(update_fields=["state", "cancel_reason", "updated_at"])
        audit.record("sitting.cancel", actor=actor, obj=sitting, committee=sitting.committee, after={"reason": reason})
    return sitting
