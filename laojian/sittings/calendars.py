"""Calendars: the scheduler's day and week, an expert's own appointments and clinic duties, the
overlaps that exist despite the booking rule, and the expert's iCalendar feed (RFC 5545).

Reads are selectors with a fixed number of queries each, whatever the number of rows
(select_related / prefetch, counting in Python). The feed key is the only write (``feed_rotate``).

The iCalendar writer is hand-made (it is small): calendar data leaves the system, so an event
names the mode and the case number, the place and what to bring, never the worker or a diagnosis.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases.models import CaseAssignment, Mode
from laojian.core import audit
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar, local_day_bounds
from laojian.sittings import selectors
from laojian.sittings.models import Appointment, CalendarFeed, Half, RosterEntry, Sitting, SittingGroup

if TYPE_CHECKING:
    from laojian.core.models import Committee, User

# What a calendar shows: not the appointments that were replaced or called off.
SHOWN_STATES = (Appointment.State.BOOKED, Appointment.State.CHECKED_IN, Appointment.State.EXAMINED,
                Appointment.State.EXCUSED, Appointment.State.ABSENT, Appointment.State.REFUSED)
# What an expert's own calendar shows: what is still to come, and what took place.
EXPERT_STATES = (Appointment.State.BOOKED, Appointment.State.CHECKED_IN, Appointment.State.EXAMINED)

FEED_DAYS_BEFORE = 30
FEED_DAYS_AFTER = 180
PRODID = "-//Laojian//Appraisal calendar//ZH"
ICS_TIMEZONE = "Asia/Shanghai"


def _panels_prefetch() -> Prefetch:
    """The case's active panel experts with their users, on ``case.panel``."""
    return Prefetch("case__assignments", to_attr="panel",
                    queryset=CaseAssignment.objects.filter(role__in=selectors.PANEL_ROLES, active=True)
                    .select_related("user").order_by("id"))


def _appointments(committee: Committee, first: dt.date, last: dt.date, states: Sequence[str]):
    start, end = local_day_bounds(first, last)
    return (Appointment.objects.filter(committee=committee, state__in=list(states), starts_at__gte=start,
                                       starts_at__lt=end)
            .select_related("case__worker", "group__room", "sitting__venue", "expert", "staff_member")
            .order_by("starts_at", "id"))


def _workday(cal: WorkingCalendar, day: dt.date) -> tuple[bool, str]:
    """Whether ``day`` is a working day, and a note when its year has no holiday schedule."""
    try:
        return cal.is_workday(day), ""
    except CalendarYearMissing as exc:
        return day.weekday() < 5, exc.message


# OVERLAPS ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overlap:
    """Two live appointments of one expert, room or worker at overlapping times."""

    kind: str  # worker, expert, room
    who: str
    first: Appointment
    second: Appointment

    @property
    def message(self) -> str:
        labels = {"worker": _("The worker"), "expert": _("Expert"), "room": _("Room")}
        return _("%(kind)s %(who)s is booked twice: %(first)s (%(a)s) and %(second)s (%(b)s).") % {
            "kind": labels[self.kind], "who": self.who,
            "first": selectors.when_text(self.first.starts_at, self.first.ends_at),
            "second": selectors.when_text(self.second.starts_at, self.second.ends_at),
            "a": self.first.case.number or f"#{self.first.case_id}",
            "b": self.second.case.number or f"#{self.second.case_id}"}


def _experts_of(appointment: Appointment) -> dict[int, str]:
    """User id → name of the experts an appointment holds: its case's panel and its clinic expert
    (the same notion as ``selectors.appointments_of_experts``). Needs ``case.panel`` prefetched."""
    experts = {a.user_id: str(a.user) for a in getattr(appointment.case, "panel", [])}
    if appointment.expert_id and appointment.expert.user_id:
        experts[appointment.expert.user_id] = appointment.expert.name
    return experts


def _find_overlaps(appointments: Iterable[Appointment]) -> list[Overlap]:
    """Pairs of live appointments that overlap for the same expert, room or worker.

    As the booking service: the appointments of one sitting room (``group_id``) share a panel and a
    room and follow each other, so they never count against each other for experts and rooms.
    """
    holders: dict[tuple[str, int], tuple[str, list[Appointment]]] = {}
    for a in appointments:
        if a.state not in Appointment.LIVE:
            continue
        keys = [("worker", a.case.worker_id, a.case.worker.name)]
        keys += [("expert", user_id, name) for user_id, name in _experts_of(a).items()]
        if a.group_id:
            keys.append(("room", a.group.room_id, str(a.group.room)))
        for kind, key, name in keys:
            holders.setdefault((kind, key), (name, []))[1].append(a)
    found: list[Overlap] = []
    for (kind, _key), (name, booked) in holders.items():
        booked.sort(key=lambda a: (a.starts_at, a.pk))
        for i, a in enumerate(booked):
            for b in booked[i + 1:]:
                if b.starts_at >= a.ends_at:
                    break
                if kind != "worker" and a.group_id and a.group_id == b.group_id:
                    continue
                found.append(Overlap(kind, name, a, b))
    found.sort(key=lambda o: (o.first.starts_at, o.kind, o.who, o.first.pk, o.second.pk))
    return found


def overlaps(committee: Committee, day: dt.date) -> list[Overlap]:
    """Experts, rooms and workers with two live appointments at overlapping times on ``day``.

    The booking service refuses these; this finds the ones that exist anyway (entered before the
    rule, or by hand). Two queries.
    """
    rows = _appointments(committee, day, day, Appointment.LIVE).prefetch_related(_panels_prefetch())
    return _find_overlaps(rows)


# THE DAY -------------------------------------------------------------------------------------------

@dataclass
class DayEntry:
    """One appointment on the scheduler's day."""

    appointment: Appointment
    panel: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def case(self):
        return self.appointment.case

    @property
    def worker_name(self) -> str:
        return self.appointment.case.worker.name

    @property
    def room(self) -> str:
        return self.appointment.group.room.name if self.appointment.group_id else ""

    @property
    def clinic_expert(self) -> str:
        return self.appointment.expert.name if self.appointment.expert_id else ""


@dataclass
class Lane:
    """A column of the day: a sitting room, a clinic expert, a home-visit team, or remote appraisal."""

    kind: str  # room, clinic, home, remote
    label: str
    entries: list[DayEntry] = field(default_factory=list)

    @property
    def warnings(self) -> int:
        return sum(1 for e in self.entries if e.warnings)


@dataclass
class SittingRow:
    sitting: Sitting
    rooms: list[SittingGroup]
    workers: int


@dataclass
class DayView:
    day: dt.date
    workday: bool
    note: str
    sittings: list[SittingRow]
    entries: list[DayEntry]
    lanes: list[Lane]
    overlaps: list[Overlap]

    @property
    def previous(self) -> dt.date:
        return self.day - dt.timedelta(days=1)

    @property
    def next(self) -> dt.date:
        return self.day + dt.timedelta(days=1)


def _sittings(committee: Committee, first: dt.date, last: dt.date):
    counted = Q(appointments__state__in=list(SHOWN_STATES))
    return (Sitting.objects.filter(committee=committee, date__range=(first, last))
            .exclude(state=Sitting.State.CANCELLED)
            .select_related("venue")
            .annotate(workers=Count("appointments", filter=counted, distinct=True))
            .order_by("date", "starts_at", "id"))


def _lane_of(entry: DayEntry) -> tuple[tuple, str, str]:
    """(sort key, kind, label) of the lane an appointment goes in."""
    a = entry.appointment
    if a.group_id:
        return (0, a.sitting_id or 0, a.group.order, a.group_id), "room", f"{a.sitting.venue.name} {a.group.room.name}"
    if a.mode == Mode.CLINIC and a.expert_id:
        return (1, a.expert.name, a.expert_id), "clinic", a.expert.name
    if a.mode == Mode.HOME:
        team = [str(a.staff_member)] if a.staff_member_id else []
        team += entry.panel
        label = "、".join(team) or _("home visit")
        return (2, label), "home", label
    if a.mode == Mode.REMOTE:
        return (3,), "remote", _("remote appraisal")
    return (4, a.mode), a.mode, str(a.get_mode_display())


def day_view(committee: Committee, day: dt.date) -> DayView:
    """Everything of one day for the scheduler, in a fixed number of queries (five).

    The sittings (rooms and number of workers), and the appointments of every mode in time order
    with their case, worker, place, room, clinic expert and the case's panel experts, grouped into
    lanes: each sitting room, each clinic expert, each home-visit team (staff member and panel),
    remote appraisal. Overlaps of live appointments are marked on both entries.
    """
    workday, note = _workday(WorkingCalendar.for_range(day, day), day)
    sittings = list(_sittings(committee, day, day).prefetch_related(
        Prefetch("groups", queryset=SittingGroup.objects.select_related("room").order_by("order", "id"))))
    rows = list(_appointments(committee, day, day, SHOWN_STATES).prefetch_related(_panels_prefetch()))
    entries = [DayEntry(a, [str(x.user) for x in a.case.panel]) for a in rows]
    found = _find_overlaps(rows)
    by_pk = {e.appointment.pk: e for e in entries}
    for overlap in found:
        for a in (overlap.first, overlap.second):
            by_pk[a.pk].warnings.append(overlap.message)
    lanes: dict[tuple, Lane] = {}
    for entry in entries:
        key, kind, label = _lane_of(entry)
        lanes.setdefault(key, Lane(kind, label)).entries.append(entry)
    return DayView(day=day, workday=workday, note=note,
                   sittings=[SittingRow(s, list(s.groups.all()), s.workers) for s in sittings],
                   entries=entries, lanes=[lanes[k] for k in sorted(lanes)], overlaps=found)


# THE WEEK ------------------------------------------------------------------------------------------

@dataclass
class WeekCell:
    """One half-day of the week: appointments per mode and the sittings held in it."""

    half: str
    counts: dict[str, int]
    sittings: list[Sitting]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def mode_counts(self) -> list[tuple[str, str, int]]:
        """(mode, label, count) for the modes with appointments, in the modes' order."""
        return [(mode, str(label), self.counts[mode]) for mode, label in Mode.choices if self.counts.get(mode)]


@dataclass
class WeekDay:
    date: dt.date
    workday: bool
    morning: WeekCell
    afternoon: WeekCell

    @property
    def cells(self) -> list[WeekCell]:
        return [self.morning, self.afternoon]


@dataclass
class WeekView:
    monday: dt.date
    days: list[WeekDay]
    notes: list[str]

    @property
    def previous(self) -> dt.date:
        return self.monday - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        return self.monday + dt.timedelta(days=7)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_view(committee: Committee, monday: dt.date) -> WeekView:
    """Seven days × (morning, afternoon): appointments per mode, the sittings, rest days marked.

    Four queries: the calendar data (once for the week), the scheduling rules, the sittings and
    the appointments' (time, mode). A year without a holiday schedule is judged by the weekday
    rule, with the calendar's note. An appointment before the afternoon starts counts as morning.
    """
    monday = monday_of(monday)
    sunday = monday + dt.timedelta(days=6)
    cal = WorkingCalendar.for_range(monday, sunday)
    rules = selectors.rules_for(committee)
    pm_start = rules.afternoon_start
    counts: dict[tuple[dt.date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    start, end = local_day_bounds(monday, sunday)
    for starts_at, mode in (Appointment.objects.filter(committee=committee, state__in=list(SHOWN_STATES),
                                                       starts_at__gte=start, starts_at__lt=end)
                            .values_list("starts_at", "mode")):
        local = selectors.local(starts_at)
        half = Half.MORNING if local.time() < pm_start else Half.AFTERNOON
        counts[(local.date(), half)][mode] += 1
    held: dict[tuple[dt.date, str], list[Sitting]] = defaultdict(list)
    for sitting in _sittings(committee, monday, sunday):
        if sitting.starts_at < pm_start:
            held[(sitting.date, Half.MORNING)].append(sitting)
        if sitting.ends_at > pm_start:
            held[(sitting.date, Half.AFTERNOON)].append(sitting)
    days: list[WeekDay] = []
    notes: list[str] = []
    for i in range(7):
        day = monday + dt.timedelta(days=i)
        workday, note = _workday(cal, day)
        if note and note not in notes:
            notes.append(note)
        days.append(WeekDay(day, workday, *(
            WeekCell(half, dict(counts.get((day, half), {})), held.get((day, half), []))
            for half in (Half.MORNING, Half.AFTERNOON))))
    return WeekView(monday=monday, days=days, notes=notes)


# AN EXPERT'S OWN CALENDAR ------------------------------------------------------------------------

@dataclass
class ExpertEvent:
    """An appointment the expert takes part in, or a half-day of clinic duty (no appointment)."""

    kind: str  # appointment, duty
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    location: str
    description: str
    appointment: Appointment | None = None
    duty: RosterEntry | None = None

    @property
    def day(self) -> dt.date:
        return selectors.local(self.starts_at).date()


def _appointment_event(a: Appointment) -> ExpertEvent:
    number = a.case.number or f"#{a.case_id}"
    details = []
    if a.group_id:
        details.append(_("Room: %(room)s") % {"room": a.group.room.name})
    if a.bring:
        details.append(_("The worker brings: %(bring)s") % {"bring": a.bring})
    if a.video_room:
        details.append(_("Video room: %(url)s") % {"url": a.video_room})
    return ExpertEvent(kind="appointment", uid=f"appointment-{a.pk}@laojian", starts_at=a.starts_at,
                       ends_at=a.ends_at, summary=f"{a.get_mode_display()} {number}", location=a.place,
                       description="\n".join(details), appointment=a)


def _duty_event(entry: RosterEntry, day: dt.date, rules) -> ExpertEvent:
    first, last = rules.half_bounds(entry.half)
    place = f"{entry.venue.name}（{entry.venue.address}）" + (entry.room.name if entry.room_id else "")
    return ExpertEvent(kind="duty", uid=f"duty-{entry.pk}-{day:%Y%m%d}@laojian",
                       starts_at=selectors.combine(day, first), ends_at=selectors.combine(day, last),
                       summary=_("Clinic duty: %(specialty)s") % {"specialty": entry.specialty.name},
                       location=place, description=str(entry.get_half_display()), duty=entry)


def expert_calendar(user: User, first: dt.date, last: dt.date) -> list[ExpertEvent]:
    """One expert's own things from ``first`` to ``last`` (inclusive), in time order.

    Their clinic slots, and the appointments of cases on whose panel they sit, booked or examined
    (not cancelled or rescheduled); and their clinic roster duties as whole half-day entries, on
    working days only (the clinic offers no slots on rest days and public holidays). A fixed number of queries (five).
    """
    start, end = local_day_bounds(first, last)
    rows = (Appointment.objects.filter(selectors.appointments_of_experts([user.pk]))
            .filter(state__in=list(EXPERT_STATES), starts_at__gte=start, starts_at__lt=end)
            .select_related("case", "group__room")
            .order_by("starts_at", "id"))
    events = [_appointment_event(a) for a in rows]
    entries = list(RosterEntry.objects.filter(expert__user=user, valid_from__lte=last)
                   .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
                   .select_related("venue", "room", "specialty", "committee"))
    if entries:
        rules = selectors.rules_for(entries[0].committee)
        cal = WorkingCalendar.for_range(first, last)
        day = first
        while day <= last:
            open_day, _note = _workday(cal, day)
            for entry in entries:
                if (open_day and entry.weekday == day.weekday() and entry.valid_from <= day
                        and (entry.valid_to is None or entry.valid_to >= day)):
                    events.append(_duty_event(entry, day, rules))
            day += dt.timedelta(days=1)
    events.sort(key=lambda e: (e.starts_at, e.kind, e.uid))
    return events


def feed_events(user: User, *, today: dt.date | None = None) -> list[ExpertEvent]:
    """What the iCalendar feed carries: from 30 days ago to 180 days ahead."""
    today = today or timezone.localdate()
    return expert_calendar(user, today - dt.timedelta(days=FEED_DAYS_BEFORE),
                           today + dt.timedelta(days=FEED_DAYS_AFTER))


# THE FEED KEY --------------------------------------------------------------------------------------

def feed_for(user: User) -> CalendarFeed:
    """The user's feed (its secret address), made on first use."""
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


def feed_rotate(user: User) -> CalendarFeed:
    """Give the feed a new key: the old address stops working at once. Audited (never the key)."""
    with transaction.atomic():
        feed = feed_for(user)
        feed.token = secrets.token_urlsafe(24)
        feed.save(update_fields=["token"])
        audit.record("calendar_feed.rotate", actor=user, obj=feed,
                     committee=user.committee if user.committee_id else None, after={"user_id": user.pk})
    return feed


def feed_user(token: str) -> User | None:
    """The active user whose feed has this key, or None (a wrong or replaced key)."""
    if not token:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


# iCALENDAR (RFC 5545) ------------------------------------------------------------------------------

class IcsEvent(Protocol):
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    location: str
    description: str


def ics_escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def ics_fold(line: str) -> str:
    """Fold a content line into lines of at most 75 octets (RFC 5545 3.1), never inside a character.

    Continuation lines start with one space, which counts towards their 75 octets.
    """
    parts: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)


def ics_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def to_ics(events: Iterable[IcsEvent], *, name: str, stamp: dt.datetime | None = None) -> str:
    """An iCalendar (VCALENDAR) of the events, CRLF line endings, times in UTC."""
    stamp_text = ics_time(stamp or timezone.now())
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{ics_escape(name)}", f"X-WR-TIMEZONE:{ICS_TIMEZONE}"]
    for event in events:
        lines += ["BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{stamp_text}",
                  f"DTSTART:{ics_time(event.starts_at)}", f"DTEND:{ics_time(event.ends_at)}",
                  f"SUMMARY:{ics_escape(event.summary)}"]
        if event.location:
            lines.append(f"LOCATION:{ics_escape(event.location)}")
        if event.description:
            lines.append(f"DESCRIPTION:{ics_escape(event.description)}")
        lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) + "\r\n" for line in lines)
