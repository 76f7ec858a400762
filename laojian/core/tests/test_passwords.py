"""Password rules (SEC-08, SEC-40): length 12 and more, not common, not like the user, not all digits;
a configurable rotation period (off by default) that sends staff to the change page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from laojian.core import auth
from laojian.core.models import AuditEvent, User
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def codes_of(password, user=None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {error.code for error in exc.error_list}
    return set()


def test_eleven_characters_are_too_short():
    assert "password_too_short" in codes_of("kx8#Lq2!vZp")


def test_twelve_characters_are_enough():
    assert codes_of("kx8#Lq2!vZp&") == set()


def test_the_minimum_length_is_a_setting(settings):
    assert settings.LAOJIAN_PASSWORD_MIN_LENGTH == 12


def test_a_common_password_is_refused():
    assert "password_too_common" in codes_of("password1234")


def test_an_all_digit_password_is_refused():
    assert "password_entirely_numeric" in codes_of("739204815573")


def test_a_password_like_the_user_name_is_refused():
    user = User(username="zhangwei-clerk", display_name="张伟")
    assert "password_too_similar" in codes_of("zhangwei-clerk1", user)


def test_a_password_like_the_users_phone_is_refused():
    user = User(username="u1", phone="13812345678")
    assert "password_too_similar" in codes_of("13812345678a", user)


def test_a_long_passphrase_is_accepted():
    assert codes_of("the river flows north past the old mill " * 2) == set()


def test_factories_still_create_users_with_short_passwords():
    user = UserFactory(password="short")
    assert user.check_password("short")


def test_setting_a_password_records_when():
    user = UserFactory()
    before = timezone.now()
    user.set_password("another long password 2026")
    assert user.password_changed_at >= before


# ROTATION --------------------------------------------------------------------------------------------


def aged(days: int) -> User:
    user = UserFactory(roles=["clerk"])
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=days))
    return User.objects.get(pk=user.pk)


def sign_in(client, user):
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})


def test_rotation_is_off_by_default(settings):
    assert settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS == 0
    assert auth.password_expired(aged(3650)) is False


def test_a_password_older_than_the_maximum_age_has_expired(settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 90
    assert auth.password_expired(aged(91)) is True


def test_a_younger_password_has_not_expired(settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 90
    assert auth.password_expired(aged(89)) is False


def test_a_never_changed_password_ages_from_the_account_creation(settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 90
    user = UserFactory(roles=["clerk"])
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - dt.timedelta(days=100))
    assert auth.password_expired(User.objects.get(pk=user.pk)) is True


def test_applicants_passwords_do_not_expire(settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 1
    user = UserFactory(roles=["applicant"])
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=30))
    assert auth.password_expired(User.objects.get(pk=user.pk)) is False


def test_with_an_expired_password_every_page_sends_to_the_change_page(client, settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 90
    sign_in(client, aged(91))
    response = client.get("/cases/")
    assert response["Location"] == reverse("password_change")


def test_the_change_page_itself_opens_with_an_expired_password(client, settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 90
    sign_in(client, aged(91))
    assert client.get(reverse("password_change")).status_code == 200


def test_a_new_password_lifts_the_redirect_and_is_audited(client, settings):
    settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS = 90
    user = aged(91)
    sign_in(client, user)
    new = "a brand new long passphrase"
    response = client.post(reverse("password_change"),
                           {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response["Location"] == reverse("account")
    assert client.get("/cases/").status_code == 200
    assert AuditEvent.objects.filter(action="password_changed", object_id=str(user.pk)).count() == 1
    assert auth.password_expired(User.objects.get(pk=user.pk)) is False


def test_the_change_form_applies_the_validators(client):
    user = UserFactory(roles=["clerk"])
    sign_in(client, user)
    response = client.post(reverse("password_change"),
                           {"old_password": PASSWORD, "new_password1": "short1", "new_password2": "short1"})
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
