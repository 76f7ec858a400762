"""Booking an appointment: the case is scheduled, bad times are refused, nobody is double-booked."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from laojian.cases import services as case_services
from laojian.cases.models import Mode, Status
from laojian.cases.workflow import TransitionRefused
from laojian.core.errors import ApplicationError, ConflictError, ValidationFailed
from laojian.core.tests.factories import CommitteeFactory
from laojian.notify.models import Notification
from laojian.sittings import services
from laojian.sittings.models import Appointment
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import (
    SittingFactory,
    at,
    clerk_of,
    expert_of,
    group_of,
    rest_day,
    reviewed_case,
    workday,
)

pytestmark = pytest.mark.django_db


def sitting_booking(group, day, hour=9, minute=0, **kwargs) -> Booking:
    start = at(day, hour, minute)
    return Booking(mode=Mode.SITTING, starts_at=start, ends_at=start + dt.timedelta(minutes=15), group_id=group.pk,
                   **kwargs)


def test_a_first_booking_schedules_the_case_and_records_the_place():
    sitting = SittingFactory()
    group = group_of(sitting)
    case = reviewed_case(sitting.committee)
    appointment = services.appointment_book(case.pk, sitting_booking(group, sitting.date), actor=clerk_of(sitting.committee))
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED
    assert appointment.state == Appointment.State.BOOKED
    assert sitting.venue.name in appointment.place and group.room.name in appointment.place
    assert case.timeline.filter(action="appointment_booked").exists()


def test_the_worker_gets_the_notice_with_time_place_and_what_to_bring():
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)
    services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date),
                              actor=clerk_of(sitting.committee))
    sms = Notification.objects.get(case=case, template="appointment.booked")
    assert sms.recipient == case.worker.phone
    assert f"{sitting.date.month}月{sitting.date.day}日 09:00" in sms.text
    assert sitting.venue.name in sms.text and "身份证原件" in sms.text


def test_the_panel_experts_are_told_too():
    sitting = SittingFactory()
    expert = expert_of(sitting.committee)
    case = reviewed_case(sitting.committee, experts=[expert])
    services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date),
                              actor=clerk_of(sitting.committee))
    assert Notification.objects.filter(template="appointment.expert_booked", recipient=expert.phone).count() == 1


def test_a_slot_in_the_past_is_refused():
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(case.pk, sitting_booking(group_of(sitting), yesterday),
                                  actor=clerk_of(sitting.committee))
    assert exc.value.code == "slot_in_past"
    assert not Appointment.objects.exists()


def test_a_non_working_day_is_refused_without_a_reason():
    case = reviewed_case(SittingFactory().committee, mode=Mode.CLINIC)
    expert = expert_of(case.committee)
    sunday = rest_day(7)
    start = at(sunday, 9)
    booking = Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=30), expert_id=expert.pk)
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(case.pk, booking, actor=clerk_of(case.committee))
    assert exc.value.code == "non_working_day"


def test_a_non_working_day_is_allowed_with_the_reason():
    case = reviewed_case(SittingFactory().committee, mode=Mode.CLINIC)
    expert = expert_of(case.committee)
    start = at(rest_day(7), 9)
    booking = Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=30),
                      expert_id=expert.pk, non_working_reason="积案集中鉴定")
    assert services.appointment_book(case.pk, booking, actor=clerk_of(case.committee)).pk


def test_a_notice_shorter_than_the_lead_time_needs_a_reason():
    sitting = SittingFactory(date=workday(1))
    case = reviewed_case(sitting.committee)
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date),
                                  actor=clerk_of(sitting.committee))
    assert exc.value.code == "short_notice"


def test_a_short_notice_with_a_reason_is_booked_and_the_reason_kept():
    sitting = SittingFactory(date=workday(1))
    case = reviewed_case(sitting.committee)
    appointment = services.appointment_book(
        case.pk, sitting_booking(group_of(sitting), sitting.date, short_notice_reason="工人电话同意提前"),
        actor=clerk_of(sitting.committee))
    assert appointment.lead_warning == "工人电话同意提前"


def test_an_expert_cannot_sit_in_two_rooms_at_once_and_the_message_says_who_and_when():
    sitting = SittingFactory()
    expert = expert_of(sitting.committee, name="王医生")
    clerk = clerk_of(sitting.committee)
    first = reviewed_case(sitting.committee, experts=[expert])
    second = reviewed_case(sitting.committee, experts=[expert])
    services.appointment_book(first.pk, sitting_booking(group_of(sitting, 0), sitting.date), actor=clerk)
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(second.pk, sitting_booking(group_of(sitting, 1), sitting.date, minute=5),
                                  actor=clerk)
    assert exc.value.code == "double_booked"
    assert "王医生" in exc.value.message or str(expert.user) in exc.value.message
    assert "09:00" in exc.value.message


def test_the_same_room_panel_sees_its_workers_one_after_another():
    sitting = SittingFactory()
    expert = expert_of(sitting.committee)
    clerk = clerk_of(sitting.committee)
    group = group_of(sitting)
    first = reviewed_case(sitting.committee, experts=[expert])
    second = reviewed_case(sitting.committee, experts=[expert])
    services.appointment_book(first.pk, sitting_booking(group, sitting.date, minute=0), actor=clerk)
    assert services.appointment_book(second.pk, sitting_booking(group, sitting.date, minute=15), actor=clerk).pk


def test_a_worker_cannot_be_booked_twice_at_the_same_time():
    sitting = SittingFactory()
    clerk = clerk_of(sitting.committee)
    first = reviewed_case(sitting.committee)
    second = reviewed_case(sitting.committee, determination__worker=first.worker)
    services.appointment_book(first.pk, sitting_booking(group_of(sitting, 0), sitting.date), actor=clerk)
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(second.pk, sitting_booking(group_of(sitting, 1), sitting.date), actor=clerk)
    assert exc.value.code == "double_booked"


def test_a_room_cannot_hold_two_sittings_at_once():
    sitting = SittingFactory()
    other = SittingFactory(committee=sitting.committee, venue=sitting.venue, date=sitting.date,
                           starts_at=dt.time(13, 0), ends_at=dt.time(17, 0))
    clerk = clerk_of(sitting.committee)
    room = sitting.venue.rooms.first()
    from laojian.sittings.models import SittingGroup

    g1 = SittingGroup.objects.create(sitting=sitting, room=room)
    g2 = SittingGroup.objects.create(sitting=other, room=room)
    services.appointment_book(reviewed_case(sitting.committee).pk, sitting_booking(g1, sitting.date), actor=clerk)
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(reviewed_case(sitting.committee).pk, sitting_booking(g2, sitting.date), actor=clerk)
    assert exc.value.code == "double_booked"


def test_a_case_has_one_live_appointment():
    sitting = SittingFactory()
    clerk = clerk_of(sitting.committee)
    case = reviewed_case(sitting.committee)
    services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date), actor=clerk)
    with pytest.raises(ConflictError):
        services.appointment_book(case.pk, sitting_booking(group_of(sitting, 1), sitting.date, hour=10), actor=clerk)


def test_a_case_not_yet_reviewed_cannot_be_booked():
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)
    case.status = Status.ACCEPTED
    case.save()
    with pytest.raises(ValidationFailed) as exc:
        services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date),
                                  actor=clerk_of(sitting.committee))
    assert exc.value.code == "not_bookable"


def test_booking_in_another_mode_changes_the_cases_mode():
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee, mode=Mode.CLINIC)
    services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date),
                              actor=clerk_of(sitting.committee))
    case.refresh_from_db()
    assert case.mode == Mode.SITTING


def test_the_generic_examination_step_is_refused_while_an_appointment_is_live():
    sitting = SittingFactory()
    clerk = clerk_of(sitting.committee)
    case = reviewed_case(sitting.committee)
    services.appointment_book(case.pk, sitting_booking(group_of(sitting), sitting.date), actor=clerk)
    with pytest.raises(TransitionRefused) as exc:
        case_services.transition(case.pk, "record_examination", actor=clerk)
    assert exc.value.code == "use_appointment"


# CONCURRENCY ----------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_clerks_booking_one_expert_at_the_same_moment_cannot_both_succeed():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    cases = [reviewed_case(committee, mode=Mode.REMOTE, experts=[expert]) for _ in range(2)]
    clerks = [clerk_of(committee), clerk_of(committee)]
    start = at(workday(7), 9)
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def go(i: int) -> None:
        try:
            barrier.wait()
            services.appointment_book(cases[i].pk, Booking(mode=Mode.REMOTE, starts_at=start,
                                                           ends_at=start + dt.timedelta(hours=1)), actor=clerks[i])
            outcomes[i] = "won"
        except ApplicationError as exc:
            outcomes[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes, key=str) == ["double_booked", "won"]
    assert Appointment.objects.filter(state=Appointment.State.BOOKED).count() == 1
