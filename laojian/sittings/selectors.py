"""Reads: scheduling rules, who is busy when (double-booking), a case's appointments, queues."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases.models import CaseAssignment
from laojian.core.calendar import local_day_bounds
from laojian.core.validators import mask_name
from laojian.sittings.models import (
    Appointment,
    ExtraExamination,
    Half,
    RosterEntry,
    SchedulingRules,
    Sitting,
    SittingGroup,
)

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import Committee, User

PANEL_ROLES = (CaseAssignment.Role.EXPERT,)


def rules_for(committee: Committee) -> SchedulingRules:
    """The committee's scheduling rules, or the defaults (unsaved) when it has set none."""
    return SchedulingRules.objects.filter(committee=committee).first() or SchedulingRules(committee=committee)


def local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value)


def combine(day: dt.date, time: dt.time) -> dt.datetime:
    """A wall-clock time on a date in the committee's zone (Asia/Shanghai), as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, time))


def when_text(start: dt.datetime, end: dt.datetime | None = None) -> str:
    """How a notice prints a time: 2026年12月10日 09:00–09:15."""
    start = local(start)
    text = f"{start.year}年{start.month}月{start.day}日 {start:%H:%M}"
    if end is not None:
        text += f"–{local(end):%H:%M}"
    return text


# DOUBLE-BOOKING ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conflict:
    """Someone or something already booked at an overlapping time: what the message names."""

    kind: str  # worker, expert, room
    who: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    what: str  # the other booking: a case number, a sitting, a clinic duty

    @property
    def message(self) -> str:
        labels = {"worker": _("The worker"), "expert": _("Expert"), "room": _("Room")}
        return _("%(kind)s %(who)s is already booked %(when)s (%(what)s).") % {
            "kind": labels.get(self.kind, self.kind), "who": self.who,
            "when": when_text(self.starts_at, self.ends_at), "what": self.what}


def _overlapping(qs: QuerySet[Appointment], start: dt.datetime, end: dt.datetime) -> QuerySet[Appointment]:
    return qs.filter(state__in=Appointment.LIVE, starts_at__lt=end, ends_at__gt=start)


def appointments_of_experts(user_ids: list[int]) -> Q:
    """Appointments of the cases these experts' users sit on, or clinic slots they hold."""
    cases = CaseAssignment.objects.filter(user_id__in=user_ids, role__in=PANEL_ROLES, active=True).values("case_id")
    return Q(case_id__in=cases) | Q(expert__user_id__in=user_ids)


def conflicts(*, start: dt.datetime, end: dt.datetime, worker_ids: list[int] = (),  # type: ignore[assignment]
              experts: dict[int, str] | None = None, room_ids: list[int] = (),  # type: ignore[assignment]
              exclude: list[int] = (), same_group: int | None = None,  # type: ignore[assignment]
              roster_day: tuple[dt.date, str] | None = None) -> list[Conflict]:
    """Every live booking overlapping ``start..end`` of these workers, experts (user id → name) or rooms.

    ``exclude``: appointments being replaced; ``same_group``: the sitting room being filled, whose
    appointments share one panel and never conflict with each other; ``roster_day``: the date and
    half-day, to count an expert's clinic duty as busy even before anyone books a slot.
    """
    found: list[Conflict] = []
    base = Appointment.objects.filter(state__in=Appointment.LIVE, starts_at__lt=end, ends_at__gt=start)
    if exclude:
        base = base.exclude(pk__in=list(exclude))
    if worker_ids:
        for name, starts_at, ends_at, number in base.filter(case__worker_id__in=list(worker_ids)).values_list(
                "case__worker__name", "starts_at", "ends_at", "case__number"):
            found.append(Conflict("worker", mask_name(name), starts_at, ends_at, number or ""))
    others = base.exclude(group_id=same_group) if same_group is not None else base
    experts = experts or {}
    if experts:
        users = list(experts)
        rows = list(others.filter(appointments_of_experts(users)).values_list(
            "pk", "case_id", "expert__user_id", "starts_at", "ends_at", "case__number"))
        sitters = dict(CaseAssignment.objects.filter(user_id__in=users, role__in=PANEL_ROLES, active=True,
                                                     case_id__in={r[1] for r in rows})
                       .values_list("case_id", "user_id")) if rows else {}
        seen: set[tuple[int, int]] = set()
        for pk, case_id, holder, starts_at, ends_at, number in rows:
            user_id = holder if holder in experts else sitters.get(case_id)
            if user_id is None or (user_id, pk) in seen:
                continue
            seen.add((user_id, pk))
            found.append(Conflict("expert", experts[user_id], starts_at, ends_at, number or ""))
        if roster_day is not None:
            day, half = roster_day
            for entry in roster_on(day).filter(expert__user_id__in=users, half=half).select_related("expert"):
                rules = rules_for(entry.committee)
                first, last = rules.half_bounds(half)
                found.append(Conflict("expert", experts[entry.expert.user_id], combine(day, first),
                                      combine(day, last), _("clinic duty")))
    if room_ids:
        for room, starts_at, ends_at, day, venue in others.filter(group__room_id__in=list(room_ids)).values_list(
                "group__room__name", "starts_at", "ends_at", "sitting__date", "sitting__venue__name"):
            found.append(Conflict("room", room, starts_at, ends_at, f"{day} {venue}"))
    return found


def roster_on(day: dt.date) -> QuerySet[RosterEntry]:
    """The roster lines that hold on a date (its weekday, within their validity)."""
    return RosterEntry.objects.filter(weekday=day.weekday(), valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def half_of(rules: SchedulingRules, at: dt.datetime) -> str | None:
    """The half-day a time falls in, or None outside both."""
    t = local(at).time()
    for half in ("am", "pm"):
        first, last = rules.half_bounds(half)
        if first <= t < last:
            return half
    return None


# A CASE'S APPOINTMENTS ---------------------------------------------------------------------------

def live_appointment(case: Case) -> Appointment | None:
    return Appointment.objects.filter(case=case, state__in=Appointment.LIVE).first()


def appointments_of_case(case: Case) -> QuerySet[Appointment]:
    return (Appointment.objects.filter(case=case)
            .select_related("sitting", "group__room", "expert", "staff_member", "created_by")
            .order_by("starts_at", "id"))


def open_extra_examinations(case: Case) -> QuerySet[ExtraExamination]:
    return ExtraExamination.objects.filter(case=case, state=ExtraExamination.State.ORDERED).order_by("due", "id")


def panel_experts(case: Case) -> dict[int, str]:
    """The case's panel experts as user id → name, for the double-booking check."""
    rows = CaseAssignment.objects.filter(case=case, role__in=PANEL_ROLES, active=True).select_related("user")
    return {a.user_id: str(a.user) for a in rows}


def busy_between(committee: Committee, start: dt.datetime, end: dt.datetime) -> set[int]:
    """The users with a live appointment overlapping ``start..end`` (on its panel or as the clinic
    expert) or on clinic duty in a half-day it overlaps: a sitting's draw must not seat them."""
    overlapping = _overlapping(Appointment.objects.all(), start, end)
    users = set(CaseAssignment.objects.filter(case_id__in=overlapping.values("case_id"), role__in=PANEL_ROLES,
                                              active=True).values_list("user_id", flat=True))
    users |= set(overlapping.filter(expert__isnull=False).values_list("expert__user_id", flat=True))
    rules = rules_for(committee)
    day = local(start).date()
    for half in Half.values:
        first, last = rules.half_bounds(half)
        if combine(day, first) < end and combine(day, last) > start:
            users |= set(roster_on(day).filter(committee=committee, half=half).values_list("expert__user_id", flat=True))
    users.discard(None)
    return users


def sits_in_group(user: User, group: SittingGroup) -> bool:
    """The user is a panel expert of a case booked in this sitting room (the room's own panel)."""
    cases = Appointment.objects.filter(group=group).values("case_id")
    return CaseAssignment.objects.filter(user=user, role__in=PANEL_ROLES, active=True, case_id__in=cases).exists()


# SITTINGS ----------------------------------------------------------------------------------------

def sittings_of(user: User) -> QuerySet[Sitting]:
    return Sitting.objects.filter(committee_id=user.committee_id).select_related("venue")


def sitting_get_for(user: User, pk: int) -> Sitting:
    from laojian.core.errors import NotFoundError

    sitting = sittings_of(user).filter(pk=pk).first()
    if sitting is None:
        raise NotFoundError()
    return sitting


def groups_of(sitting: Sitting) -> QuerySet[SittingGroup]:
    return sitting.groups.select_related("room").order_by("order", "id")


def queue_of(group: SittingGroup) -> QuerySet[Appointment]:
    """A room's workers in calling order: signed in first, by queue number; then those still expected."""
    return (Appointment.objects.filter(group=group)
            .exclude(state__in=[Appointment.State.RESCHEDULED, Appointment.State.CANCELLED])
            .select_related("case", "case__worker")
            .order_by("queue_number", "starts_at", "id"))


def next_to_call(group: SittingGroup) -> Appointment | None:
    """The signed-in worker with the lowest queue number who has not been called yet."""
    return (Appointment.objects.filter(group=group, state=Appointment.State.CHECKED_IN, called_at__isnull=True)
            .order_by("queue_number", "id").first())


def now_serving(sitting: Sitting) -> list[tuple[SittingGroup, Appointment | None]]:
    """For the waiting-room screen: each room and the number it called last (still being examined)."""
    result = []
    for group in groups_of(sitting):
        current = (Appointment.objects.filter(group=group, called_at__isnull=False)
                   .select_related("case__worker").order_by("-called_at", "-id").first())
        result.append((group, current))
    return result


# STATISTICS (reports) ------------------------------------------------------------------------------

def examined_case_ids(first: dt.date, last: dt.date, *, mode: str | None = None) -> QuerySet:
    """Ids of cases examined (any mode, or ``mode``) on a day of ``first..last``: the person-times
    of the statistics, one per case and mode."""
    start, end = local_day_bounds(first, last)
    qs = Appointment.objects.filter(state=Appointment.State.EXAMINED, starts_at__gte=start, starts_at__lt=end)
    if mode:
        qs = qs.filter(mode=mode)
    return qs.values("case_id")


def _examined(case_ids: QuerySet | None, first: dt.date, last: dt.date,
              committee_ids: list[int] | tuple[int, ...] | None) -> QuerySet[Appointment]:
    """Examined appointments of the days ``first..last``: of ``case_ids`` when given (a filtered
    scope), else of the committees (an appointment carries its case's committee)."""
    start, end = local_day_bounds(first, last)
    qs = Appointment.objects.filter(state=Appointment.State.EXAMINED, starts_at__gte=start, starts_at__lt=end)
    if case_ids is not None:
        qs = qs.filter(case_id__in=case_ids)
    if committee_ids is not None:
        qs = qs.filter(committee_id__in=list(committee_ids))
    return qs.order_by()


def examined_counts(case_ids: QuerySet | None, first: dt.date, last: dt.date, *,
                    committee_ids: list[int] | tuple[int, ...] | None = None) -> dict[str, int]:
    """Cases examined on a day of ``first..last`` by mode (person-times, one per case and mode)."""
    from django.db.models import Count

    return dict(_examined(case_ids, first, last, committee_ids).values_list("mode")
                .annotate(n=Count("case_id", distinct=True)))


def sittings_held(case_ids: QuerySet | None, first: dt.date, last: dt.date, *,
                  committee_ids: list[int] | tuple[int, ...] | None = None) -> int:
    """Sittings with at least one worker examined on a day of ``first..last``."""
    return (_examined(case_ids, first, last, committee_ids).filter(sitting__isnull=False)
            .values("sitting_id").distinct().count())
