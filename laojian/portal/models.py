"""The portal's own records: one-time sign-in codes, application drafts, submissions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OneTimeCode(models.Model):
    """A sign-in code sent by SMS. Only its keyed hash is stored; it is deleted once used (SEC-57)."""

    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    ip_address = models.CharField(_("IP address"), max_length=45, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["ip_address", "created_at"], name="otp_ip_idx")]

    def __str__(self) -> str:
        return f"{self.phone[:3]}…{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"


class ApplicationDraft(models.Model):
    """What an applicant has typed so far, saved as they go so a closed browser loses nothing."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="application_draft")
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("application draft")
        verbose_name_plural = _("application drafts")

    def __str__(self) -> str:
        return f"draft of {self.user_id}"


class Submission(models.Model):
    """One submitted application form: its one-time token makes a double submit create one case."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")

    def __str__(self) -> str:
        return self.token
