"""The notification outbox: every SMS and e-mail the system sends is one row.

A row is written in the same transaction as the event that causes it (``services.send``); a
background task delivers it after the commit (``services.deliver``). The row is the record of
what was sent, to whom, when, and how often it was tried.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.core.models import Committee
from laojian.core.validators import mask_phone


def mask_email(address: str) -> str:
    """z***@example.com: the first character of the local part and the domain are kept."""
    local, at, domain = address.partition("@")
    if not at:
        return mask_phone(address)
    return f"{local[:1]}***@{domain}"


class Notification(models.Model):
    """One SMS or e-mail: recipient, rendered text, and its delivery state."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("e-mail")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # SET_NULL: the notification stays on record (its text names the case number) if a draft is discarded.
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="notifications",
    )
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    template = models.CharField(_("template"), max_length=60)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=5)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    backend = models.CharField(_("sent through"), max_length=20, blank=True)
    key = models.CharField(_("idempotency key"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            # The same event queued twice makes one row per channel (REL-30).
            models.UniqueConstraint(fields=["key", "channel"], name="notification_key_channel_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx"),
            models.Index(fields=["created_at"], name="notification_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.masked_recipient} ({self.status})"

    @property
    def masked_recipient(self) -> str:
        if self.channel == self.Channel.EMAIL:
            return mask_email(self.recipient)
        return mask_phone(self.recipient)
