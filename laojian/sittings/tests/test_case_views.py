"""The case's appointments page and its buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases.models import Mode, Status
from laojian.core.tests.factories import CommitteeFactory
from laojian.sittings import services
from laojian.sittings.models import Appointment
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db


def booked(client):
    committee = CommitteeFactory()
    expert = expert_of(committee)
    case = reviewed_case(committee, mode=Mode.CLINIC, experts=[expert])
    clerk = clerk_of(committee)
    start = at(workday(7), 9)
    appointment = services.appointment_book(
        case.pk, Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=30),
                         expert_id=expert.pk), actor=clerk)
    client.force_login(clerk)
    return case, appointment


def test_the_page_shows_the_live_appointment(client):
    case, appointment = booked(client)
    response = client.get(reverse("sittings:case", args=[case.pk]))
    assert response.status_code == 200
    assert response.context["live"] == appointment
    assert b'id="live-appointment"' in response.content


def test_the_case_page_shows_the_appointment_box(client):
    case, appointment = booked(client)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert b"appointment-box" in response.content
    assert appointment.place.encode() in response.content


def test_another_committees_clerk_gets_404(client):
    case, appointment = booked(client)
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:case", args=[case.pk])).status_code == 404
    response = client.post(reverse("sittings:appointment_cancel", args=[appointment.pk]), {"cancel-reason": "x"})
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.BOOKED


def test_moving_from_the_page_books_the_new_time(client):
    case, appointment = booked(client)
    new_day = workday(0, start=appointment.starts_at.date() + dt.timedelta(days=3))
    response = client.post(reverse("sittings:appointment_move", args=[appointment.pk]), {
        "move-date": new_day.isoformat(), "move-start": "10:00", "move-end": "10:30", "move-reason": "工人申请",
        "move-worker_requested": "on"})
    assert response.status_code == 303
    live = Appointment.objects.get(case=case, state=Appointment.State.BOOKED)
    assert live.starts_at == at(new_day, 10)


def test_a_refused_move_shows_the_form_again_with_what_was_typed(client):
    case, appointment = booked(client)
    response = client.post(reverse("sittings:appointment_move", args=[appointment.pk]), {
        "move-date": "2020-01-06", "move-start": "10:00", "move-end": "10:30", "move-reason": "工人申请"})
    assert response.status_code == 400
    assert response.context["move_form"].data["move-reason"] == "工人申请"
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.BOOKED


def test_an_incomplete_form_is_refused_without_calling_the_service(client):
    case, appointment = booked(client)
    response = client.post(reverse("sittings:appointment_cancel", args=[appointment.pk]), {"cancel-reason": ""})
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.BOOKED


def test_cancelling_from_the_page(client):
    case, appointment = booked(client)
    response = client.post(reverse("sittings:appointment_cancel", args=[appointment.pk]), {"cancel-reason": "场地维修"})
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.CANCELLED
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED
