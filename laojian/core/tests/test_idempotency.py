"""Idempotency keys (REL-20): a POST sent again with its key does the work once and gets the first
response back; the same key with other content, or while the first is still running, is refused."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from laojian.core import idempotency
from laojian.core.models import AuditEvent, IdempotencyKey
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.sittings.models import Venue
from laojian.sittings.tests.factories import clerk_of

pytestmark = pytest.mark.django_db
KEY = "k" * 24
URLS = "laojian.core.tests.idempotency_urls"


def done(action: str = "test.create") -> int:
    return AuditEvent.objects.filter(action=action).count()


@pytest.fixture
def user(client):
    user = UserFactory(committee=CommitteeFactory())
    client.force_login(user)
    return user


@pytest.mark.urls(URLS)
def test_the_same_key_twice_does_the_work_once_and_replays_the_first_response(client, user):
    first = client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    again = client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    assert done() == 1
    assert (again.status_code, again["Location"]) == (first.status_code, first["Location"])
    assert again["Idempotent-Replay"] == "true"


@pytest.mark.urls(URLS)
def test_two_keys_are_two_requests(client, user):
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    client.post("/create/", {"name": "a", idempotency.FIELD: "m" * 24})
    assert done() == 2


@pytest.mark.urls(URLS)
def test_the_same_key_with_other_content_is_refused_with_422(client, user):
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    response = client.post("/create/", {"name": "b", idempotency.FIELD: KEY})
    assert response.status_code == 422
    assert done() == 1


@pytest.mark.urls(URLS)
def test_a_key_still_being_processed_is_refused_with_409_after_waiting(client, user, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    IdempotencyKey.objects.update(state=IdempotencyKey.State.PENDING)
    response = client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    assert response.status_code == 409
    assert done() == 1


@pytest.mark.urls(URLS)
def test_a_key_left_pending_by_a_stopped_server_is_let_go(client, user):
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    IdempotencyKey.objects.update(state=IdempotencyKey.State.PENDING, created_at=timezone.now() - dt.timedelta(hours=1))
    assert client.post("/create/", {"name": "a", idempotency.FIELD: KEY}).status_code == 409
    assert not IdempotencyKey.objects.exists()
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    assert done() == 2


@pytest.mark.urls(URLS)
def test_a_failed_request_is_not_kept_and_may_be_sent_again(client, user):
    assert client.post("/refuse/", {idempotency.FIELD: KEY}).status_code == 400
    assert client.post("/refuse/", {idempotency.FIELD: KEY}).status_code == 400
    assert done("test.refuse") == 2
    assert not IdempotencyKey.objects.exists()


@pytest.mark.urls(URLS)
def test_a_response_that_sets_cookies_is_never_replayed(client, user):
    client.post("/cookie/", {idempotency.FIELD: KEY})
    client.post("/cookie/", {idempotency.FIELD: KEY})
    assert done("test.cookie") == 2


@pytest.mark.urls(URLS)
def test_another_users_key_is_their_own(client, user):
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    client.force_login(UserFactory(committee=user.committee))
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    assert done() == 2


@pytest.mark.urls(URLS)
def test_an_api_client_sends_the_key_as_a_header(client, user):
    for _ in range(2):
        client.post("/create/", {"name": "a"}, headers={"Idempotency-Key": KEY})
    assert done() == 1


@pytest.mark.urls(URLS)
def test_a_malformed_key_is_refused_with_400(client, user):
    response = client.post("/create/", {"name": "a", idempotency.FIELD: "short"})
    assert response.status_code == 400
    assert done() == 0


@pytest.mark.urls(URLS)
def test_a_post_without_a_key_works_as_before(client, user):
    client.post("/create/", {"name": "a"})
    client.post("/create/", {"name": "a"})
    assert done() == 2


@pytest.mark.urls(URLS)
def test_every_plain_post_form_of_a_page_gets_its_own_key_and_htmx_and_get_forms_none(client, user):
    html = client.get("/page/").content.decode()
    keys = re.findall(rf'name="{idempotency.FIELD}" value="([^"]+)"', html)
    assert len(keys) == 2 and keys[0] != keys[1]
    assert all(idempotency.KEY_RE.match(k) for k in keys)
    assert html.count(idempotency.FIELD) == 2


@pytest.mark.urls(URLS)
def test_pages_for_anonymous_visitors_get_no_keys(client):
    client.logout()
    assert idempotency.FIELD.encode() not in client.get("/page/").content


def test_expired_keys_are_removed_and_recent_ones_kept():
    old = IdempotencyKey.objects.create(scope="user:1", key="a" * 20, path="/", body_sha256="0" * 64,
                                        created_at=timezone.now() - dt.timedelta(hours=idempotency.hours() + 1))
    recent = IdempotencyKey.objects.create(scope="user:1", key="b" * 20, path="/", body_sha256="0" * 64)
    assert idempotency.expired() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk


@given(st.text(max_size=200))
def test_adding_keys_never_changes_anything_but_post_forms(text):
    html = text.encode()
    if b"<form" not in html.lower():
        assert idempotency.add_keys_to_forms(html) == html


def test_a_real_page_double_submitted_makes_one_venue(client):
    committee = CommitteeFactory()
    client.force_login(clerk_of(committee))
    page = client.get(reverse("sittings:sittings")).content.decode()
    form = page[page.index('action="/sittings/venues/"') - 200:]
    key = re.search(rf'name="{idempotency.FIELD}" value="([^"]+)"', form).group(1)
    data = {"venue-name": "市鉴定中心", "venue-address": "柳园路1号", "venue-rooms": "一号室", idempotency.FIELD: key}
    first = client.post(reverse("sittings:venue_create"), data)
    again = client.post(reverse("sittings:venue_create"), data)
    assert first.status_code == again.status_code == 303
    assert Venue.objects.filter(committee=committee).count() == 1


@pytest.mark.urls(URLS)
def test_an_htmx_request_carrying_the_forms_key_does_not_use_it_up(client, user):
    client.post("/create/", {"name": "preview", idempotency.FIELD: KEY}, HTTP_HX_REQUEST="true")
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    client.post("/create/", {"name": "a", idempotency.FIELD: KEY})
    assert done() == 2  # the preview, and the form once
