"""The outbox services: templates, idempotent send, enqueue on commit, delivery, retries, sweep."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from laojian.notify import services
from laojian.notify.backends import PermanentDeliveryError, TransientDeliveryError
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db

S = Notification.Status

services.register_template(
    "test.hello",
    "{{ name }}您好，案件{{ number }}已受理。",
    email_subject="案件 {{ number }}",
    email_body="{{ name }}您好：\n案件{{ number }}已受理。",
)


class FlakyBackend:
    """Fails ``failures`` times with a transient error, then succeeds."""

    name = "flaky"

    def __init__(self, failures: int, error: Exception | None = None):
        self.failures = failures
        self.error = error or TransientDeliveryError("gateway answered HTTP 503")
        self.sent: list[int] = []

    def send(self, notification):
        if self.failures:
            self.failures -= 1
            raise self.error
        self.sent.append(notification.pk)


@pytest.fixture
def flaky(monkeypatch):
    def install(failures: int, error: Exception | None = None) -> FlakyBackend:
        backend = FlakyBackend(failures, error)
        monkeypatch.setattr(services, "backend_for", lambda channel: backend)
        return backend

    return install


# TEMPLATES ---------------------------------------------------------------------------------------

def test_render_fills_the_sms_and_email_in_chinese():
    sms, subject, body = services.render("test.hello", {"name": "张三", "number": "聊劳鉴〔2026〕0001号"})
    assert sms == "张三您好，案件聊劳鉴〔2026〕0001号已受理。"
    assert subject == "案件 聊劳鉴〔2026〕0001号"
    assert body.startswith("张三您好：\n")


def test_render_does_not_html_escape_plain_text():
    sms, _subject, _body = services.render("test.hello", {"name": "<张&三>", "number": "1"})
    assert sms.startswith("<张&三>您好")


def test_registering_the_same_code_twice_is_fine_but_other_text_is_refused():
    services.register_template("test.hello", "{{ name }}您好，案件{{ number }}已受理。", email_subject="案件 {{ number }}",
                               email_body="{{ name }}您好：\n案件{{ number }}已受理。")
    with pytest.raises(ImproperlyConfigured):
        services.register_template("test.hello", "别的内容")
    with pytest.raises(ImproperlyConfigured):
        services.send("test.unknown", phone="13800000000", context={})


# SEND --------------------------------------------------------------------------------------------

def test_send_writes_one_row_per_channel(committee):
    rows = services.send("test.hello", phone="13812345678", email="a@example.com",
                         context={"name": "张三", "number": "X1"}, committee_id=committee.pk, key="k1")
    assert [r.channel for r in rows] == ["sms", "email"]
    sms, email = rows
    assert (sms.recipient, sms.status, sms.attempts, sms.max_attempts) == ("13812345678", S.QUEUED, 0, 5)
    assert sms.text == "张三您好，案件X1已受理。" and sms.subject == ""
    assert email.subject == "案件 X1" and "案件X1已受理" in email.text
    assert sms.masked_recipient == "138****5678"
    assert email.masked_recipient == "a***@example.com"


def test_the_same_key_twice_makes_one_row():
    first = services.send("test.hello", phone="13812345678", context={"name": "张三", "number": "X1"}, key="same")
    second = services.send("test.hello", phone="13812345678", context={"name": "李四", "number": "X2"}, key="same")
    assert [r.pk for r in second] == [r.pk for r in first]
    assert Notification.objects.count() == 1
    assert Notification.objects.get().text == "张三您好，案件X1已受理。"


def test_no_recipient_writes_nothing():
    assert services.send("test.hello", context={"name": "", "number": ""}) == []
    assert not Notification.objects.exists()


def test_delivery_is_enqueued_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.send("test.hello", phone="13812345678", context={"name": "张", "number": "1"}, key="commits")
    assert len(callbacks) == 1
    assert DBTaskResult.objects.filter(task_path="laojian.notify.tasks.deliver_notification").count() == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                services.send("test.hello", phone="13812345678", context={"name": "张", "number": "2"},
                              key="rolls-back")
                raise RuntimeError("the surrounding change fails")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not Notification.objects.filter(key="rolls-back").exists()
    assert DBTaskResult.objects.count() == 1


def test_with_the_immediate_backend_a_send_is_delivered_after_commit(
    immediate_tasks, outbox_backends, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level("INFO", logger="laojian.notify")
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = services.send("test.hello", phone="13812345678", context={"name": "张三", "number": "0427"})
    row.refresh_from_db()
    assert (row.status, row.attempts, row.backend) == (S.SENT, 1, "outbox")
    # The demo's one-time codes are read in the server log: the text is there, the phone masked.
    assert "张三您好，案件0427已受理。" in caplog.text
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text


# DELIVER -----------------------------------------------------------------------------------------

def _queued(**kwargs) -> Notification:
    (row,) = services.send("test.hello", phone="13812345678", context={"name": "张", "number": "1"}, **kwargs)
    return row


def test_deliver_marks_sent_and_a_second_run_does_nothing(flaky):
    backend = flaky(0)
    row = _queued()
    services.deliver(row.pk)
    services.deliver(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.backend, row.last_error) == (S.SENT, 1, "flaky", "")
    assert row.sent_at is not None and row.next_attempt_at is None
    assert backend.sent == [row.pk]


@pytest.mark.parametrize("status", [S.SENDING, S.FAILED, S.CANCELLED])
def test_deliver_leaves_rows_it_does_not_own_alone(flaky, status):
    backend = flaky(0)
    row = _queued()
    Notification.objects.filter(pk=row.pk).update(status=status)
    services.deliver(row.pk)
    assert backend.sent == []
    row.refresh_from_db()
    assert row.status == status and row.attempts == 0


def test_transient_failures_back_off_then_give_up(flaky, django_capture_on_commit_callbacks):
    flaky(99)
    row = _queued()
    now = timezone.now()
    waits = []
    for attempt in range(1, 6):
        with django_capture_on_commit_callbacks(execute=True):
            services.deliver(row.pk, now=now)
        row.refresh_from_db()
        assert row.attempts == attempt
        assert row.last_error == "TransientDeliveryError: gateway answered HTTP 503"
        if attempt < 5:
            assert row.status == S.QUEUED
            waits.append(row.next_attempt_at - now)
            # Not due yet: a task that runs early does nothing.
            services.deliver(row.pk, now=now + waits[-1] - dt.timedelta(seconds=1))
            row.refresh_from_db()
            assert row.attempts == attempt
            now = row.next_attempt_at
    assert waits == [dt.timedelta(seconds=s) for s in (60, 120, 240, 480)]
    assert (row.status, row.next_attempt_at) == (S.FAILED, None)
    # Each retry went to the database queue as a deferred task.
    deferred = DBTaskResult.objects.filter(run_after__isnull=False)
    assert deferred.count() == 4


def test_a_transient_failure_then_success(flaky):
    flaky(1)
    row = _queued()
    services.deliver(row.pk)
    row.refresh_from_db()
    services.deliver(row.pk, now=row.next_attempt_at)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (S.SENT, 2, "")


def test_a_permanent_failure_is_not_retried(flaky):
    flaky(1, PermanentDeliveryError("recipient refused"))
    row = _queued()
    services.deliver(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (S.FAILED, 1)
    assert "recipient refused" in row.last_error


def test_smtp_backend_sends_through_django_mail(settings):
    settings.LAOJIAN_EMAIL_BACKEND = "smtp"  # Django's test runner swaps SMTP for the in-memory backend
    (row,) = services.send("test.hello", email="zhang@example.com", context={"name": "张三", "number": "X9"})
    services.deliver(row.pk)
    row.refresh_from_db()
    assert (row.status, row.backend) == (S.SENT, "smtp")
    (message,) = mail.outbox
    assert message.to == ["zhang@example.com"] and message.subject == "案件 X9"
    assert "案件X9已受理" in message.body


# SWEEP -------------------------------------------------------------------------------------------

def test_sweep_delivers_overdue_rows_and_requeues_interrupted_sends(flaky):
    backend = flaky(0)
    now = timezone.now()
    overdue, fresh, stuck, stuck_last = _queued(), _queued(), _queued(), _queued()
    Notification.objects.filter(pk=overdue.pk).update(next_attempt_at=now - dt.timedelta(minutes=10))
    Notification.objects.filter(pk=stuck.pk).update(status=S.SENDING, attempts=1,
                                                    last_attempt_at=now - dt.timedelta(hours=1))
    Notification.objects.filter(pk=stuck_last.pk).update(status=S.SENDING, attempts=5,
                                                         last_attempt_at=now - dt.timedelta(hours=1))
    report = services.sweep(now=now)
    assert report.requeued_stale == 1
    assert backend.sent == [overdue.pk]  # the fresh row's own task will deliver it
    states = dict(Notification.objects.values_list("pk", "status"))
    assert states == {overdue.pk: S.SENT, fresh.pk: S.QUEUED, stuck.pk: S.QUEUED, stuck_last.pk: S.FAILED}
    later = services.sweep(now=now + dt.timedelta(minutes=5))
    assert later.attempted == 2
    assert set(backend.sent) == {overdue.pk, fresh.pk, stuck.pk}


def test_sweep_command_runs_once(flaky, capsys):
    from django.core.management import call_command

    flaky(0)
    row = _queued()
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))
    call_command("notify", "sweep")
    row.refresh_from_db()
    assert row.status == S.SENT
    assert "1" in capsys.readouterr().out
