"""Delivery backends: how a notification row leaves the system.

Chosen per channel in settings (``LAOJIAN_SMS_BACKEND``: outbox | http; ``LAOJIAN_EMAIL_BACKEND``:
outbox | smtp). A backend's ``send`` returns normally when the message was handed over, raises
``TransientDeliveryError`` when trying again later may help (timeout, 5xx, connection refused)
and ``PermanentDeliveryError`` when it never will.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection

if TYPE_CHECKING:
    from laojian.notify.models import Notification

logger = logging.getLogger("laojian.notify")


class DeliveryError(Exception):
    """The backend could not hand the message over."""


class TransientDeliveryError(DeliveryError):
    """Worth another attempt later."""


class PermanentDeliveryError(DeliveryError):
    """No point trying again (bad address, refused recipient)."""


class Backend(Protocol):
    name: str

    def send(self, notification: Notification) -> None: ...


def _setting(name: str, default: str) -> str:
    """A settings value, else the environment variable of the same name, else the default."""
    value = getattr(settings, name, None)
    if value is None or value == "":
        value = os.environ.get(name, default)
    return str(value)


class OutboxBackend:
    """Sends nothing: the row is marked sent "to the outbox" and its text is logged at INFO.

    The default, for the demo and for committees without a gateway: one-time codes and notices are
    read in the outbox page (/notify/outbox/) and in the server log. The recipient is masked in the log.
    """

    name = "outbox"

    def send(self, notification: Notification) -> None:
        logger.info(
            "outbox %s #%s to %s [%s]: %s%s",
            notification.channel, notification.pk, notification.masked_recipient, notification.template,
            f"{notification.subject} | " if notification.subject else "", notification.text,
        )


class SmtpEmailBackend:
    """E-mail through Django's mail framework (EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS, ... settings)."""

    name = "smtp"

    def send(self, notification: Notification) -> None:
        message = EmailMessage(
            subject=notification.subject,
            body=notification.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
            connection=get_connection(fail_silently=False),
        )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipient refused: {exc.recipients!r}"[:500]) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}"[:500]) from exc


class HttpSmsBackend:
    """An HTTP SMS gateway: POST JSON ``{"phone", "text", "sign"}`` to ``LAOJIAN_SMS_URL``.

    ``LAOJIAN_SMS_TOKEN`` (optional) goes in ``Authorization: Bearer …``; every request carries
    ``Idempotency-Key: laojian-notification-<id>`` so a gateway that honours it drops a repeat
    (delivery is at least once: a worker that dies after the gateway accepted the message but
    before the row was marked sent tries again). Any non-2xx answer, a timeout or a refused
    connection is a transient failure.
    """

    name = "http"

    def __init__(self) -> None:
        self.url = _setting("LAOJIAN_SMS_URL", "")
        if not self.url.startswith(("http://", "https://")):
            raise ImproperlyConfigured("LAOJIAN_SMS_BACKEND=http needs LAOJIAN_SMS_URL (http:// or https://)")
        self.token = _setting("LAOJIAN_SMS_TOKEN", "")
        self.sign = _setting("LAOJIAN_SMS_SIGN", "劳动能力鉴定委员会")
        self.timeout = float(_setting("LAOJIAN_SMS_TIMEOUT", "10"))

    def send(self, notification: Notification) -> None:
        body = json.dumps(
            {"phone": notification.recipient, "text": notification.text, "sign": self.sign}, ensure_ascii=False
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"laojian-notification-{notification.pk}",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (scheme checked)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise TransientDeliveryError(f"SMS gateway answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientDeliveryError(f"SMS gateway unreachable: {exc}"[:500]) from exc
        if not 200 <= status < 300:
            raise TransientDeliveryError(f"SMS gateway answered HTTP {status}")


SMS_BACKENDS: dict[str, type] = {"outbox": OutboxBackend, "http": HttpSmsBackend}
EMAIL_BACKENDS: dict[str, type] = {"outbox": OutboxBackend, "smtp": SmtpEmailBackend}


def backend_for(channel: str) -> Backend:
    """The configured backend for ``channel`` ("sms" or "email")."""
    if channel == "sms":
        choice, table, setting = _setting("LAOJIAN_SMS_BACKEND", "outbox"), SMS_BACKENDS, "LAOJIAN_SMS_BACKEND"
    else:
        choice, table, setting = _setting("LAOJIAN_EMAIL_BACKEND", "outbox"), EMAIL_BACKENDS, "LAOJIAN_EMAIL_BACKEND"
    try:
        return table[choice]()
    except KeyError:
        raise ImproperlyConfigured(f"{setting} must be one of {', '.join(table)}, not {choice!r}") from None


def check_settings(app_configs=None, **kwargs) -> list:
    """System check: the backend names are known and the HTTP gateway has a URL."""
    from django.core import checks

    errors = []
    sms, email = _setting("LAOJIAN_SMS_BACKEND", "outbox"), _setting("LAOJIAN_EMAIL_BACKEND", "outbox")
    if sms not in SMS_BACKENDS:
        errors.append(checks.Error(f"LAOJIAN_SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}, not {sms!r}",
                                   id="notify.E001"))
    elif sms == "http" and not _setting("LAOJIAN_SMS_URL", "").startswith(("http://", "https://")):
        errors.append(checks.Error("LAOJIAN_SMS_BACKEND=http needs LAOJIAN_SMS_URL (http:// or https://)",
                                   id="notify.E002"))
    if email not in EMAIL_BACKENDS:
        errors.append(checks.Error(
            f"LAOJIAN_EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}, not {email!r}", id="notify.E003"
        ))
    return errors
