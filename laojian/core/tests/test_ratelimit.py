"""Rate limits on the public pages (SEC-30): the document verification page and the portal's SMS
sign-in, per client address and per phone number, answered with 429 in the user's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from laojian.core import ratelimit
from laojian.core.models import AuditEvent, RateCounter

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limits(settings):
    settings.LAOJIAN_RATE_LIMITS = {
        "documents:verify": [{"scope": "ip", "limit": 3, "window": 600}],
        "portal:sign_in": [{"scope": "ip", "limit": 5, "window": 900, "methods": ["POST"]},
                           {"scope": "post:phone", "limit": 2, "window": 900, "methods": ["POST"]}],
    }


def verify(client, address="10.0.0.1", **extra):
    return client.get("/v/NOSUCHCODE/", REMOTE_ADDR=address, **extra)


def test_the_default_rules_cover_the_public_pages(settings):
    assert set(settings.LAOJIAN_RATE_LIMITS) >= {"documents:verify", "documents:verify_lookup", "portal:sign_in"}


def test_requests_within_the_limit_pass(client, small_limits):
    assert [verify(client).status_code for _ in range(3)] == [404, 404, 404]


def test_the_request_over_the_limit_gets_429(client, small_limits):
    for _ in range(3):
        verify(client)
    assert verify(client).status_code == 429


def test_the_429_says_when_to_try_again(client, small_limits):
    for _ in range(3):
        verify(client)
    response = verify(client)
    assert 1 <= int(response["Retry-After"]) <= 600


def test_the_429_page_is_in_the_users_language(client, small_limits):
    for _ in range(3):
        verify(client)
    response = verify(client, HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert "Too many requests" in body


def test_the_429_page_defaults_to_chinese(client, small_limits):
    for _ in range(3):
        verify(client)
    assert '<html lang="zh-hans">' in verify(client).content.decode()


def test_another_address_is_not_limited(client, small_limits):
    for _ in range(4):
        verify(client)
    assert verify(client, address="10.0.0.2").status_code == 404


def test_the_first_refusal_of_a_window_is_audited_once(client, small_limits):
    for _ in range(6):
        verify(client)
    event = AuditEvent.objects.get(action="rate_limited")
    assert event.after == {"rule": "documents:verify", "scope": "ip", "limit": 3, "window": 600}
    assert event.ip_address == "10.0.0.1"


def test_pages_without_a_rule_are_not_counted(client, small_limits):
    client.get("/login/")
    assert RateCounter.objects.count() == 0


def test_sign_in_codes_for_one_phone_are_limited_across_addresses(client, small_limits):
    statuses = [client.post("/portal/sign-in/", {"step": "phone", "phone": "13800000001"},
                            REMOTE_ADDR=f"10.0.1.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_the_phone_is_compared_without_spaces(client, small_limits):
    for phone in ("13800000001", "138 0000 0001"):
        client.post("/portal/sign-in/", {"step": "phone", "phone": phone})
    assert client.post("/portal/sign-in/", {"step": "phone", "phone": "138-0000-0001"}).status_code == 429


def test_code_checks_count_against_the_phone_too(client, small_limits):
    client.post("/portal/sign-in/", {"step": "phone", "phone": "13800000001"})
    client.post("/portal/sign-in/", {"step": "code", "phone": "13800000001", "code": "000000"})
    response = client.post("/portal/sign-in/", {"step": "code", "phone": "13800000001", "code": "000001"})
    assert response.status_code == 429


def test_sign_in_posts_from_one_address_are_limited(client, small_limits):
    statuses = [client.post("/portal/sign-in/", {"step": "phone", "phone": f"1380000000{n}"}).status_code
                for n in range(6)]
    assert statuses == [200] * 5 + [429]


def test_the_sign_in_page_itself_is_not_counted(client, small_limits):
    for _ in range(10):
        assert client.get("/portal/sign-in/").status_code == 200


def test_the_phone_is_not_stored_in_clear(client, small_limits):
    client.post("/portal/sign-in/", {"step": "phone", "phone": "13800000001"})
    assert not RateCounter.objects.filter(key__contains="13800000001").exists()


# THE COUNTER ------------------------------------------------------------------------------------------


def test_a_new_window_starts_the_count_again():
    now = dt.datetime(2026, 5, 1, 9, 0, 10, tzinfo=dt.UTC)
    for _ in range(3):
        ratelimit.hit("k", 600, now)
    assert ratelimit.hit("k", 600, now + dt.timedelta(minutes=10))[0] == 1


def test_the_window_ends_on_its_boundary():
    now = dt.datetime(2026, 5, 1, 9, 3, 0, tzinfo=dt.UTC)
    assert ratelimit.hit("k", 600, now)[1] == dt.datetime(2026, 5, 1, 9, 10, 0, tzinfo=dt.UTC)


def test_counters_a_day_old_are_removed():
    old = timezone.now() - dt.timedelta(days=2)
    RateCounter.objects.create(key="old", window_start=old, hits=5)
    ratelimit.hit("new", 600)
    assert not RateCounter.objects.filter(key="old").exists()


def test_the_decorator_applies_the_same_rules(settings):
    settings.LAOJIAN_RATE_LIMITS = {"demo": [{"scope": "ip", "limit": 1, "window": 60}]}
    view = ratelimit.rate_limited("demo")(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7")
    assert [view(request).status_code for _ in range(2)] == [200, 429]


def test_an_unknown_scope_is_a_configuration_error(settings):
    settings.LAOJIAN_RATE_LIMITS = {"demo": [{"scope": "cookie:x", "limit": 1, "window": 60}]}
    with pytest.raises(ValueError):
        ratelimit.check("demo", RequestFactory().get("/"))


def test_the_default_table_passes_the_system_check():
    assert ratelimit.check_settings() == []


@pytest.mark.parametrize("rule", [
    {"scope": "cookie:x", "limit": 1, "window": 60},
    {"scope": "ip", "limit": 0, "window": 60},
    {"scope": "ip", "window": 60},
    "ip",
])
def test_a_malformed_rule_fails_the_system_check(settings, rule):
    settings.LAOJIAN_RATE_LIMITS = {"documents:verify": [rule]}
    assert [error.id for error in ratelimit.check_settings()] == ["laojian.E102"]
