"""Background tasks of the outbox. A task takes an id, loads the row and calls the service."""

from __future__ import annotations

from django_tasks import task

from laojian.notify import services


@task()
def deliver_notification(notification_id: int) -> None:
    """Deliver one notification; safe to run twice (the second run finds it sent and returns)."""
    services.deliver(notification_id)
