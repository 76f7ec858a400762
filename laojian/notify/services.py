"""Writes of the notification outbox: templates, ``send`` (queue), ``deliver`` (the task's work),
``retry`` (a person asks for another try) and ``sweep`` (the safety net for lost or due work).

Delivery is at least once and idempotent (REL-30): a row is claimed with a conditional UPDATE
(queued → sending), so two workers, a worker and the sweep, or a task delivered twice send it
once. A transient failure puts the row back to ``queued`` with ``next_attempt_at`` moved by an
exponential backoff and enqueues a deferred task (on the database queue); after ``max_attempts``
the row is ``failed`` with its last error kept. ``sweep`` delivers rows whose time has come but
whose task went missing, and puts back rows stuck in ``sending`` by a worker that died.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template import Context, Engine
from django.utils import timezone, translation

from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from laojian.notify.backends import PermanentDeliveryError, backend_for
from laojian.notify.models import Notification

if TYPE_CHECKING:
    from laojian.core.models import User

logger = logging.getLogger("laojian.notify")

S = Notification.Status


def _int_setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name, default)
    return int(value)


def max_attempts() -> int:
    return _int_setting("LAOJIAN_NOTIFY_MAX_ATTEMPTS", 5)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: base, 2×base, 4×base … capped at one hour."""
    base = _int_setting("LAOJIAN_NOTIFY_RETRY_SECONDS", 60)
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


# TEMPLATES ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MessageTemplate:
    code: str
    sms: str
    email_subject: str = ""
    email_body: str = ""


_TEMPLATES: dict[str, MessageTemplate] = {}
# Plain text, not HTML: no autoescaping, and only the built-in tags and filters.
_ENGINE = Engine(autoescape=False)


def register_template(code: str, sms: str, email_subject: str = "", email_body: str = "") -> None:
    """Declare a message (Django template syntax, Chinese text). Call from ``AppConfig.ready``.

    Registering the same code again with the same texts is harmless; with different texts it is a
    programming error (two apps fighting over one code).
    """
    new = MessageTemplate(code=code, sms=sms, email_subject=email_subject, email_body=email_body)
    _ENGINE.from_string(sms)  # a syntax error surfaces at start-up, not at the first send
    old = _TEMPLATES.get(code)
    if old is not None and old != new:
        raise ImproperlyConfigured(f"notification template {code!r} is already registered with other texts")
    _TEMPLATES[code] = new


def get_template(code: str) -> MessageTemplate:
    try:
        return _TEMPLATES[code]
    except KeyError:
        raise ImproperlyConfigured(f"no notification template {code!r} is registered") from None


def render(code: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """The SMS text, the e-mail subject and the e-mail body, rendered in Simplified Chinese."""
    tpl = get_template(code)
    with translation.override("zh-hans"):
        def _render(source: str) -> str:
            return _ENGINE.from_string(source).render(Context(context, autoescape=False)).strip() if source else ""

        sms = _render(tpl.sms)
        subject = " ".join(_render(tpl.email_subject).split()) or sms[:60]
        body = _render(tpl.email_body) or sms
    return sms, subject[:200], body


# SEND --------------------------------------------------------------------------------------------

def _enqueue(notification_id: int, *, run_after: dt.datetime | None = None) -> None:
    """Hand a row to the task queue. A failure here loses nothing: the row stays queued for the sweep."""
    from laojian.notify.tasks import deliver_notification

    task = deliver_notification
    try:
        if run_after is not None:
            if not task.get_backend().supports_defer:
                return  # e.g. the immediate backend: the sweep will deliver it when it is due
            task = task.using(run_after=run_after)
        task.enqueue(notification_id)
    except Exception:
        logger.exception("could not enqueue notification #%s; the sweep will deliver it", notification_id)


def send(
    template: str,
    *,
    phone: str = "",
    email: str = "",
    context: dict,
    case_id: int | None = None,
    committee_id: int | None = None,
    key: str | None = None,
) -> list[Notification]:
    """Queue ``template`` to the phone and/or e-mail given: one row per channel.

    Rendered now (zh-hans), delivered by a task enqueued when the surrounding transaction commits
    (nothing is sent for a change that rolls back). The same ``key`` twice returns the rows of the
    first call and writes nothing.
    """
    sms, subject, body = render(template, context)
    key = key or f"{template}:{uuid.uuid4().hex}"
    rows: list[tuple[str, str, str, str]] = []
    if phone.strip():
        rows.append((Notification.Channel.SMS, phone.strip(), "", sms))
    if email.strip():
        rows.append((Notification.Channel.EMAIL, email.strip(), subject, body))
    if not rows:
        return []
    existing = list(Notification.objects.filter(key=key).order_by("id"))
    if existing:
        return existing
    created: list[Notification] = []
    try:
        with transaction.atomic():
            for channel, recipient, subj, text in rows:
                created.append(Notification.objects.create(
                    committee_id=committee_id, case_id=case_id, channel=channel, recipient=recipient,
                    template=template, subject=subj, text=text, key=key, max_attempts=max_attempts(),
                    next_attempt_at=timezone.now(),
                ))
    except IntegrityError:
        # Someone queued the same key at the same moment: theirs stands.
        return list(Notification.objects.filter(key=key).order_by("id"))
    for row in created:
        transaction.on_commit(partial(_enqueue, row.pk), robust=True)
    return created


# DELIVER -----------------------------------------------------------------------------------------

def _claim(notification_id: int, now: dt.datetime) -> bool:
    """queued and due → sending, attempts + 1; false when it is not ours to send."""
    return bool(
        Notification.objects.filter(pk=notification_id, status=S.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=S.SENDING, attempts=F("attempts") + 1, last_attempt_at=now, updated_at=now)
    )


def deliver(notification_id: int, *, now: dt.datetime | None = None) -> None:
    """Send one queued notification through its channel's backend (what the task runs).

    Idempotent: a row that is already sent, failed, cancelled, being sent, or not yet due is left
    alone. Success marks it sent; a failure either schedules the next attempt or, after the last
    one (or a permanent failure), marks it failed with the error kept.
    """
    now = now or timezone.now()
    if not _claim(notification_id, now):
        logger.debug("notification #%s is not due or not queued; nothing to do", notification_id)
        return
    row = Notification.objects.get(pk=notification_id)
    try:
        backend = backend_for(row.channel)
        backend.send(row)
    except Exception as exc:
        _record_failure(row, exc, now)
        return
    Notification.objects.filter(pk=row.pk, status=S.SENDING).update(
        status=S.SENT, sent_at=timezone.now(), backend=backend.name, last_error="", next_attempt_at=None,
        updated_at=timezone.now(),
    )


def _record_failure(row: Notification, exc: Exception, now: dt.datetime) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = isinstance(exc, PermanentDeliveryError | ImproperlyConfigured)
    if permanent or row.attempts >= row.max_attempts:
        logger.warning("notification #%s failed for good after %s attempt(s): %s", row.pk, row.attempts, error)
        Notification.objects.filter(pk=row.pk, status=S.SENDING).update(
            status=S.FAILED, last_error=error, next_attempt_at=None, updated_at=now
        )
        return
    next_at = now + backoff(row.attempts)
    logger.info("notification #%s attempt %s/%s failed (%s); next attempt at %s",
                row.pk, row.attempts, row.max_attempts, error, next_at.isoformat())
    updated = Notification.objects.filter(pk=row.pk, status=S.SENDING).update(
        status=S.QUEUED, last_error=error, next_attempt_at=next_at, updated_at=now
    )
    if updated:
        transaction.on_commit(partial(_enqueue, row.pk, run_after=next_at), robust=True)


# RETRY BY HAND -----------------------------------------------------------------------------------

class NotRetryable(ApplicationError):
    code = "not_retryable"


def retry(notification_id: int, *, actor: User, ip_address: str = "") -> Notification:
    """Give a failed notification another round of attempts (the outbox page's button)."""
    from laojian.notify.selectors import notifications_visible_to

    if not actor.has_perm("notify.change_notification"):
        raise PermissionDeniedError()
    with transaction.atomic():
        row = notifications_visible_to(actor).filter(pk=notification_id).first()
        if row is None:
            raise NotFoundError()
        now = timezone.now()
        updated = Notification.objects.filter(pk=row.pk, status=S.FAILED).update(
            status=S.QUEUED, max_attempts=F("attempts") + max_attempts(), next_attempt_at=now, updated_at=now
        )
        if not updated:
            from django.utils.translation import gettext as _

            raise NotRetryable(_("Only a failed notification can be sent again."))
        row.refresh_from_db()
        audit.record("notify.retry", actor=actor, obj=row, committee=row.committee,
                     before={"status": S.FAILED}, after={"status": row.status, "attempts": row.attempts},
                     ip_address=ip_address)
        transaction.on_commit(partial(_enqueue, row.pk), robust=True)
    return row


# SWEEP -------------------------------------------------------------------------------------------

@dataclass
class SweepReport:
    requeued_stale: int = 0
    attempted: int = 0


def sweep(*, now: dt.datetime | None = None, grace: dt.timedelta | None = None,
          stale_after: dt.timedelta | None = None, limit: int = 500) -> SweepReport:
    """The safety net the worker's queue cannot be: run it every minute or so (``laojian notify sweep``).

    1. Rows left in ``sending`` longer than ``stale_after`` (a worker died mid-send) go back to
       ``queued``, or to ``failed`` when their attempts are used up.
    2. Queued rows due for longer than ``grace`` (their task was lost, the worker was down, or the
       task backend cannot defer a retry) are delivered here and now, at most ``limit`` per run.
    """
    now = now or timezone.now()
    grace = grace if grace is not None else dt.timedelta(seconds=_int_setting("LAOJIAN_NOTIFY_SWEEP_GRACE", 120))
    stale_after = stale_after or dt.timedelta(seconds=_int_setting("LAOJIAN_NOTIFY_SENDING_TIMEOUT", 600))
    report = SweepReport()
    stale = Notification.objects.filter(status=S.SENDING, last_attempt_at__lt=now - stale_after)
    report.requeued_stale += stale.filter(attempts__lt=F("max_attempts")).update(
        status=S.QUEUED, next_attempt_at=now, last_error="interrupted while sending", updated_at=now
    )
    stale.filter(attempts__gte=F("max_attempts")).update(
        status=S.FAILED, last_error="interrupted while sending", next_attempt_at=None, updated_at=now
    )
    due = (
        Notification.objects.filter(status=S.QUEUED, next_attempt_at__lte=now - grace)
        .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )
    for pk in list(due):
        deliver(pk, now=now)
        report.attempted += 1
    return report
