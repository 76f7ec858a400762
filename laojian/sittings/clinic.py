"""The appraisal clinic (鉴定门诊): the weekly duty roster, the bookable slots it yields, the earliest
suitable slot for a case, and booking one (by a clerk, or by the applicant on the portal).

Slots are never stored: ``generate_slots`` computes them (a pure function) from the roster lines, the
half-day bounds, the working calendar, the lead time and who is busy when; the readers here load
those inputs for a whole date range in a handful of queries, whatever its length. A booked slot is an
``Appointment`` (mode clinic, expert, roster entry); ``services.appointment_book`` and the
``clinic_slot_unique`` constraint make sure a slot is booked once.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases.models import Case, CaseAssignment, Mode, Status
from laojian.cases.selectors import cases_visible_to
from laojian.core import audit
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar
from laojian.core.errors import NotFoundError, PermissionDeniedError
from laojian.sittings import selectors
from laojian.sittings.models import Appointment, Half, Room, RosterEntry, Venue
from laojian.sittings.services import PLAN, Booking, appointment_book, invalid, lock_schedule, require

if TYPE_CHECKING:
    from laojian.core.models import Committee, User

Interval = tuple[dt.datetime, dt.datetime]
# Appointments that hold a clinic slot (the ``clinic_slot_unique`` constraint's states).
HOLDING = (*Appointment.LIVE, Appointment.State.EXAMINED)
PAGE_SLOTS = 20
FIRST_WINDOW_DAYS = 28


# THE ROSTER --------------------------------------------------------------------------------------

def _roster_actor(committee: Committee, actor: User) -> None:
    require(actor, PLAN)
    if actor.committee_id != committee.pk:
        raise PermissionDeniedError()


def _overlaps(a_from: dt.date, a_to: dt.date | None, b_from: dt.date, b_to: dt.date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def _entry_snapshot(entry: RosterEntry) -> dict[str, object]:
    return {"expert_id": entry.expert_id, "specialty_id": entry.specialty_id, "weekday": entry.weekday,
            "half": entry.half, "venue_id": entry.venue_id, "room_id": entry.room_id,
            "valid_from": entry.valid_from, "valid_to": entry.valid_to}


def roster_add(committee: Committee, *, actor: User, expert_id: int, specialty_id: int, weekday: int, half: str,
               venue_id: int, room_id: int | None = None, valid_from: dt.date,
               valid_to: dt.date | None = None) -> RosterEntry:
    """Add a line to the clinic's weekly duty roster: this expert sits this half-day every week.

    Refused: an expert of another committee, not active or without an account (a clinic booking names
    the expert's account), a specialty the expert does not have, a venue or room not of this committee,
    an end before the start, the same expert already on that weekday and half-day in an overlapping
    period, or the room already held by another expert then.
    """
    from laojian.experts.models import Expert

    _roster_actor(committee, actor)
    if valid_to is not None and valid_to < valid_from:
        raise invalid(_("The roster line cannot end before it starts."), "valid_to", "validity_order")
    if weekday not in range(7):
        raise invalid(_("Choose a weekday."), "weekday", "bad_weekday")
    if half not in Half.values:
        raise invalid(_("Choose the morning or the afternoon."), "half", "bad_half")
    with transaction.atomic():
        lock_schedule(committee)
        expert = Expert.objects.filter(pk=expert_id, committee=committee).first()
        if expert is None:
            raise invalid(_("Choose an expert of this committee."), "expert", "bad_expert")
        if expert.status != Expert.Status.ACTIVE or expert.user_id is None:
            raise invalid(_("%(name)s is not an active expert with an account.") % {"name": expert.name},
                          "expert", "expert_inactive")
        if expert.term_end < valid_from:
            raise invalid(_("%(name)s's term ends on %(date)s, before the line starts.")
                          % {"name": expert.name, "date": expert.term_end.isoformat()}, "valid_from", "out_of_term")
        if not expert.specialties.filter(pk=specialty_id).exists():
            raise invalid(_("%(name)s does not have this specialty.") % {"name": expert.name}, "specialty",
                          "bad_specialty")
        venue = Venue.objects.filter(pk=venue_id, committee=committee, active=True).first()
        if venue is None:
            raise invalid(_("Choose a venue of this committee."), "venue", "bad_venue")
        if room_id is not None and not Room.objects.filter(pk=room_id, venue=venue, active=True).exists():
            raise invalid(_("Choose a room of that venue."), "room", "bad_room")
        same_slot = RosterEntry.objects.filter(committee=committee, weekday=weekday, half=half)
        for other in same_slot.filter(expert=expert):
            if _overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
                raise invalid(_("%(name)s already sits this half-day (%(line)s, from %(date)s).")
                              % {"name": expert.name, "line": str(other), "date": other.valid_from.isoformat()},
                              "expert", "roster_duplicate")
        if room_id is not None:
            for other in same_slot.filter(room_id=room_id).exclude(expert=expert).select_related("expert"):
                if _overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
                    raise invalid(_("The room is already held then by %(name)s.") % {"name": other.expert.name},
                                  "room", "room_taken")
        entry = RosterEntry.objects.create(committee=committee, expert=expert, specialty_id=specialty_id,
                                           weekday=weekday, half=half, venue=venue, room_id=room_id,
                                           valid_from=valid_from, valid_to=valid_to)
        audit.record("roster.add", actor=actor, obj=entry, committee=committee, after=_entry_snapshot(entry))
    return entry


def roster_end(entry_id: int, *, actor: User, valid_to: dt.date) -> RosterEntry:
    """End a roster line on ``valid_to`` (its last day). It is kept: booked slots refer to it.

    Refused: an end before the line starts or after its current end, and an end that would leave
    booked appointments of the line after it (move them first).
    """
    require(actor, PLAN)
    with transaction.atomic():
        entry = RosterEntry.objects.filter(pk=entry_id, committee_id=actor.committee_id).first()
        if entry is None:
            raise NotFoundError()
        lock_schedule(entry.committee)
        if valid_to < entry.valid_from:
            raise invalid(_("The roster line cannot end before it starts."), "valid_to", "validity_order")
        if entry.valid_to is not None and valid_to > entry.valid_to:
            raise invalid(_("The line already ends on %(date)s.") % {"date": entry.valid_to.isoformat()},
                          "valid_to", "already_ends")
        after_end = selectors.combine(valid_to + dt.timedelta(days=1), dt.time(0, 0))
        booked = Appointment.objects.filter(roster_entry=entry, state__in=Appointment.LIVE,
                                            starts_at__gte=after_end).count()
        if booked:
            raise invalid(_("%(count)s appointments are booked on this line after that day: move them first.")
                          % {"count": booked}, "valid_to", "roster_has_bookings")
        before = _entry_snapshot(entry)
        entry.valid_to = valid_to
        entry.save(update_fields=["valid_to", "updated_at"])
        audit.record("roster.end", actor=actor, obj=entry, committee=entry.committee, before=before,
                     after=_entry_snapshot(entry))
    return entry


def roster_lines(committee: Committee, *, on: dt.date) -> QuerySet[RosterEntry]:
    """The roster lines still in force on ``on`` or later (the current and the coming ones)."""
    return (RosterEntry.objects.filter(committee=committee).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
            .select_related("expert", "specialty", "venue", "room").order_by("weekday", "half", "valid_from", "id"))


def uncovered_specialties(committee: Committee, *, on: dt.date, among: Iterable[int] | None = None) -> list[str]:
    """The names of the specialties (of the committee's experts, or ``among``) that no roster line in
    force on ``on`` or later covers: the clinic cannot take cases that need them."""
    from laojian.experts.selectors import specialties_of_committee_experts

    covered = set(roster_lines(committee, on=on).values_list("specialty_id", flat=True))
    specialties = specialties_of_committee_experts(committee)
    if among is not None:
        specialties = specialties.filter(pk__in=list(among))
    return [sp.name for sp in specialties if sp.pk not in covered]


@dataclass
class GridCell:
    weekday: int
    half: str
    entries: list[RosterEntry]


def roster_grid(committee: Committee, *, on: dt.date) -> list[tuple[int, str, list[GridCell]]]:
    """The weekly grid: rows = weekdays (Saturday and Sunday only when someone sits them), one cell a
    half-day with its lines. ``(weekday, label, [am cell, pm cell])``."""
    labels = dict(RosterEntry._meta.get_field("weekday").choices)
    by_cell: dict[tuple[int, str], list[RosterEntry]] = defaultdict(list)
    for entry in roster_lines(committee, on=on):
        by_cell[(entry.weekday, entry.half)].append(entry)
    days = [d for d in range(7) if d < 5 or any(by_cell.get((d, h)) for h in Half.values)]
    return [(d, str(labels[d]), [GridCell(d, h, by_cell.get((d, h), [])) for h in Half.values]) for d in days]


# SLOTS (PURE) ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A roster line as the slot generator needs it."""

    entry_id: int
    expert_id: int
    weekday: int
    half: str
    valid_from: dt.date
    valid_to: dt.date | None
    specialty_id: int = 0
    place: str = ""
    expert_name: str = ""
    specialty_name: str = ""


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    expert_id: int
    entry_id: int
    place: str = ""
    expert_name: str = ""
    specialty_name: str = ""

    @property
    def key(self) -> str:
        """What a booking form posts: the roster line and the local start."""
        return f"{self.entry_id}@{selectors.local(self.starts_at):%Y-%m-%dT%H:%M}"

    @property
    def text(self) -> str:
        return selectors.when_text(self.starts_at, self.ends_at)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same time (so one bisect finds any overlap)."""
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


class Busy:
    """Busy intervals, asked "does start..end overlap any?" in O(log n)."""

    def __init__(self, intervals: Iterable[Interval] = ()):
        self.intervals = merge(intervals)
        self.starts = [s for s, _e in self.intervals]

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        i = bisect.bisect_left(self.starts, end)  # intervals starting before ``end``
        return i > 0 and self.intervals[i - 1][1] > start


def generate_slots(lines: Iterable[Line], *, first: dt.date, last: dt.date,
                   bounds: Mapping[str, tuple[dt.time, dt.time]], minutes: int,
                   is_workday: Callable[[dt.date], bool], earliest: dt.date,
                   busy: Mapping[int, Busy] | None = None, also_busy: Busy | None = None,
                   away: Mapping[int, list[tuple[dt.date, dt.date]]] | None = None,
                   not_before: dt.datetime | None = None,
                   make: Callable[[dt.date, dt.time], dt.datetime] = selectors.combine) -> Iterator[Slot]:
    """The free clinic slots of ``first..last`` in time order (then by roster line).

    A line yields, on each working day of its weekday within its validity and not before ``earliest``
    (today plus the notice lead time), back-to-back slots of ``minutes`` inside its half-day's bounds.
    Left out: slots overlapping a busy interval of the expert (``busy``: expert id → Busy; booked
    clinic slots, panels elsewhere) or of the case (``also_busy``: its worker and panel), days the
    expert is away (``away``: expert id → date ranges, both ends included), slots starting before
    ``not_before``, and a second slot of one expert at the same time (two lines of one half-day).
    """
    if minutes <= 0:
        return
    step = dt.timedelta(minutes=minutes)
    busy = busy or {}
    away = away or {}
    by_weekday: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        by_weekday[line.weekday].append(line)
    for lines_of_day in by_weekday.values():
        lines_of_day.sort(key=lambda ln: (0 if ln.half == Half.MORNING else 1, ln.entry_id))
    day = max(first, earliest)
    while day <= last:
        todays = [ln for ln in by_weekday.get(day.weekday(), ())
                  if ln.valid_from <= day and (ln.valid_to is None or day <= ln.valid_to)]
        if todays and is_workday(day):
            found: list[Slot] = []
            seen: set[tuple[int, dt.datetime]] = set()
            for line in todays:
                if any(a <= day <= b for a, b in away.get(line.expert_id, ())):
                    continue
                begin, end = bounds[line.half]
                start, limit = make(day, begin), make(day, end)
                expert_busy = busy.get(line.expert_id)
                while start + step <= limit:
                    slot_end = start + step
                    if ((line.expert_id, start) not in seen
                            and (not_before is None or start >= not_before)
                            and not (expert_busy and expert_busy.overlaps(start, slot_end))
                            and not (also_busy and also_busy.overlaps(start, slot_end))):
                        seen.add((line.expert_id, start))
                        found.append(Slot(start, slot_end, line.expert_id, line.entry_id, line.place,
                                          line.expert_name, line.specialty_name))
                    start = slot_end
            found.sort(key=lambda s: (s.starts_at, s.entry_id))
            yield from found
        day += dt.timedelta(days=1)


# SLOTS (READS) -----------------------------------------------------------------------------------

def workday_test(first: dt.date, last: dt.date) -> Callable[[dt.date], bool]:
    """``is_workday`` over one loaded calendar; a year without a holiday schedule counts weekdays."""
    calendar = WorkingCalendar.for_range(first, last)

    def is_workday(day: dt.date) -> bool:
        try:
            return calendar.is_workday(day)
        except CalendarYearMissing:
            return day.weekday() < 5

    return is_workday


def place_of(entry: RosterEntry) -> str:
    """The place as the notice prints it: the venue, its address and the room."""
    text = f"{entry.venue.name}（{entry.venue.address}）"
    return f"{text}{entry.room.name}" if entry.room_id else text


def _lines(committee: Committee, first: dt.date, last: dt.date, *, specialty_ids: Iterable[int] | None,
           expert_ids: Iterable[int] | None) -> list[tuple[Line, RosterEntry]]:
    from laojian.experts.models import Expert

    qs = (RosterEntry.objects.filter(committee=committee, valid_from__lte=last,
                                     expert__status=Expert.Status.ACTIVE, expert__user__isnull=False)
          .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
          .select_related("expert", "specialty", "venue", "room"))
    if specialty_ids is not None:
        qs = qs.filter(specialty_id__in=list(specialty_ids))
    if expert_ids is not None:
        qs = qs.filter(expert_id__in=list(expert_ids))
    return [(Line(e.pk, e.expert_id, e.weekday, e.half, e.valid_from, e.valid_to, e.specialty_id, place_of(e),
                  e.expert.name, e.specialty.name), e) for e in qs.order_by("id")]


def _away(committee: Committee, entries: list[RosterEntry], first: dt.date, last: dt.date
          ) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Per expert, the days of ``first..last`` they cannot sit (``experts.selectors.availability``:
    not active, no account, outside their term, before the training the committee requires, on leave)."""
    from laojian.experts.selectors import availability

    away: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for expert_id, can in availability(committee, sorted({e.expert_id for e in entries})).items():
        if not (can.active and can.has_account) or can.trained_from is None:
            away[expert_id].append((dt.date.min, dt.date.max))
            continue
        starts = max(can.term_start, can.trained_from)
        if starts > first:
            away[expert_id].append((dt.date.min, starts - dt.timedelta(days=1)))
        if can.term_end < last:
            away[expert_id].append((can.term_end + dt.timedelta(days=1), dt.date.max))
        away[expert_id].extend(period for period in can.away if period[0] <= last and period[1] >= first)
    return away


def busy_users(user_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> dict[int, list[Interval]]:
    """What each of these users holds in ``start..end``: clinic slots (live or examined) and the live
    appointments of the cases they sit on as panel experts. Two queries for any range."""
    users = sorted(set(user_ids))
    found: dict[int, list[Interval]] = defaultdict(list)
    if not users:
        return found
    rows = list(Appointment.objects.filter(starts_at__lt=end, ends_at__gt=start)
                .filter(Q(state__in=Appointment.LIVE) | Q(state=Appointment.State.EXAMINED, expert__isnull=False))
                .filter(selectors.appointments_of_experts(users))
                .values_list("case_id", "expert__user_id", "starts_at", "ends_at", "state"))
    case_ids = {case_id for case_id, _u, _s, _e, state in rows if state in Appointment.LIVE}
    sitters: dict[int, set[int]] = defaultdict(set)
    for case_id, user_id in (CaseAssignment.objects.filter(user_id__in=users, role__in=selectors.PANEL_ROLES,
                                                           active=True, case_id__in=case_ids)
                             .values_list("case_id", "user_id")):
        sitters[case_id].add(user_id)
    wanted = set(users)
    for case_id, clinic_user, s, e, state in rows:
        holders = set(sitters.get(case_id, ())) if state in Appointment.LIVE else set()
        if clinic_user in wanted:
            holders.add(clinic_user)
        for user_id in holders:
            found[user_id].append((s, e))
    return found


def _window(first: dt.date, last: dt.date) -> Interval:
    return selectors.combine(first, dt.time(0, 0)), selectors.combine(last + dt.timedelta(days=1), dt.time(0, 0))


def bookable_slots(committee: Committee, *, first: dt.date, last: dt.date, today: dt.date | None = None,
                   specialty_ids: Iterable[int] | None = None, expert_ids: Iterable[int] | None = None,
                   exclude_experts: Iterable[int] = (), also_busy: Busy | None = None,
                   now: dt.datetime | None = None) -> Iterator[Slot]:
    """The committee's free clinic slots in ``first..last`` from its roster (lazy, in time order).

    Five queries whatever the range: the rules, the roster lines, the calendar, the leave periods and
    the bookings of the roster's experts (then their panels).
    """
    today = today or clocks.today()
    now = now or timezone.now()
    rules = selectors.rules_for(committee)
    excluded = set(exclude_experts)
    pairs = [(line, e) for line, e in _lines(committee, first, last, specialty_ids=specialty_ids,
                                             expert_ids=expert_ids) if line.expert_id not in excluded]
    if not pairs or last < first:
        return iter(())
    entries = [e for _line, e in pairs]
    start, end = _window(first, last)
    user_of = {e.expert_id: e.expert.user_id for e in entries}
    held = busy_users(user_of.values(), start, end)
    busy = {expert_id: Busy(held.get(user_id, ())) for expert_id, user_id in user_of.items()}
    return generate_slots(
        [line for line, _e in pairs], first=first, last=last,
        bounds={h: rules.half_bounds(h) for h in Half.values}, minutes=rules.clinic_slot_minutes,
        is_workday=workday_test(first, last), earliest=today + dt.timedelta(days=rules.notice_lead_days),
        busy=busy, also_busy=also_busy, away=_away(committee, entries, first, last), not_before=now)


# THE CASE ----------------------------------------------------------------------------------------

def case_specialties(case: Case) -> list[int] | None:
    """The specialties that can judge the case's injuries, or None (any roster expert) when the case
    records no categories. A case has no category field of its own: the categories of its latest
    first panel are the record (``experts.selectors.first_panel_categories``), mapped to specialties
    by the committee's category → specialty map."""
    from laojian.experts.models import Specialty
    from laojian.experts.selectors import first_panel_categories, specialties_for_categories

    categories = first_panel_categories(case)
    if not categories:
        return None
    codes = sorted({code for codes in specialties_for_categories(categories).values() for code in codes})
    return list(Specialty.objects.filter(code__in=codes).values_list("pk", flat=True))


def recused_experts(case: Case, expert_ids: Iterable[int]) -> dict[int, str]:
    """The experts among these who must not examine the case, by the draw's recusal rules (separation
    of duties, declared conflicts, the committee's exclusions, treating hospitals, earlier appraisals
    of the worker): expert id → the reason, translated."""
    from laojian.experts.selectors import recusals_of_experts

    return recusals_of_experts(case, list(expert_ids))


def _case_busy(case: Case, start: dt.datetime, end: dt.datetime) -> Busy:
    """The worker's and the case's panel experts' other live bookings (booking would refuse them)."""
    panel = list(selectors.panel_experts(case))
    intervals = [iv for ivs in busy_users(panel, start, end).values() for iv in ivs]
    intervals += list(Appointment.objects.filter(case__worker_id=case.worker_id, state__in=Appointment.LIVE,
                                                 starts_at__lt=end, ends_at__gt=start)
                      .exclude(case=case).values_list("starts_at", "ends_at"))
    return Busy(intervals)


def case_slots(case: Case, *, specialty_ids: Iterable[int] | None = None, today: dt.date | None = None,
               horizon_days: int = 365, now: dt.datetime | None = None) -> Iterator[Slot]:
    """The free slots that suit the case, in time order: a roster expert of a specialty that can judge
    its injuries (any, when none is recorded), without an interest in the case, free when the worker
    and the case's panel are free."""
    today = today or clocks.today()
    if specialty_ids is None:
        specialty_ids = case_specialties(case)
    specialty_ids = None if specialty_ids is None else list(specialty_ids)
    horizon = today + dt.timedelta(days=horizon_days)
    expert_ids = set(RosterEntry.objects.filter(committee_id=case.committee_id).values_list("expert_id", flat=True))
    excluded = set(recused_experts(case, expert_ids))
    # Windows of growing length (4 weeks, 8, 16, ...): the earliest slot is usually in the first, and
    # each window costs the same few queries however many slots it holds.
    first, length = today, FIRST_WINDOW_DAYS
    while first <= horizon:
        last = min(first + dt.timedelta(days=length - 1), horizon)
        start, end = _window(first, last)
        yield from bookable_slots(case.committee, first=first, last=last, today=today, specialty_ids=specialty_ids,
                                  exclude_experts=excluded, also_busy=_case_busy(case, start, end), now=now)
        first, length = last + dt.timedelta(days=1), length * 2


def earliest_slot(case: Case, *, specialty_ids: Iterable[int] | None = None, today: dt.date | None = None,
                  horizon_days: int = 365) -> Slot | None:
    """The first free slot that suits the case within ``horizon_days``, or None."""
    return next(case_slots(case, specialty_ids=specialty_ids, today=today, horizon_days=horizon_days), None)


def next_slots(case: Case, *, count: int = PAGE_SLOTS, specialty_ids: Iterable[int] | None = None,
               today: dt.date | None = None, horizon_days: int = 365) -> list[Slot]:
    """The first ``count`` free slots that suit the case (the earliest first)."""
    return list(islice(case_slots(case, specialty_ids=specialty_ids, today=today, horizon_days=horizon_days),
                       count))


# BOOKING -----------------------------------------------------------------------------------------

def parse_key(key: str) -> tuple[int, dt.datetime]:
    """A slot's form value (``<roster line>@<local start>``) → (line id, aware start)."""
    try:
        entry_part, when = str(key).split("@", 1)
        day, time = when.split("T", 1)
        return int(entry_part), selectors.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(time))
    except (ValueError, TypeError):
        raise invalid(_("Choose one of the slots offered."), "slot", "bad_slot") from None


def slot_of(case: Case, entry_id: int, starts_at: dt.datetime) -> Slot:
    """The slot ``starts_at`` of a roster line, checked against the roster: the line is the case's
    committee's and holds that day, the time is on its half-day's grid, the expert may examine it."""
    entry = (RosterEntry.objects.filter(pk=entry_id, committee_id=case.committee_id)
             .select_related("expert", "specialty", "venue", "room").first())
    refused = invalid(_("This slot is not on the clinic roster. Choose one of the slots offered."), "slot",
                      "not_on_roster")
    if entry is None:
        raise refused
    day = selectors.local(starts_at).date()
    if not (entry.weekday == day.weekday() and entry.valid_from <= day
            and (entry.valid_to is None or day <= entry.valid_to)):
        raise refused
    rules = selectors.rules_for(case.committee)
    begin, end = rules.half_bounds(entry.half)
    first, limit = selectors.combine(day, begin), selectors.combine(day, end)
    step = dt.timedelta(minutes=rules.clinic_slot_minutes)
    offset = starts_at - first
    if starts_at < first or starts_at + step > limit or offset % step:
        raise refused
    why = recused_experts(case, [entry.expert_id]).get(entry.expert_id)
    if why:
        raise invalid(_("%(name)s may not examine this case (%(reason)s). Choose another slot.")
                      % {"name": entry.expert.name, "reason": why}, "slot", "expert_recused")
    return Slot(starts_at, starts_at + step, entry.expert_id, entry.pk, place_of(entry), entry.expert.name,
                entry.specialty.name)


def clinic_book(case_id: int, *, entry_id: int, starts_at: dt.datetime, actor: User,
                today: dt.date | None = None) -> Appointment:
    """Book a clinic slot for the case through ``services.appointment_book`` (which checks the case,
    the lead time, the calendar and double booking, and schedules the case)."""
    case = Case.objects.filter(pk=case_id).select_related("committee").first()
    if case is None or not cases_visible_to(actor).filter(pk=case_id).exists():
        raise NotFoundError()
    slot = slot_of(case, entry_id, starts_at)
    booking = Booking(mode=Mode.CLINIC, starts_at=slot.starts_at, ends_at=slot.ends_at, expert_id=slot.expert_id,
                      roster_entry_id=slot.entry_id, place=slot.place)
    return appointment_book(case_id, booking, actor=actor, today=today)


def applicant_cases(applicant: User) -> QuerySet[Case]:
    """The applicant's own cases waiting for a clinic appointment (reviewed, clinic, none live)."""
    live = Appointment.objects.filter(state__in=Appointment.LIVE).values("case_id")
    return (cases_visible_to(applicant).filter(applicant_user=applicant, mode=Mode.CLINIC, status=Status.REVIEWED)
            .exclude(pk__in=live).select_related("committee").order_by("reviewed_on", "id"))


def clinic_book_by_applicant(case_id: int, *, applicant: User, entry_id: int, starts_at: dt.datetime,
                             today: dt.date | None = None, ip_address: str = "") -> Appointment:
    """The applicant books a slot for their own case on the portal.

    ``appointment_book`` requires the planner's permission and runs the case's ``schedule`` step, which
    an applicant holds neither of. The permission is checked here instead: the case must be the
    applicant's own (``applicant_user``), in clinic mode and waiting for its appointment; the booking
    then runs as the committee's own account (``cases.services.system_actor``, as the rules' automatic
    steps do), and the audit trail records the applicant as the one who chose the slot.
    """
    from laojian.cases.services import system_actor

    if not applicant.has_perm("cases.submit_case"):
        raise NotFoundError()
    case = applicant_cases(applicant).filter(pk=case_id).first()
    if case is None:
        raise NotFoundError()
    with transaction.atomic():
        appointment = clinic_book(case.pk, entry_id=entry_id, starts_at=starts_at,
                                  actor=system_actor(case.committee), today=today)
        audit.record("appointment.book_by_applicant", actor=applicant, obj=appointment, committee=case.committee,
                     after={"case_id": case.pk, "starts_at": appointment.starts_at,
                            "expert_id": appointment.expert_id}, ip_address=ip_address)
    return appointment


__all__ = [
    "Busy", "Line", "Slot", "applicant_cases", "bookable_slots", "case_slots", "clinic_book",
    "clinic_book_by_applicant", "earliest_slot", "generate_slots", "next_slots", "roster_add", "roster_end",
    "roster_grid", "roster_lines",
]
