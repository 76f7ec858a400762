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
from laojian.core.fields import EncryptedJSONField
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
    values = EncryptedJSONField(_("values printed"), default=dict)  # names, ID number, diagnosis
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


class Delivery(TimeStampedModel):
    """The delivery (送达) of a document to one recipient: how and when it was sent, and the proof
    it arrived (the signed receipt's scan, or the e-delivery confirmation). The delivery of the
    conclusion letter to the applicant is what starts the re-appraisal window."""

    class Method(models.TextChoices):
        IN_PERSON = "in_person", _("in person")
        POST = "post", _("registered post")
        ELECTRONIC = "electronic", _("electronic delivery")

    document = models.ForeignKey(Document, verbose_name=_("document"), on_delete=models.PROTECT,
                                 related_name="deliveries")
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="deliveries")
    recipient = models.CharField(_("recipient"), max_length=100)
    to_agency = models.BooleanField(_("copy to the social-insurance agency"), default=False)
    method = models.CharField(_("method"), max_length=12, choices=Method.choices)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    sent_on = models.DateField(_("sent on"))
    received_on = models.DateField(_("received on"), null=True, blank=True)
    receipt = models.FileField(_("signed receipt"), storage=MaterialsStorage(), upload_to="deliveries/%Y/%m/",
                               max_length=200, blank=True)
    receipt_sha256 = models.CharField(_("SHA-256 of the receipt"), max_length=64, blank=True)
    confirmation = models.CharField(_("e-delivery confirmation"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["case", "sent_on", "id"]
        permissions = [("record_delivery", "Can record deliveries")]

    def __str__(self) -> str:
        return f"{self.document} → {self.recipient}"


class ArchivePackage(models.Model):
    """A closed case's file, frozen (归档): every document, material and receipt with the case's
    record, in one ZIP whose manifest lists each file's SHA-256. Kept until ``retain_until``
    (50 years); nothing deletes it before then."""

    case = models.OneToOneField("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                                related_name="archive_package")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="+")
    archived_on = models.DateField(_("archived on"))
    retain_until = models.DateField(_("keep until"))
    file = models.FileField(_("package"), storage=MaterialsStorage(), upload_to="archive/%Y/", max_length=200)
    sha256 = models.CharField(_("SHA-256 of the package"), max_length=64)
    manifest = models.JSONField(_("manifest"), default=list)
    search_text = models.TextField(_("searchable text"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("archived by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("archive package")
        verbose_name_plural = _("archive packages")
        ordering = ["-archived_on", "-id"]
        permissions = [("view_archive", "Can search the archive and open packages")]

    def __str__(self) -> str:
        return f"{self.case} ({self.archived_on})"

    def delete(self, *args, **kwargs):
        from laojian.core.errors import ApplicationError

        raise ApplicationError(_("An archived file is kept until %(date)s and cannot be deleted.")
                               % {"date": self.retain_until}, code="retention")


class ArchiveAccess(models.Model):
    """The lending log: who opened which archived file, when, and why."""

    package = models.ForeignKey(ArchivePackage, verbose_name=_("archive package"), on_delete=models.PROTECT,
                                related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT,
                             related_name="+")
    at = models.DateTimeField(_("opened at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("archive access")
        verbose_name_plural = _("archive accesses")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.package} — {self.user} ({self.at:%Y-%m-%d})"
