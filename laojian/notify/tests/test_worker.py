"""The production path: the database task queue and `laojian db_worker`."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from laojian.notify import services
from laojian.notify.models import Notification

# The worker closes and reopens database connections, as in production: a transactional test.
pytestmark = pytest.mark.django_db(transaction=True)

services.register_template("test.worker", "您的验证码是{{ code }}。")


def test_enqueue_then_one_worker_run_sends(database_tasks, outbox_backends):
    with transaction.atomic():
        (row,) = services.send("test.worker", phone="13812345678", context={"code": "5"})
        assert not DBTaskResult.objects.exists()  # enqueued only when the transaction commits
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    row.refresh_from_db()
    assert row.status == Notification.Status.QUEUED

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)

    row.refresh_from_db()
    assert (row.status, row.attempts, row.backend) == (Notification.Status.SENT, 1, "outbox")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"

    # The same task delivered again (at-least-once queue): nothing more happens.
    DBTaskResult.objects.update(status="READY", finished_at=None)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
    row.refresh_from_db()
    assert row.attempts == 1
