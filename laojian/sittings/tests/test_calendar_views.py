"""The calendar pages and the iCalendar feed address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases.models import Mode
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.sittings import calendars, services
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db


def booked_clinic(committee, expert, day):
    case = reviewed_case(committee, mode=Mode.CLINIC)
    start = at(day, 9)
    return services.appointment_book(
        case.pk, Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=30),
                         expert_id=expert.pk), actor=clerk_of(committee))


def test_a_clerk_sees_the_days_appointments(client):
    committee = CommitteeFactory()
    day = workday(7)
    appointment = booked_clinic(committee, expert_of(committee), day)
    client.force_login(clerk_of(committee))
    response = client.get(reverse("sittings:calendar"), {"date": day.isoformat()})
    assert response.status_code == 200
    assert [e.appointment for e in response.context["view"].entries] == [appointment]


def test_a_date_that_is_not_a_date_shows_today(client):
    client.force_login(clerk_of(CommitteeFactory()))
    response = client.get(reverse("sittings:calendar"), {"date": "2026-13-40"})
    assert response.status_code == 200
    assert response.context["view"].day == response.context["today"]


def test_the_week_page_opens(client):
    client.force_login(clerk_of(CommitteeFactory()))
    response = client.get(reverse("sittings:calendar_week"), {"date": "2026-12-09"})
    assert response.status_code == 200
    assert response.context["view"].monday == dt.date(2026, 12, 7)


def test_a_worker_without_the_permission_may_not_see_the_calendar(client):
    client.force_login(UserFactory(committee=CommitteeFactory(), roles=[]))
    assert client.get(reverse("sittings:calendar")).status_code == 403


def test_an_expert_sees_their_own_calendar_and_feed_address(client):
    committee = CommitteeFactory()
    expert = expert_of(committee)
    appointment = booked_clinic(committee, expert, workday(7))
    client.force_login(expert.user)
    response = client.get(reverse("sittings:my_calendar"))
    assert response.status_code == 200
    assert f'id="appointment-{appointment.pk}"'.encode() in response.content
    assert calendars.feed_for(expert.user).token in response.context["feed_url"]


def test_only_experts_have_an_own_calendar(client):
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:my_calendar")).status_code == 403


def test_the_feed_is_read_with_its_key_and_without_signing_in(client):
    committee = CommitteeFactory()
    expert = expert_of(committee)
    appointment = booked_clinic(committee, expert, workday(7))
    response = client.get(reverse("sittings:feed", args=[calendars.feed_for(expert.user).token]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "no-store"
    assert f"appointment-{appointment.pk}@laojian" in response.content.decode()


def test_a_wrong_key_is_not_found(client):
    assert client.get(reverse("sittings:feed", args=["not-a-key"])).status_code == 404


def test_making_a_new_address_closes_the_old_one_and_is_audited(client):
    expert = expert_of(CommitteeFactory())
    old = calendars.feed_for(expert.user).token
    client.force_login(expert.user)
    response = client.post(reverse("sittings:my_feed_rotate"))
    assert response.status_code == 303
    assert client.get(reverse("sittings:feed", args=[old])).status_code == 404
    assert AuditEvent.objects.filter(action="calendar_feed.rotate", actor=expert.user).exists()
