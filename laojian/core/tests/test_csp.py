"""Content-Security-Policy on every response, and no inline script or style that it would break (SEC-17)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from laojian.core.tests.factories import UserFactory

LAOJIAN_DIR = Path(__file__).resolve().parents[2]
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
          "base-uri 'self'; frame-ancestors 'none'; form-action 'self'")

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\s(?:on[a-z]+|hx-on[:\-\w]*)\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)
INLINE_CODE = {"inline <script>": INLINE_SCRIPT, "style attribute": INLINE_STYLE_ATTRIBUTE,
               "<style> element": STYLE_ELEMENT, "event-handler attribute": EVENT_HANDLER,
               "javascript: URL": JAVASCRIPT_URL}


def inline_code(html: str) -> list[str]:
    return [name for name, pattern in INLINE_CODE.items() if pattern.search(html)]


def test_the_default_policy_is_the_one_of_sec_17():
    assert django_settings.LAOJIAN_CSP == POLICY
    assert django_settings.LAOJIAN_CSP_REPORT_ONLY is False


def test_no_template_has_inline_script_or_style():
    found = {}
    for template in sorted(LAOJIAN_DIR.glob("**/templates/**/*.html")):
        text = re.sub(r"{#.*?#}", "", template.read_text(encoding="utf-8"), flags=re.DOTALL)
        kinds = inline_code(text)
        if kinds:
            found[str(template.relative_to(LAOJIAN_DIR))] = kinds
    assert found == {}


def test_the_scan_finds_inline_code():
    assert inline_code('<p style="color:red">') == ["style attribute"]
    assert inline_code("<script>alert(1)</script>") == ["inline <script>"]
    assert inline_code('<script src="/static/x.js"></script>') == []
    assert inline_code('<button onclick="go()">') == ["event-handler attribute"]


def test_htmx_is_told_not_to_inject_its_indicator_style():
    base = (LAOJIAN_DIR / "templates" / "base.html").read_text(encoding="utf-8")
    assert '<meta name="htmx-config"' in base
    assert '"includeIndicatorStyles": false' in base


# HEADERS -----------------------------------------------------------------------------------------------

PUBLIC_PAGES = ["/login/", "/portal/sign-in/", "/portal/status/", "/v/", "/v/NOSUCHCODE/", "/no-such-page/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_carry_the_policy_and_no_inline_code(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == POLICY
    assert inline_code(response.content.decode()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/cases/", "/account/", "/account/password/", "/account/two-factor/"])
def test_signed_in_pages_carry_the_policy_and_no_inline_code(client, path):
    client.force_login(UserFactory(roles=["clerk"]))
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY
    assert inline_code(response.content.decode()) == []


@pytest.mark.django_db
def test_the_admin_carries_the_policy(client):
    client.force_login(UserFactory(roles=["admin"], is_staff=True))
    response = client.get("/admin/core/user/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.django_db
def test_redirects_carry_the_policy(client):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Content-Security-Policy"] == POLICY


@pytest.mark.django_db
def test_report_only_mode_sends_the_report_only_header(client, settings):
    settings.LAOJIAN_CSP_REPORT_ONLY = True
    response = client.get("/login/")
    assert response["Content-Security-Policy-Report-Only"] == POLICY
    assert "Content-Security-Policy" not in response


@pytest.mark.django_db
def test_the_policy_is_a_setting(client, settings):
    settings.LAOJIAN_CSP = "default-src 'none'"
    assert client.get("/login/")["Content-Security-Policy"] == "default-src 'none'"


@pytest.mark.django_db
def test_pages_also_forbid_framing_and_sniffing(client):
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
