"""Sessions end after 30 idle minutes (activity keeps them alive without a write per request), 12 hours
after sign-in whatever the activity, at logout, and when the account is disabled (SEC-13, SEC-14)."""

import datetime as dt
import time

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from laojian.core import auth
from laojian.core.models import AuditEvent, User
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


# ABSOLUTE CAP, LOGOUT, DISABLED ACCOUNTS (SEC-12, SEC-13, SEC-14) -------------------------------------


def test_the_absolute_cap_defaults_to_twelve_hours(settings):
    assert settings.LAOJIAN_SESSION_MAX_SECONDS == 12 * 3600


def test_a_session_older_than_the_cap_ends_however_active(client, settings):
    signed_in(client)
    stored = client.session
    stored[auth.LOGIN_AT_KEY] = int(time.time()) - settings.LAOJIAN_SESSION_MAX_SECONDS
    stored.save()
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_ending_a_session_at_the_cap_is_audited(client, settings):
    session = signed_in(client)
    stored = client.session
    stored[auth.LOGIN_AT_KEY] = int(time.time()) - settings.LAOJIAN_SESSION_MAX_SECONDS
    stored.save()
    client.get("/cases/")
    assert AuditEvent.objects.get(action="session_ended").after == {"reason": "max_age"}
    assert not Session.objects.filter(pk=session.pk).exists()


def test_a_session_younger_than_the_cap_goes_on(client, settings):
    signed_in(client)
    stored = client.session
    stored[auth.LOGIN_AT_KEY] = int(time.time()) - settings.LAOJIAN_SESSION_MAX_SECONDS + 60
    stored.save()
    assert client.get("/cases/").status_code == 200


def test_login_starts_the_absolute_clock(client):
    before = int(time.time())
    signed_in(client)
    assert client.session[auth.LOGIN_AT_KEY] >= before


def test_a_session_cookie_replayed_after_logout_is_refused(client, settings):
    signed_in(client)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/logout/")
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_logout_deletes_the_session_row(client):
    session = signed_in(client)
    client.post("/logout/")
    assert not Session.objects.filter(pk=session.pk).exists()


def test_a_disabled_account_loses_its_session_on_the_next_request(client):
    signed_in(client)
    User.objects.filter(pk=client.session["_auth_user_id"]).update(is_active=False)
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_login_page_says_why_the_session_ended(client, settings):
    signed_in(client)
    stored = client.session
    stored[auth.LOGIN_AT_KEY] = int(time.time()) - settings.LAOJIAN_SESSION_MAX_SECONDS
    stored.save()
    response = client.get("/cases/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Your session reached its time limit." in response.content.decode()
