"""A clerk whose committee requires two factors sets up the authenticator app at the first sign-in,
then signs in again with a code. The pages run under the enforced Content-Security-Policy: the
browser must report no violation (SEC-07, SEC-17)."""

from __future__ import annotations

import base64
import time

import pytest

from laojian.core import totp
from laojian.core.tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def code_for(secret_text: str, at_offset: int = 0) -> str:
    raw = secret_text.replace(" ", "")
    key = base64.b32decode(raw + "=" * (-len(raw) % 8))
    return totp.totp(key, at=time.time() + at_offset)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_clerk_sets_up_the_app_then_signs_in_with_a_code(live_server, strict_page, artifacts, settings):
    page = strict_page
    settings.LAOJIAN_TOTP_REQUIRED = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(username="clerk2fa", display_name="李经办", roles=["clerk"])

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "clerk2fa")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")

    page.wait_for_url(f"{live_server.url}/account/two-factor/")
    assert page.locator("img.enrol-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator(".enrol-secret").inner_text()
    page.screenshot(path=artifacts / "two-factor-enrol.png", full_page=True)
    page.fill("#id_code", code_for(secret))
    page.click("button[type=submit].btn-primary")

    codes = page.locator(".recovery-codes li")
    codes.first.wait_for()
    assert codes.count() == 10
    page.click(".enrol-card a.btn-primary")
    page.wait_for_url(f"{live_server.url}/cases/")

    # Sign out, then in again: now the code step (the next 30-second step: the first one is used).
    page.click("form[action='/logout/'] button")
    page.wait_for_url(f"{live_server.url}/login/")
    page.fill("#id_username", "clerk2fa")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{live_server.url}/login/code/")
    page.fill("#id_code", code_for(secret, at_offset=30))
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{live_server.url}/cases/")

    # An HTMX swap under the policy: htmx must not need inline style or eval.
    with page.expect_response(lambda r: "sort=number" in r.url and r.request.headers.get("hx-request") == "true"):
        page.select_option("#sort-order", "number")
    page.wait_for_url("**/cases/?*sort=number*")
    assert page.csp_violations == []
