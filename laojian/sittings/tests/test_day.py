"""The sitting day: queue numbers at the desk, the order each room calls its workers, and what the
waiting-room screen shows."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from laojian.cases.models import Mode
from laojian.core.errors import ConflictError, NotFoundError, ValidationFailed
from laojian.core.validators import mask_name
from laojian.sittings import day, services
from laojian.sittings.day_views import screen_rooms
from laojian.sittings.models import Appointment, Sitting
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import SittingFactory, at, clerk_of, expert_of, group_of, reviewed_case

pytestmark = pytest.mark.django_db


def day_sitting(n: int = 3, rooms: int = 1):
    """A sitting with ``n`` booked workers in each of ``rooms`` rooms, one panel expert a room.

    Returns (sitting, groups, clerk, experts, appointments by room)."""
    sitting = SittingFactory()
    clerk = clerk_of(sitting.committee)
    groups, experts, booked = [], [], []
    for r in range(rooms):
        group = group_of(sitting, r)
        expert = expert_of(sitting.committee)
        rows = []
        for i in range(n):
            case = reviewed_case(sitting.committee, experts=[expert])
            start = at(sitting.date, 9, 15 * i)
            rows.append(services.appointment_book(
                case.pk, Booking(mode=Mode.SITTING, starts_at=start, ends_at=start + dt.timedelta(minutes=15),
                                 group_id=group.pk), actor=clerk))
        groups.append(group)
        experts.append(expert)
        booked.append(rows)
    return sitting, groups, clerk, experts, booked


def clear_of_midnight(margin: dt.timedelta = dt.timedelta(minutes=3)) -> None:
    """Wait out the last minutes of a local day, so that a test of "today" does not start on one
    day and sign in on the next (the desk rightly refuses yesterday's appointments)."""
    now = timezone.localtime()
    midnight = timezone.make_aware(dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time()))
    if midnight - now < margin:
        time.sleep((midnight - now).total_seconds() + 1)


def to_today(sitting: Sitting) -> None:
    """Move the sitting and its appointments to now (the desk signs in today's workers only).

    Just after midnight "a minute ago" is yesterday, so no appointment starts before today."""
    clear_of_midnight()
    now = timezone.now()
    today = timezone.localdate()
    day_start = timezone.make_aware(dt.datetime.combine(today, dt.time()))
    Sitting.objects.filter(pk=sitting.pk).update(date=today)
    for i, a in enumerate(sitting.appointments.order_by("starts_at", "id")):
        start = max(now - dt.timedelta(seconds=60 - i), day_start + dt.timedelta(seconds=i))
        Appointment.objects.filter(pk=a.pk).update(starts_at=start, ends_at=start + dt.timedelta(minutes=15))


def sign_in(appointment: Appointment, clerk) -> Appointment:
    return day.check_in(appointment.pk, actor=clerk, id_number=appointment.case.worker.id_number, photo_matched=True,
                        at=appointment.starts_at)


# SIGN-IN -----------------------------------------------------------------------------------------

def test_signing_in_gives_the_next_queue_number_of_the_sitting_across_rooms():
    sitting, groups, clerk, experts, booked = day_sitting(2, rooms=2)
    numbers = [sign_in(a, clerk).queue_number for a in (booked[1][0], booked[0][1], booked[0][0])]
    assert numbers == [1, 2, 3]


def test_a_wrong_id_number_signs_nobody_in():
    sitting, groups, clerk, experts, booked = day_sitting(1)
    a = booked[0][0]
    with pytest.raises(ValidationFailed) as exc:
        day.check_in(a.pk, actor=clerk, id_number="110101199001011234", photo_matched=True, at=a.starts_at)
    assert exc.value.code == "identity_mismatch"
    a.refresh_from_db()
    assert (a.state, a.queue_number) == (Appointment.State.BOOKED, None)


def test_a_worker_is_not_signed_in_twice():
    sitting, groups, clerk, experts, booked = day_sitting(1)
    sign_in(booked[0][0], clerk)
    with pytest.raises(ConflictError):
        sign_in(booked[0][0], clerk)


# THE QUEUE ---------------------------------------------------------------------------------------

def test_the_room_calls_in_queue_number_order_not_booking_order():
    sitting, groups, clerk, experts, booked = day_sitting(3)
    first, second, third = booked[0]
    for a in (third, first, second):
        sign_in(a, clerk)
    called = [day.call_next(groups[0].pk, actor=clerk).pk for _ in range(3)]
    assert called == [third.pk, first.pk, second.pk]


def test_a_worker_not_signed_in_is_never_called():
    sitting, groups, clerk, experts, booked = day_sitting(2)
    sign_in(booked[0][1], clerk)
    assert day.call_next(groups[0].pk, actor=clerk).pk == booked[0][1].pk
    assert day.call_next(groups[0].pk, actor=clerk) is None
    booked[0][0].refresh_from_db()
    assert booked[0][0].called_at is None


def test_a_called_worker_is_not_called_twice():
    sitting, groups, clerk, experts, booked = day_sitting(2)
    for a in booked[0]:
        sign_in(a, clerk)
    one = day.call_next(groups[0].pk, actor=clerk)
    two = day.call_next(groups[0].pk, actor=clerk)
    assert one.pk != two.pk
    assert day.call_next(groups[0].pk, actor=clerk) is None


def test_a_room_calls_only_its_own_workers():
    sitting, groups, clerk, experts, booked = day_sitting(1, rooms=2)
    sign_in(booked[1][0], clerk)
    assert day.call_next(groups[0].pk, actor=clerk) is None
    assert day.call_next(groups[1].pk, actor=clerk).pk == booked[1][0].pk


def test_the_rooms_panel_expert_may_call_and_another_expert_may_not():
    sitting, groups, clerk, experts, booked = day_sitting(1, rooms=2)
    sign_in(booked[0][0], clerk)
    with pytest.raises(NotFoundError):
        day.call_next(groups[0].pk, actor=experts[1].user)
    assert day.call_next(groups[0].pk, actor=experts[0].user).pk == booked[0][0].pk


# THE SCREEN --------------------------------------------------------------------------------------

def test_the_screen_shows_the_called_number_and_the_next_ones_with_masked_names():
    sitting, groups, clerk, experts, booked = day_sitting(3)
    for a in booked[0]:
        sign_in(a, clerk)
    called = day.call_next(groups[0].pk, actor=clerk)
    [room] = screen_rooms(sitting)
    assert room["current"] == {"number": called.queue_number, "name": mask_name(called.case.worker.name)}
    assert [n["number"] for n in room["next"]] == [2, 3]
    assert all("*" in n["name"] for n in room["next"])


def test_the_screen_shows_nobody_before_the_first_call():
    sitting, groups, clerk, experts, booked = day_sitting(1)
    [room] = screen_rooms(sitting)
    assert room["current"] is None and room["next"] == []
