"""The outbox page and its retry button."""

from __future__ import annotations

import pytest
from django.urls import reverse

from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.notify import services
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db

services.register_template("test.page", "您的验证码是{{ code }}。")
URL = reverse("notify:outbox")


@pytest.fixture
def admin_user(committee):
    return UserFactory(roles=["admin"], committee=committee)


def queue(code: str, committee=None, phone="13812345678") -> Notification:
    (row,) = services.send("test.page", phone=phone, context={"code": code},
                           committee_id=committee.pk if committee else None)
    return row


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_clerk_without_the_permission_is_refused(client, committee):
    client.force_login(UserFactory(roles=["clerk"], committee=committee))
    assert client.get(URL).status_code == 403
    row = queue("1")
    assert client.post(reverse("notify:retry", args=[row.pk])).status_code == 403


def test_the_admin_sees_newest_first_masked_with_full_text(client, committee, admin_user):
    queue("111111", committee)
    queue("222222")  # no committee: a sign-in code
    queue("333333", CommitteeFactory())  # another committee's
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "138****5678" in html and "13812345678" not in html
    assert "您的验证码是111111。" in html and "您的验证码是222222。" in html
    assert "333333" not in html
    assert html.index("222222") < html.index("111111")


def test_filter_by_status_and_paginate(client, committee, admin_user):
    rows = [queue(str(n), committee) for n in range(55)]
    Notification.objects.filter(pk=rows[0].pk).update(status=Notification.Status.FAILED, last_error="HTTP 500")
    client.force_login(admin_user)
    failed = client.get(URL, {"status": "failed"})
    assert failed.context["page"].paginator.count == 1
    assert "HTTP 500" in failed.content.decode()
    first = client.get(URL)
    assert first.context["page"].paginator.num_pages == 2
    assert len(first.context["rows"]) == 50


def test_retry_requeues_a_failed_row_and_is_audited(client, committee, admin_user,
                                                    django_capture_on_commit_callbacks):
    row = queue("9", committee)
    Notification.objects.filter(pk=row.pk).update(status=Notification.Status.FAILED, attempts=5,
                                                  last_error="HTTP 500")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("notify:retry", args=[row.pk]), {"next": URL + "?status=failed"})
    assert response.status_code == 303 and response["Location"] == URL + "?status=failed"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.max_attempts) == (Notification.Status.QUEUED, 5, 10)
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="notify.retry", object_id=str(row.pk)).exists()
    # A second click finds nothing to retry.
    client.post(reverse("notify:retry", args=[row.pk]))
    row.refresh_from_db()
    assert row.max_attempts == 10


def test_retry_of_another_committees_row_is_404(client, admin_user):
    row = queue("9", CommitteeFactory())
    Notification.objects.filter(pk=row.pk).update(status=Notification.Status.FAILED)
    client.force_login(admin_user)
    assert client.post(reverse("notify:retry", args=[row.pk])).status_code == 404


def test_retry_redirect_stays_on_this_site(client, committee, admin_user):
    row = queue("9", committee)
    client.force_login(admin_user)
    response = client.post(reverse("notify:retry", args=[row.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == URL
