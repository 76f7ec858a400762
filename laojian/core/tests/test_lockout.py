"""Lockout after repeated failed sign-ins, per user name and per client address (SEC-09, MLPS
登录失败处理): counted in the database, audited, and never telling a locked name from a wrong password."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from laojian.core import auth, totp
from laojian.core.forms import NEUTRAL_REFUSAL
from laojian.core.models import AuditEvent, AuthFailure, AuthLock
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(client, username, password, address="10.1.1.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def error_text(response) -> str:
    return " ".join(str(e) for e in response.context["form"].non_field_errors())


def test_the_defaults_are_five_per_account_twenty_per_address_fifteen_minutes(settings):
    assert (settings.LAOJIAN_LOCKOUT_ACCOUNT_FAILURES, settings.LAOJIAN_LOCKOUT_ADDRESS_FAILURES) == (5, 20)
    assert (settings.LAOJIAN_LOCKOUT_WINDOW_SECONDS, settings.LAOJIAN_LOCKOUT_SECONDS) == (900, 900)


def test_the_sixth_attempt_is_refused_even_with_the_right_password(client):
    user = UserFactory(roles=["clerk"])
    for _ in range(5):
        attempt(client, user.username, "wrong password")
    response = attempt(client, user.username, PASSWORD)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_the_refusal_of_a_locked_account_is_audited(client):
    user = UserFactory(roles=["clerk"])
    for _ in range(5):
        attempt(client, user.username, "wrong password")
    attempt(client, user.username, PASSWORD)
    event = AuditEvent.objects.get(action="login_refused_locked")
    assert event.after == {"scope": "account", "username": user.username.casefold(), "step": "password"}
    assert event.ip_address == "10.1.1.1"


def test_reaching_the_limit_is_audited_as_a_lock(client):
    user = UserFactory(roles=["clerk"])
    for _ in range(5):
        attempt(client, user.username, "wrong password")
    event = AuditEvent.objects.get(action="login_locked")
    assert (event.after["scope"], event.after["username"]) == ("account", user.username.casefold())


def test_four_failures_do_not_lock(client):
    user = UserFactory(roles=["clerk"])
    for _ in range(4):
        attempt(client, user.username, "wrong password")
    attempt(client, user.username, PASSWORD)
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_locked_account_and_a_wrong_password_get_the_same_message(client):
    user = UserFactory(roles=["clerk"])
    wrong = attempt(client, user.username, "wrong password")
    for _ in range(4):
        attempt(client, user.username, "wrong password")
    locked = attempt(client, user.username, PASSWORD)
    assert error_text(wrong) == error_text(locked) == str(NEUTRAL_REFUSAL)


def test_an_unknown_user_name_gets_the_same_message(client):
    UserFactory(roles=["clerk"])
    assert error_text(attempt(client, "nobody-here", "wrong password")) == str(NEUTRAL_REFUSAL)


def test_an_unknown_user_name_is_locked_like_a_real_one(client):
    for _ in range(5):
        attempt(client, "nobody-here", "wrong password")
    assert AuthLock.objects.filter(scope="account", key="nobody-here").exists()


def test_the_lock_counts_the_name_whatever_its_case(client):
    user = UserFactory(roles=["clerk"], username="clerkcase")
    for _ in range(5):
        attempt(client, "ClerkCase", "wrong password")
    attempt(client, user.username, PASSWORD)
    assert SESSION_KEY not in client.session


def test_another_account_from_another_address_is_not_affected(client):
    user, other = UserFactory(roles=["clerk"]), UserFactory(roles=["clerk"])
    for _ in range(5):
        attempt(client, user.username, "wrong password")
    attempt(client, other.username, PASSWORD, address="10.2.2.2")
    assert client.session[SESSION_KEY] == str(other.pk)


def test_twenty_failures_from_one_address_block_it_for_every_account(client):
    user = UserFactory(roles=["clerk"])
    for n in range(20):
        attempt(client, f"guess{n}", "wrong password", address="10.3.3.3")
    attempt(client, user.username, PASSWORD, address="10.3.3.3")
    assert SESSION_KEY not in client.session
    assert AuditEvent.objects.get(action="login_refused_locked").after["scope"] == "address"


def test_the_same_account_from_another_address_is_still_locked(client):
    user = UserFactory(roles=["clerk"])
    for _ in range(5):
        attempt(client, user.username, "wrong password")
    attempt(client, user.username, PASSWORD, address="10.9.9.9")
    assert SESSION_KEY not in client.session


def test_the_lock_ends_after_the_lock_period():
    now = timezone.now()
    for _ in range(5):
        auth.failure_record("clerk9", "10.1.1.1", now=now)
    assert auth.locked_scope("clerk9", "", now=now + dt.timedelta(seconds=899)) == "account"
    assert auth.locked_scope("clerk9", "", now=now + dt.timedelta(seconds=900)) is None


def test_failures_older_than_the_window_do_not_count():
    start = timezone.now()
    for _ in range(4):
        auth.failure_record("clerk9", "", now=start)
    assert auth.failure_record("clerk9", "", now=start + dt.timedelta(seconds=901)) == []
    assert AuthFailure.objects.filter(key="clerk9").count() == 1


def test_the_limits_are_settings(client, settings):
    settings.LAOJIAN_LOCKOUT_ACCOUNT_FAILURES = 2
    user = UserFactory(roles=["clerk"])
    for _ in range(2):
        attempt(client, user.username, "wrong password")
    attempt(client, user.username, PASSWORD)
    assert SESSION_KEY not in client.session


def test_a_complete_sign_in_clears_the_accounts_failures(client):
    user = UserFactory(roles=["clerk"])
    for _ in range(4):
        attempt(client, user.username, "wrong password")
    attempt(client, user.username, PASSWORD)
    assert not AuthFailure.objects.filter(scope="account", key=user.username.casefold()).exists()


def test_wrong_codes_count_towards_the_lock(client):
    user = UserFactory(roles=["clerk"])
    _device, key = totp.device_start(user)
    totp.device_confirm(user, totp.totp(key, at=time.time() - 60), at=time.time() - 60)
    valid = {totp.totp(key, at=time.time() + drift) for drift in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" not in valid)
    attempt(client, user.username, PASSWORD)
    for _ in range(5):
        client.post(reverse("login_code"), {"code": wrong}, REMOTE_ADDR="10.1.1.1")
    assert auth.locked_scope(user.username, "") == "account"


def test_the_fifth_wrong_code_ends_the_pending_sign_in(client):
    user = UserFactory(roles=["clerk"])
    _device, key = totp.device_start(user)
    totp.device_confirm(user, totp.totp(key, at=time.time() - 60), at=time.time() - 60)
    valid = {totp.totp(key, at=time.time() + drift) for drift in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" not in valid)
    attempt(client, user.username, PASSWORD)
    responses = [client.post(reverse("login_code"), {"code": wrong}, REMOTE_ADDR="10.1.1.1") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 302]
    assert auth.PENDING_KEY not in client.session
