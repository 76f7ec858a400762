"""The calendars: the scheduler's day and week, an expert's own calendar and its iCalendar feed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laojian.cases.models import Mode
from laojian.core.tests.factories import CommitteeFactory
from laojian.experts.tests.factories import SpecialtyFactory
from laojian.sittings import calendars, services
from laojian.sittings.models import Appointment, Half, RosterEntry
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import (
    SittingFactory,
    VenueFactory,
    at,
    clerk_of,
    expert_of,
    group_of,
    reviewed_case,
    workday,
)

pytestmark = pytest.mark.django_db


def clinic_booking(committee, expert, start, *, minutes=30):
    case = reviewed_case(committee, mode=Mode.CLINIC)
    return services.appointment_book(
        case.pk, Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=minutes),
                         expert_id=expert.pk), actor=clerk_of(committee))


def roster_line(expert, weekday, half=Half.MORNING, **kwargs):
    return RosterEntry.objects.create(committee=expert.committee, expert=expert, specialty=SpecialtyFactory(),
                                      weekday=weekday, half=half, venue=VenueFactory(committee=expert.committee),
                                      valid_from=kwargs.pop("valid_from", dt.date(2026, 1, 1)), **kwargs)


# THE DAY ------------------------------------------------------------------------------------------

def test_the_day_puts_each_clinic_expert_in_a_lane_of_their_own():
    committee = CommitteeFactory()
    day = workday(7)
    first, second = expert_of(committee), expert_of(committee)
    clinic_booking(committee, first, at(day, 9))
    clinic_booking(committee, second, at(day, 9))
    clinic_booking(committee, first, at(day, 10))
    view = calendars.day_view(committee, day)
    lanes = {lane.label: len(lane.entries) for lane in view.lanes}
    assert lanes == {first.name: 2, second.name: 1}


def test_the_day_shows_the_sitting_rooms_as_lanes():
    sitting = SittingFactory()
    room = group_of(sitting)
    case = reviewed_case(sitting.committee)
    start = at(sitting.date, 9)
    services.appointment_book(case.pk, Booking(mode=Mode.SITTING, starts_at=start,
                                               ends_at=start + dt.timedelta(minutes=15), group_id=room.pk),
                              actor=clerk_of(sitting.committee))
    view = calendars.day_view(sitting.committee, sitting.date)
    assert [lane.kind for lane in view.lanes] == ["room"]
    assert view.sittings[0].workers == 1


def test_the_day_leaves_out_other_committees_and_other_days():
    committee = CommitteeFactory()
    day = workday(7)
    clinic_booking(committee, expert_of(committee), at(workday(1, start=day), 9))
    other = CommitteeFactory()
    clinic_booking(other, expert_of(other), at(day, 9))
    assert calendars.day_view(committee, day).entries == []


def test_the_day_marks_an_overlap_that_exists_despite_the_booking_rule():
    committee = CommitteeFactory()
    day = workday(7)
    expert = expert_of(committee)
    first = clinic_booking(committee, expert, at(day, 9))
    second = clinic_booking(committee, expert, at(day, 10))
    Appointment.objects.filter(pk=second.pk).update(starts_at=at(day, 9, 15))  # entered by hand
    view = calendars.day_view(committee, day)
    assert [(o.kind, o.first.pk, o.second.pk) for o in view.overlaps] == [("expert", first.pk, second.pk)]
    assert all(entry.warnings for entry in view.entries)


def test_a_cancelled_appointment_is_not_on_the_day():
    committee = CommitteeFactory()
    day = workday(7)
    appointment = clinic_booking(committee, expert_of(committee), at(day, 9))
    services.appointment_cancel(appointment.pk, actor=clerk_of(committee), reason="申请人撤回")
    assert calendars.day_view(committee, day).entries == []


# THE WEEK -----------------------------------------------------------------------------------------

def test_the_week_counts_appointments_per_half_day_and_mode():
    committee = CommitteeFactory()
    day = workday(7)
    expert = expert_of(committee)
    clinic_booking(committee, expert, at(day, 9))
    clinic_booking(committee, expert, at(day, 14, 30))
    clinic_booking(committee, expert, at(day, 15))
    week = calendars.week_view(committee, day)
    cells = {(d.date, c.half): c.counts for d in week.days for c in d.cells if c.counts}
    assert cells == {(day, Half.MORNING): {Mode.CLINIC: 1}, (day, Half.AFTERNOON): {Mode.CLINIC: 2}}


def test_the_week_starts_on_monday_whatever_day_is_asked_for():
    week = calendars.week_view(CommitteeFactory(), dt.date(2026, 12, 10))
    assert week.monday == dt.date(2026, 12, 7)
    assert [d.date for d in week.days][-1] == dt.date(2026, 12, 13)


def test_the_week_marks_the_weekend_as_rest_days():
    week = calendars.week_view(CommitteeFactory(), dt.date(2026, 12, 7))
    assert [d.workday for d in week.days] == [True] * 5 + [False] * 2


# AN EXPERT'S CALENDAR -----------------------------------------------------------------------------

def test_an_expert_sees_their_clinic_slots():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    appointment = clinic_booking(committee, expert, at(workday(7), 9))
    events = calendars.expert_calendar(expert.user, workday(1), workday(30))
    assert [e.appointment for e in events if e.kind == "appointment"] == [appointment]


def test_an_expert_sees_the_appointments_of_the_panels_they_sit_on():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    case = reviewed_case(committee, mode=Mode.REMOTE, experts=[expert])
    start = at(workday(7), 9)
    appointment = services.appointment_book(
        case.pk, Booking(mode=Mode.REMOTE, starts_at=start, ends_at=start + dt.timedelta(hours=1)),
        actor=clerk_of(committee))
    events = calendars.expert_calendar(expert.user, workday(1), workday(30))
    assert [e.appointment for e in events] == [appointment]
    assert appointment.video_room in events[0].description


def test_an_expert_does_not_see_another_experts_slots():
    committee = CommitteeFactory()
    clinic_booking(committee, expert_of(committee), at(workday(7), 9))
    assert calendars.expert_calendar(expert_of(committee).user, workday(1), workday(30)) == []


def test_clinic_duty_appears_every_week_on_its_weekday():
    expert = expert_of(CommitteeFactory())
    roster_line(expert, weekday=1, half=Half.AFTERNOON)  # Tuesday afternoons
    events = calendars.expert_calendar(expert.user, dt.date(2026, 12, 7), dt.date(2026, 12, 20))
    assert [(e.kind, e.starts_at.date(), e.starts_at.hour) for e in events] == [
        ("duty", dt.date(2026, 12, 8), 14), ("duty", dt.date(2026, 12, 15), 14)]


def test_clinic_duty_stops_when_the_roster_line_ends():
    expert = expert_of(CommitteeFactory())
    roster_line(expert, weekday=1, valid_to=dt.date(2026, 12, 10))
    events = calendars.expert_calendar(expert.user, dt.date(2026, 12, 7), dt.date(2026, 12, 20))
    assert [e.starts_at.date() for e in events] == [dt.date(2026, 12, 8)]


def test_no_clinic_duty_on_a_public_holiday():
    expert = expert_of(CommitteeFactory())
    roster_line(expert, weekday=3)  # Thursday; 2026-10-01 is National Day
    events = calendars.expert_calendar(expert.user, dt.date(2026, 9, 28), dt.date(2026, 10, 4))
    assert events == []


# THE FEED -----------------------------------------------------------------------------------------

def test_the_feed_names_the_case_number_and_never_the_worker():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    appointment = clinic_booking(committee, expert, at(workday(7), 9))
    ics = calendars.to_ics(calendars.feed_events(expert.user), name="日历")
    assert appointment.case.worker.name not in ics
    assert f"UID:appointment-{appointment.pk}@laojian" in ics
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")


def test_the_feed_key_opens_the_users_feed():
    expert = expert_of(CommitteeFactory())
    assert calendars.feed_user(calendars.feed_for(expert.user).token) == expert.user


def test_a_new_key_closes_the_old_address():
    expert = expert_of(CommitteeFactory())
    old = calendars.feed_for(expert.user).token
    new = calendars.feed_rotate(expert.user).token
    assert calendars.feed_user(old) is None
    assert calendars.feed_user(new) == expert.user


def test_an_inactive_users_feed_is_closed():
    expert = expert_of(CommitteeFactory())
    token = calendars.feed_for(expert.user).token
    expert.user.is_active = False
    expert.user.save()
    assert calendars.feed_user(token) is None


@given(st.text(max_size=300))
def test_folded_lines_are_at_most_75_octets_and_unfold_to_the_line(text):
    line = "DESCRIPTION:" + calendars.ics_escape(text)
    folded = calendars.ics_fold(line)
    assert all(len(part.encode("utf-8")) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


@given(st.text(max_size=200))
def test_escaped_text_has_no_raw_line_breaks_or_separators(text):
    escaped = calendars.ics_escape(text)
    assert "\n" not in escaped and "\r" not in escaped
    unescaped = escaped.replace("\\\\", "\x00")
    assert ";" not in unescaped.replace("\\;", "") and "," not in unescaped.replace("\\,", "")
