"""Moving, cancelling, absences and the examination: what each does to the case and its deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases import services as case_services
from laojian.cases.models import Mode, Status
from laojian.core.errors import ConflictError, ValidationFailed
from laojian.core.tests.factories import CommitteeFactory
from laojian.notify.models import Notification
from laojian.sittings import day, services
from laojian.sittings.models import Appointment
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db


def clinic_booking(expert, day_, hour=9) -> Booking:
    start = at(day_, hour)
    return Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=30), expert_id=expert.pk)


def booked_clinic_case(days_ahead=7):
    committee = CommitteeFactory()
    expert = expert_of(committee)
    case = reviewed_case(committee, mode=Mode.CLINIC, experts=[expert])
    clerk = clerk_of(committee)
    appointment = services.appointment_book(case.pk, clinic_booking(expert, workday(days_ahead)), actor=clerk)
    case.refresh_from_db()
    return case, appointment, clerk, expert


def test_a_move_the_worker_asked_for_moves_the_conclusion_deadline_by_the_same_days():
    case, appointment, clerk, expert = booked_clinic_case()
    due_before = case.conclusion_due
    new_day = appointment.starts_at.date() + dt.timedelta(days=7)
    new_day = workday(0, start=new_day)
    shift = (new_day - appointment.starts_at.date()).days
    services.appointment_move(appointment.pk, actor=clerk, starts_at=at(new_day, 9), ends_at=at(new_day, 9, 30),
                              reason="工人住院", worker_requested=True)
    case.refresh_from_db()
    assert case.reschedule_shift_days == shift
    assert case.conclusion_due == due_before + dt.timedelta(days=shift)


def test_a_move_the_committee_makes_keeps_the_deadline():
    case, appointment, clerk, expert = booked_clinic_case()
    due_before = case.conclusion_due
    new_day = workday(0, start=appointment.starts_at.date() + dt.timedelta(days=7))
    services.appointment_move(appointment.pk, actor=clerk, starts_at=at(new_day, 9), ends_at=at(new_day, 9, 30),
                              reason="专家临时请假", worker_requested=False)
    case.refresh_from_db()
    assert (case.reschedule_shift_days, case.conclusion_due) == (0, due_before)


def test_the_moved_appointment_is_kept_marked_rescheduled_and_linked():
    case, appointment, clerk, expert = booked_clinic_case()
    new_day = workday(0, start=appointment.starts_at.date() + dt.timedelta(days=3))
    new = services.appointment_move(appointment.pk, actor=clerk, starts_at=at(new_day, 10),
                                    ends_at=at(new_day, 10, 30), reason="工人申请", worker_requested=True)
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.RESCHEDULED
    assert new.previous_id == appointment.pk and new.state == Appointment.State.BOOKED


def test_everyone_is_told_of_the_move():
    case, appointment, clerk, expert = booked_clinic_case()
    new_day = workday(0, start=appointment.starts_at.date() + dt.timedelta(days=3))
    services.appointment_move(appointment.pk, actor=clerk, starts_at=at(new_day, 10), ends_at=at(new_day, 10, 30),
                              reason="工人申请", worker_requested=True)
    assert Notification.objects.filter(template="appointment.moved", recipient=case.worker.phone).exists()
    assert Notification.objects.filter(template="appointment.expert_moved", recipient=expert.phone).exists()


def test_a_move_needs_a_reason():
    case, appointment, clerk, expert = booked_clinic_case()
    with pytest.raises(ValidationFailed):
        services.appointment_move(appointment.pk, actor=clerk, starts_at=appointment.starts_at,
                                  ends_at=appointment.ends_at, reason=" ", worker_requested=True)


def test_a_cancelled_appointment_leaves_the_case_waiting_for_a_new_one():
    case, appointment, clerk, expert = booked_clinic_case()
    services.appointment_cancel(appointment.pk, actor=clerk, reason="场地维修")
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED
    assert Notification.objects.filter(template="appointment.cancelled").exists()
    assert services.appointment_book(case.pk, clinic_booking(expert, workday(10), hour=10), actor=clerk).pk


def test_a_closed_appointment_cannot_be_cancelled_again():
    case, appointment, clerk, expert = booked_clinic_case()
    services.appointment_cancel(appointment.pk, actor=clerk, reason="场地维修")
    with pytest.raises(ConflictError):
        services.appointment_cancel(appointment.pk, actor=clerk, reason="again")


def test_absence_without_good_reason_terminates_the_appraisal():
    case, appointment, clerk, expert = booked_clinic_case()
    services.attendance_terminate(appointment.pk, Appointment.State.ABSENT, actor=clerk, note="电话无人接听",
                                  at=appointment.starts_at + dt.timedelta(hours=1))
    case.refresh_from_db()
    appointment.refresh_from_db()
    assert case.status == Status.TERMINATED
    assert appointment.state == Appointment.State.ABSENT
    assert "无正当理由未参加鉴定" in case.timeline.get(action="terminate").note


def test_refusing_the_examination_terminates_the_appraisal():
    case, appointment, clerk, expert = booked_clinic_case()
    services.attendance_terminate(appointment.pk, Appointment.State.REFUSED, actor=clerk, note="拒绝体格检查",
                                  at=appointment.starts_at)
    case.refresh_from_db()
    assert case.status == Status.TERMINATED


def test_a_worker_is_not_marked_absent_before_the_appointment():
    case, appointment, clerk, expert = booked_clinic_case()
    with pytest.raises(ValidationFailed) as exc:
        services.attendance_terminate(appointment.pk, Appointment.State.ABSENT, actor=clerk, note="未到")
    assert exc.value.code == "absence_before_appointment"


def test_absence_with_good_reason_books_again_and_moves_the_deadline():
    case, appointment, clerk, expert = booked_clinic_case()
    due_before = case.conclusion_due
    new_day = workday(0, start=appointment.starts_at.date() + dt.timedelta(days=5))
    services.appointment_move(appointment.pk, actor=clerk, starts_at=at(new_day, 9), ends_at=at(new_day, 9, 30),
                              reason="突发疾病住院", worker_requested=True, excused_absence=True,
                              at=appointment.starts_at + dt.timedelta(minutes=40))
    appointment.refresh_from_db()
    case.refresh_from_db()
    shift = (new_day - appointment.starts_at.date()).days
    assert appointment.state == Appointment.State.EXCUSED
    assert case.conclusion_due == due_before + dt.timedelta(days=shift)


def test_the_examination_moves_the_case_to_examined():
    case, appointment, clerk, expert = booked_clinic_case()
    day.examination_done(appointment.pk, actor=expert.user, at=appointment.starts_at)
    case.refresh_from_db()
    appointment.refresh_from_db()
    assert case.status == Status.EXAMINED
    assert appointment.state == Appointment.State.EXAMINED


def test_the_examination_is_not_recorded_before_the_appointments_day():
    case, appointment, clerk, expert = booked_clinic_case()
    with pytest.raises(ValidationFailed) as exc:
        day.examination_done(appointment.pk, actor=clerk, at=appointment.starts_at - dt.timedelta(days=2))
    assert exc.value.code == "examined_early"


def test_withdrawing_the_application_cancels_the_live_appointment(django_capture_on_commit_callbacks):
    case, appointment, clerk, expert = booked_clinic_case()
    with django_capture_on_commit_callbacks(execute=True):
        case_services.transition(case.pk, "withdraw", actor=clerk, note="工人撤回申请")
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CANCELLED
