"""Documents the committee issues (notices, decisions, the conclusion letter), their editable
templates, and the log of reprints.

A document is rendered once, signed, stored with its SHA-256 and never changed; a reprint is a new
rendering marked as a copy, logged, never stored in its place.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.cases.models import MaterialsStorage
from laojian.core.models import Committee, TimeStampedModel


class Kind(models.TextChoices):
    ACCEPTANCE = "acceptance_notice", _("acceptance notice")
    CORRECTION = "correction_notice", _("correction notice")
    REJECTION = "rejection_decision", _("rejection decision")
    APPRAISAL = "appraisal_notice", _("appraisal notice")
    CONCLUSION = "conclusion_letter", _("conclusion letter")
    PERIOD = "period_confirmation", _("period confirmation")
    TERMINATION = "termination_notice", _("termination notice")
    DELIVERY_RECEIPT = "delivery_receipt", _("delivery receipt")
    DRAW_RECORD = "draw_record", _("draw record")
    MINUTES = "discussion_minutes", _("discussion minutes")
    CROSSCHECK = "crosscheck_letter", _("cross-check letter")


class Template(TimeStampedModel):
    """One version of a document's wording. Saving a change adds a version; documents keep the
    version they were rendered from. A committee's own versions win over the shipped default
    (``committee`` empty)."""

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="document_templates")
    kind = models.CharField(_("document"), max_length=30, choices=Kind.choices)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    title = models.CharField(_("document title"), max_length=60)
    number_format = models.CharField(
        _("number format"), max_length=60,
        help_text=_("Placeholders: {prefix} (the committee's case number prefix), {year}, {seq}."))
    recipient = models.CharField(_("addressed to"), max_length=200, blank=True,
                                 help_text=_("e.g. {{ worker.name }}："))
    body = models.TextField(_("text"), help_text=_("Paragraphs separated by an empty line; fields as {{ worker.name }}."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("saved by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "kind", "version"], name="template_version_unique"),
            models.UniqueConstraint(fields=["kind", "version"], condition=models.Q(committee__isnull=True),
                                    name="default_template_version_unique"),
        ]
        permissions = [("manage_templates", "Can edit document templates")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


def document_upload_to(instance: Document, filename: str) -> str:
    return f"documents/{instance.committee_id}/{instance.issued_on:%Y/%m}/{filename}"


class Document(TimeStampedModel):
    """A document as issued: number, the template version and the values it was rendered with,
    the signed PDF and its SHA-256, and the short code that verifies it."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="documents")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("document"), max_length=30, choices=Kind.choices)
    number = models.CharField(_("document number"), max_length=60)
    title = models.CharField(_("document title"), max_length=60)
    template = models.ForeignKey(Template, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+")
    values = models.JSONField(_("values printed"), default=dict)
    file = models.FileField(_("file"), storage=MaterialsStorage(), upload_to=document_upload_to, max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    signer = models.CharField(_("signed with"), max_length=20)
    verify_code = models.CharField(_("verification code"), max_length=16, unique=True)
    issued_on = models.DateField(_("issued on"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"), on_delete=models.PROTECT,
                                  related_name="+")

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["case", "created_at"]
        constraints = [models.UniqueConstraint(fields=["committee", "number"], name="document_number_unique")]
        permissions = [("issue_document", "Can issue documents"), ("reprint_document", "Can reprint documents")]

    def __str__(self) -> str:
        return f"{self.title} {self.number}"


class Reprint(models.Model):
    """Each reprint of a document: who, when, why. The reprint itself is marked as a copy."""

    document = models.ForeignKey(Document, verbose_name=_("document"), on_delete=models.PROTECT,
                                 related_name="reprints")
    printed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("printed by"), on_delete=models.PROTECT,
                                   related_name="+")
    printed_at = models.DateTimeField(_("printed at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("reprint")
        verbose_name_plural = _("reprints")
        ordering = ["-printed_at"]

    def __str__(self) -> str:
        return f"{self.document} ({self.printed_at:%Y-%m-%d})"
