"""Sessions end after 30 idle minutes; activity keeps them alive without a write per request."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(client):
    user = UserFactory(roles=["clerk"])
    client.force_login(user)
    return Session.objects.get(session_key=client.session.session_key)


def test_an_idle_session_is_over(client, settings):
    session = signed_in(client)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_activity_after_a_minute_slides_the_idle_timeout(client, settings):
    session = signed_in(client)
    stored = client.session
    stored["_refreshed"] = 0
    stored.save()
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + dt.timedelta(seconds=100))
    client.get("/cases/")
    expire = Session.objects.get(pk=session.pk).expire_date
    assert expire > timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_requests_within_the_minute_do_not_write_the_session(client):
    signed_in(client)
    client.get("/cases/")
    before = Session.objects.get(session_key=client.session.session_key).expire_date
    client.get("/cases/")
    assert Session.objects.get(session_key=client.session.session_key).expire_date == before


def test_the_idle_timeout_defaults_to_thirty_minutes(settings):
    assert settings.SESSION_COOKIE_AGE == 1800
