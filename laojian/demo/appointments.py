"""The demo city's appraisal modes: the appraisal centre and the clinic with their rooms, a weekly
clinic roster, and an appointment for every case the history left scheduled — the sitting ones on
the next sitting day (today when today is a working day, so the sign-in desk and the waiting-room
screen have workers), the others in their own mode.

The history is replayed without appointments (backdated steps book none); these are entered as a
loader enters existing bookings, without notices, dated from today.
"""

from __future__ import annotations

import datetime as dt

from laojian.cases.models import Case, CaseAssignment, Mode, Status, TimelineEntry
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar
from laojian.core.models import Committee, User
from laojian.experts.models import Expert
from laojian.sittings import selectors as sitting_selectors
from laojian.sittings import video
from laojian.sittings.models import (
    Appointment,
    Room,
    RosterEntry,
    SchedulingRules,
    Sitting,
    SittingGroup,
    Venue,
)

CENTRE = ("聊城市劳动能力鉴定中心", "聊城市东昌府区柳园南路18号", ("第一鉴定室", "第二鉴定室", "第三鉴定室", "第四鉴定室"))
CLINIC = ("聊城市东昌医院劳动能力鉴定门诊", "聊城市东昌府区东昌西路68号门诊楼三楼", ("门诊一室", "门诊二室"))
# Weekday × half-day of the clinic roster, each with the specialty on duty.
ROSTER = ((0, "am", "orthopaedics"), (0, "pm", "neurology"), (1, "am", "hand_surgery"), (1, "pm", "orthopaedics"),
          (2, "am", "general_surgery"), (2, "pm", "orthopaedics"), (3, "am", "ophthalmology"),
          (3, "pm", "hand_surgery"), (4, "am", "orthopaedics"), (4, "pm", "neurosurgery"))


def _is_workday(cal: WorkingCalendar, day: dt.date) -> bool:
    try:
        return cal.is_workday(day)
    except CalendarYearMissing:
        return day.weekday() < 5


def _next_workday(cal: WorkingCalendar, day: dt.date) -> dt.date:
    while not _is_workday(cal, day):
        day += dt.timedelta(days=1)
    return day


def _venue(committee: Committee, spec: tuple[str, str, tuple[str, ...]]) -> Venue:
    name, address, rooms = spec
    venue, _created = Venue.objects.get_or_create(committee=committee, name=name, defaults={"address": address})
    for order, room in enumerate(rooms):
        Room.objects.get_or_create(venue=venue, name=room, defaults={"order": order})
    return venue


def _roster(committee: Committee, clinic: Venue, today: dt.date) -> None:
    if RosterEntry.objects.filter(committee=committee).exists():
        return
    rooms = list(clinic.rooms.order_by("order"))
    used: set[int] = set()
    for index, (weekday, half, code) in enumerate(ROSTER):
        expert = (Expert.objects.filter(committee=committee, status=Expert.Status.ACTIVE, specialties__code=code,
                                        term_end__gte=today, user__isnull=False)
                  .exclude(pk__in=used).order_by("id").first())
        if expert is None:
            continue
        used.add(expert.pk)
        RosterEntry.objects.create(committee=committee, expert=expert, specialty=expert.specialties.get(code=code),
                                   weekday=weekday, half=half, venue=clinic, room=rooms[index % len(rooms)],
                                   valid_from=today - dt.timedelta(days=90))


def build(committee: Committee, *, today: dt.date) -> None:
    """Venues, roster, and appointments for the cases left scheduled. Idempotent."""
    SchedulingRules.objects.get_or_create(committee=committee)
    centre, clinic = _venue(committee, CENTRE), _venue(committee, CLINIC)
    _roster(committee, clinic, today)
    if Appointment.objects.filter(committee=committee).exists():
        return
    clerk = User.objects.get(username="clerk")
    cal = WorkingCalendar.for_range(today, today + dt.timedelta(days=60))
    rules = sitting_selectors.rules_for(committee)
    scheduled = list(Case.objects.filter(committee=committee, status=Status.SCHEDULED)
                     .select_related("worker").order_by("id"))
    sitting_day = _next_workday(cal, today)
    sitting = None
    slot = dt.timedelta(minutes=rules.minutes_per_worker)
    room_rows = list(centre.rooms.order_by("order"))
    for index, case in enumerate(scheduled):
        panel = list(CaseAssignment.objects.filter(case=case, role=CaseAssignment.Role.EXPERT, active=True)
                     .values_list("user_id", flat=True))
        fields = {"case": case, "committee": committee, "mode": case.mode, "created_by": clerk,
                  "bring": "身份证原件、病历及影像资料原件"}
        if case.mode == Mode.SITTING:
            if sitting is None:
                sitting = Sitting.objects.create(committee=committee, date=sitting_day, venue=centre,
                                                 starts_at=dt.time(8, 30), ends_at=dt.time(12, 0), created_by=clerk)
            room = room_rows[index % len(room_rows)]
            group, _created = SittingGroup.objects.get_or_create(sitting=sitting, room=room,
                                                                 defaults={"categories": [2], "order": room.order})
            position = Appointment.objects.filter(group=group).count()
            start = sitting_selectors.combine(sitting_day, sitting.starts_at) + slot * position
            fields |= {"sitting": sitting, "group": group, "starts_at": start, "ends_at": start + slot,
                       "place": f"{centre.name}（{centre.address}）{room.name}"}
        else:
            day = _next_workday(cal, today + dt.timedelta(days=3 + index % 5))
            start = sitting_selectors.combine(day, dt.time(9, 0)) + dt.timedelta(minutes=30 * (index % 4))
            fields |= {"starts_at": start, "ends_at": start + dt.timedelta(minutes=30)}
            if case.mode == Mode.CLINIC:
                expert = Expert.objects.filter(user_id__in=panel).order_by("id").first()
                fields |= {"expert": expert, "place": f"{clinic.name}（{clinic.address}）"}
            elif case.mode == Mode.HOME:
                fields |= {"address": case.worker.address or "聊城市东昌府区", "staff_member": clerk,
                           "place": case.worker.address or "聊城市东昌府区"}
            else:
                fields |= {"video_room": video.provider().room_for(case, start), "place": "视频远程鉴定",
                           "local_doctor": "县医院骨科医师"}
        Appointment.objects.create(**fields)
    _past_examinations(committee, centre, clinic, clerk)


def _past_examinations(committee: Committee, centre: Venue, clinic: Venue, clerk: User) -> None:
    """The appointments the history's examinations took place at, so the statistics count the
    sittings held and the person-times of each mode: one held sitting per day with sitting cases."""
    entries = (TimelineEntry.objects.filter(case__committee=committee, to_status=Status.EXAMINED)
               .select_related("case").order_by("at", "id"))
    sittings: dict[dt.date, Sitting] = {}
    for entry in entries:
        case = entry.case
        day = sitting_selectors.local(entry.at).date()
        start = sitting_selectors.combine(day, dt.time(9, 0))
        fields = {"case": case, "committee": committee, "mode": case.mode, "created_by": clerk,
                  "state": Appointment.State.EXAMINED, "starts_at": start, "ends_at": start + dt.timedelta(minutes=20)}
        if case.mode == Mode.SITTING:
            if day not in sittings:
                sittings[day] = Sitting.objects.create(committee=committee, date=day, venue=centre,
                                                       starts_at=dt.time(8, 30), ends_at=dt.time(12, 0),
                                                       state=Sitting.State.HELD, created_by=clerk)
            fields |= {"sitting": sittings[day], "place": f"{centre.name}（{centre.address}）"}
        elif case.mode == Mode.CLINIC:
            fields |= {"place": f"{clinic.name}（{clinic.address}）"}
        else:
            fields |= {"place": case.worker.address or "聊城市东昌府区"}
        Appointment.objects.create(**fields)


def next_screen_token(committee: Committee, today: dt.date) -> str:
    """The waiting-room screen key of the next planned sitting, for the demo's welcome message."""
    sitting = (Sitting.objects.filter(committee=committee, state=Sitting.State.PLANNED, date__gte=today)
               .order_by("date", "starts_at").first())
    return sitting.screen_token if sitting else ""
