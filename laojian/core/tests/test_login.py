"""Staff sign-in in two steps (SEC-07, SEC-43): password, then a TOTP code; login() only after both.

``LAOJIAN_TOTP_REQUIRED`` on: staff without an app are sent to set one up right after the
password, and reach nothing else before. Off: only users who set one up are asked for a code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Permission
from django.urls import reverse

from laojian.core import auth, totp
from laojian.core.crypto import new_key
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def clerk(**kwargs):
    return UserFactory(roles=["clerk"], **kwargs)


def with_app(user):
    """Enrol ``user``; returns the secret. The enrolment used the step of one minute ago."""
    _device, key = totp.device_start(user)
    earlier = time.time() - 60
    assert totp.device_confirm(user, totp.totp(key, at=earlier), at=earlier) is not None
    return key


def post_password(client, user, **extra):
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD, **extra})


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


# OFF (the development default) ------------------------------------------------------------------


def test_without_an_app_and_not_required_the_password_signs_in(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = False
    user = clerk()
    response = post_password(client, user)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)


def test_a_user_with_an_app_is_asked_for_a_code_even_when_not_required(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = False
    user = clerk()
    with_app(user)
    response = post_password(client, user)
    assert response["Location"] == reverse("login_code")
    assert signed_in_user_id(client) is None


# THE CODE STEP --------------------------------------------------------------------------------------


def test_after_the_password_alone_no_page_is_reachable(client):
    user = clerk()
    with_app(user)
    post_password(client, user)
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_right_code_signs_in_and_goes_to_next(client):
    user = clerk()
    key = with_app(user)
    post_password(client, user, next="/cases/")
    response = client.post(reverse("login_code"), {"code": totp.totp(key)})
    assert response.status_code == 302
    assert response["Location"] == "/cases/"
    assert signed_in_user_id(client) == str(user.pk)


def test_the_session_key_changes_at_the_password_and_again_at_the_code(client):
    user = clerk()
    key = with_app(user)
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    post_password(client, user)
    pending = client.session.session_key
    client.post(reverse("login_code"), {"code": totp.totp(key)})
    assert len({before, pending, client.session.session_key}) == 3


def test_a_wrong_code_is_refused_and_audited(client):
    user = clerk()
    key = with_app(user)
    post_password(client, user)
    valid = {totp.totp(key, at=time.time() + drift) for drift in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" not in valid)
    response = client.post(reverse("login_code"), {"code": wrong})
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    assert AuditEvent.objects.filter(action="second_factor_failed", object_id=str(user.pk)).count() == 1


def test_a_code_already_used_is_refused(client):
    user = clerk()
    key = with_app(user)
    code = totp.totp(key)
    post_password(client, user)
    client.post(reverse("login_code"), {"code": code})
    client.post(reverse("logout"))
    post_password(client, user)
    response = client.post(reverse("login_code"), {"code": code})
    assert response.status_code == 200
    assert signed_in_user_id(client) is None


def test_a_recovery_code_signs_in(client):
    user = clerk()
    _device, key = totp.device_start(user)
    codes = totp.device_confirm(user, totp.totp(key, at=time.time() - 60), at=time.time() - 60)
    post_password(client, user)
    client.post(reverse("login_code"), {"code": codes[0]})
    assert signed_in_user_id(client) == str(user.pk)
    assert AuditEvent.objects.get(action="login_second_factor").after == {"method": "recovery"}


def test_the_code_step_without_a_password_first_goes_back_to_login(client):
    response = client.get(reverse("login_code"))
    assert response["Location"] == reverse("login")


def test_a_pending_sign_in_runs_out_after_five_minutes(client):
    user = clerk()
    key = with_app(user)
    post_password(client, user)
    session = client.session
    session[auth.PENDING_KEY] = {**session[auth.PENDING_KEY], "at": int(time.time()) - 301}
    session.save()
    response = client.post(reverse("login_code"), {"code": totp.totp(key)})
    assert response["Location"] == reverse("login")
    assert signed_in_user_id(client) is None


def test_a_password_changed_meanwhile_voids_the_pending_sign_in(client):
    user = clerk()
    key = with_app(user)
    post_password(client, user)
    user.set_password("another long password 2026")
    user.save()
    client.post(reverse("login_code"), {"code": totp.totp(key)})
    assert signed_in_user_id(client) is None


def test_the_next_address_must_be_on_this_site(client):
    user = clerk()
    key = with_app(user)
    post_password(client, user, next="https://evil.example/")
    response = client.post(reverse("login_code"), {"code": totp.totp(key)})
    assert response["Location"] == reverse("home")


# ON (the production default) -------------------------------------------------------------------


def test_production_requires_two_factors_by_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAOJIAN_") and k != "DATABASE_URL"}
    env.update({"LAOJIAN_PRODUCTION": "1", "LAOJIAN_SECRET_KEY": "k3y-" * 15, "LAOJIAN_ALLOWED_HOSTS": "x.example",
                "LAOJIAN_DATA_DIR": str(tmp_path), "LAOJIAN_FIELD_KEYS": f"k1:{new_key()}",
                "LAOJIAN_INDEX_KEY": new_key()})
    code = ("import os; os.environ['DJANGO_SETTINGS_MODULE']='laojian.settings'; "
            "from django.conf import settings; print(settings.LAOJIAN_TOTP_REQUIRED)")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr


def test_development_does_not_require_two_factors_by_default(settings):
    assert settings.LAOJIAN_TOTP_REQUIRED is False


def test_when_required_staff_without_an_app_go_to_enrolment(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    user = clerk()
    response = post_password(client, user)
    assert response["Location"] == reverse("two_factor_enrol")
    assert signed_in_user_id(client) is None


def test_while_enrolling_nothing_else_is_reachable(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    user = clerk()
    post_password(client, user)
    assert client.get("/cases/")["Location"].startswith(reverse("login"))
    assert client.get(reverse("account"))["Location"].startswith(reverse("login"))


def test_the_enrolment_page_shows_the_qr_code_and_the_secret(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    user = clerk()
    post_password(client, user)
    response = client.get(reverse("two_factor_enrol"))
    key = totp.decrypt_secret(user.totp_device.secret, user.pk)
    body = response.content.decode()
    assert 'src="data:image/svg+xml' in body
    assert totp.secret_text(key) in body


def test_confirming_the_app_signs_in_and_shows_the_recovery_codes(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    user = clerk()
    post_password(client, user)
    client.get(reverse("two_factor_enrol"))
    key = totp.decrypt_secret(user.totp_device.secret, user.pk)
    response = client.post(reverse("two_factor_enrol"), {"code": totp.totp(key)})
    shown = re.findall(r"\b[a-z2-9]{4}(?:-[a-z2-9]{4}){3}\b", response.content.decode())
    assert signed_in_user_id(client) == str(user.pk)
    assert len(set(shown)) == 10
    assert totp.verify(user, shown[0]) == totp.Verified("recovery")


def test_after_enrolment_the_secret_is_not_shown_again(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    user = clerk()
    post_password(client, user)
    client.get(reverse("two_factor_enrol"))
    key = totp.decrypt_secret(user.totp_device.secret, user.pk)
    client.post(reverse("two_factor_enrol"), {"code": totp.totp(key)})
    response = client.get(reverse("two_factor_enrol"), follow=True)
    assert totp.secret_text(key) not in response.content.decode()
    assert response.redirect_chain[0][0] == reverse("account")


def test_applicants_are_not_asked_for_a_second_factor(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    user = UserFactory(roles=["applicant"])
    post_password(client, user)
    assert signed_in_user_id(client) == str(user.pk)


def test_staff_may_set_up_an_app_while_not_required(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = False
    user = clerk()
    client.force_login(user)
    client.get(reverse("two_factor_enrol"))
    key = totp.decrypt_secret(user.totp_device.secret, user.pk)
    client.post(reverse("two_factor_enrol"), {"code": totp.totp(key)})
    assert client.get("/cases/").status_code == 200
    assert totp.has_device(user)


# NO WAY AROUND THE SECOND STEP ------------------------------------------------------------------


def test_the_admin_login_page_sends_to_the_staff_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"


def test_a_session_made_without_the_code_step_ends_for_a_user_with_an_app(client):
    user = clerk()
    with_app(user)
    client.force_login(user)  # as the admin's login page or any other login() call would
    response = client.get("/cases/")
    assert response["Location"].startswith(reverse("login"))
    assert AuditEvent.objects.get(action="session_ended").after == {"reason": "second_factor_missing"}


def test_a_session_made_without_the_code_step_ends_when_two_factors_are_required(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    client.force_login(clerk())
    assert client.get("/cases/")["Location"].startswith(reverse("login"))


def test_an_applicant_session_from_the_portal_stays_when_two_factors_are_required(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = True
    client.force_login(UserFactory(roles=["applicant"]))
    assert client.get(reverse("portal:home")).status_code == 200


def test_a_session_signed_in_without_an_app_ends_once_two_factors_become_required(client, settings):
    settings.LAOJIAN_TOTP_REQUIRED = False
    user = clerk()
    post_password(client, user)
    assert client.get("/cases/").status_code == 200
    settings.LAOJIAN_TOTP_REQUIRED = True
    assert client.get("/cases/")["Location"].startswith(reverse("login"))


# ADMIN RESET ----------------------------------------------------------------------------------------


def test_the_security_administrator_resets_a_users_app_from_the_user_list(client):
    admin = UserFactory(roles=["security"], is_staff=True)
    client.force_login(admin)
    user = clerk()
    with_app(user)
    response = client.post("/admin/core/user/", {"action": "reset_second_factor", "_selected_action": [user.pk]})
    assert response.status_code == 302
    assert not totp.has_device(user)
    assert AuditEvent.objects.filter(action="second_factor_reset", actor=admin, object_id=str(user.pk)).count() == 1


def test_only_holders_of_the_reset_permission_see_the_reset_action(client):
    clerk_staff = UserFactory(roles=["clerk"], is_staff=True)
    clerk_staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(clerk_staff)
    user = clerk()
    with_app(user)
    client.post("/admin/core/user/", {"action": "reset_second_factor", "_selected_action": [user.pk]})
    assert totp.has_device(user)
