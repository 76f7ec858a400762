"""Cross-checks (协查): what the application claims, what the partners' records say, and the flags.

Partner records themselves (millions of rows a month) are not rows of this database: each import
writes columnar Parquet chunks under ``LAOJIAN_DATA_DIR/crosscheck/`` and the matching engine
(Polars) reads them. The database keeps cases, the claimed care, the sources and their column
mapping, the import log with its checkpoints, the flags and the work done on them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.core.fields import EncryptedCharField, EncryptedJSONField
from laojian.core.models import Committee, TimeStampedModel
from laojian.core.versioning import VersionField


class ClaimedCare(TimeStampedModel):
    """A hospital stay, outpatient visit or examination the application relies on."""

    class Kind(models.TextChoices):
        STAY = "stay", _("hospital stay")
        OUTPATIENT = "outpatient", _("outpatient visit")
        EXAMINATION = "examination", _("examination")

    class EnteredFrom(models.TextChoices):
        CLERK = "clerk", _("the clerk, from the materials")
        APPLICANT = "applicant", _("the applicant's form")

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="claimed_care")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.STAY)
    hospital_name = models.CharField(_("hospital"), max_length=100)
    hospital_code = models.CharField(_("hospital code"), max_length=40, blank=True,
                                     help_text=_("The medical institution code, when the materials show it."))
    started_on = models.DateField(_("admitted on / visit date"))
    ended_on = models.DateField(_("discharged on"), null=True, blank=True)
    diagnosis = EncryptedCharField(_("diagnosis"), max_length=200, blank=True)
    icd10 = models.CharField(_("ICD-10 code"), max_length=10, blank=True)
    record_number = models.CharField(_("record number"), max_length=60, blank=True)
    version = VersionField()  # optimistic lock of the edit form (core.versioning)
    entered_from = models.CharField(_("entered by"), max_length=10, choices=EnteredFrom.choices,
                                    default=EnteredFrom.CLERK)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"),
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("claimed care")
        verbose_name_plural = _("claimed care")
        ordering = ["case", "started_on", "id"]
        permissions = [("enter_claimed_care", "Can enter the care an application claims")]

    def __str__(self) -> str:
        return f"{self.hospital_name} {self.started_on}"


class Source(TimeStampedModel):
    """A partner's data feed and the column mapping saved for it (mapped once, reused)."""

    class Kind(models.TextChoices):
        SETTLEMENT = "settlement", _("medical-insurance settlement records")
        HEALTH_STAY = "health_stay", _("health-department hospital stays")
        LICENSED = "licensed", _("licensed-hospital registry")

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    department = models.CharField(_("department"), max_length=100, blank=True)
    # Our field -> the partner's column header, e.g. {"id_number": "身份证号", "admitted_on": "入院日期"}.
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    # SHA-256 of the push API token (the token itself is shown once); empty: no push API.
    api_token_hash = models.CharField(_("API token (hash)"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner source")
        verbose_name_plural = _("partner sources")
        ordering = ["committee", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["committee", "name"], name="source_name_unique")]
        permissions = [("manage_sources", "Can manage partner sources and import their files")]

    def __str__(self) -> str:
        return self.name


class ImportRun(TimeStampedModel):
    """One file (or one API push) imported from a source: progress, checkpoint and the outcome.

    The same file (same SHA-256) imported twice into a source is refused the second time; rows
    already stored from another file are skipped by their row key. A crashed run resumes from
    ``chunks_done``: each chunk's Parquet file is written atomically before the checkpoint moves.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="runs")
    file_name = models.CharField(_("file name"), max_length=200)
    stored_file = models.CharField(_("stored upload"), max_length=300, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveBigIntegerField(_("rows in the file"), null=True, blank=True)
    rows_done = models.PositiveBigIntegerField(_("rows processed"), default=0)
    rows_added = models.PositiveBigIntegerField(_("rows added"), default=0)
    rows_duplicate = models.PositiveBigIntegerField(_("rows already stored"), default=0)
    rows_rejected = models.PositiveBigIntegerField(_("rows rejected"), default=0)
    rows_flagged = models.PositiveBigIntegerField(_("rows kept with a warning"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done (checkpoint)"), default=0)
    # The first rejected rows with line and reason; the full list is in the reject report file.
    rejects = EncryptedJSONField(_("rejected rows (first ones)"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "file_sha256"], name="import_file_once")]

    def __str__(self) -> str:
        return f"{self.source} {self.file_name}"


class MatchRun(TimeStampedModel):
    """One run of the matching engine (nightly for every open case, or on demand for one)."""

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="+")
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    cases_checked = models.PositiveIntegerField(_("cases checked"), default=0)
    flags_raised = models.PositiveIntegerField(_("flags raised"), default=0)
    # Every finding of the run, new or seen before (flags_raised counts the new ones only).
    flags_found = models.PositiveIntegerField(_("findings"), default=0)
    # Rules not run for want of partner data: {rule: [the kinds of data it needs, none imported]}.
    skipped = models.JSONField(_("rules skipped"), default=dict, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        ordering = ["-started_at", "-id"]


class Flag(TimeStampedModel):
    """A doubt (疑点) the matching engine found, with its evidence, and what was done about it."""

    class Rule(models.TextChoices):
        NO_SETTLEMENT = "no_settlement", _("claimed stay with no settlement record")
        DATES_DISAGREE = "dates_disagree", _("dates disagree")
        OTHER_BODY_SYSTEM = "other_body_system", _("diagnosis of a different body system")
        NOT_LICENSED = "not_licensed", _("hospital not licensed (for that service)")
        PRE_EXISTING = "pre_existing", _("treatment of the same body part before the injury")
        OVERLAPPING_STAYS = "overlapping_stays", _("overlapping stays in different hospitals")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        LETTER_SENT = "letter_sent", _("cross-check letter sent")
        CLEARED = "cleared", _("cleared")
        CONFIRMED = "confirmed", _("confirmed")

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="flags")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="+")
    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices)
    claimed = models.ForeignKey(ClaimedCare, verbose_name=_("claimed care"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="flags")
    # Stable identity of the finding (rule + what it is about), so a re-run updates, never duplicates.
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    weight = models.PositiveSmallIntegerField(_("weight in the risk score"), default=1)
    hospital_name = models.CharField(_("hospital"), max_length=100, blank=True)
    evidence = EncryptedJSONField(_("evidence"), default=dict, blank=True)  # partner rows: diagnoses
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    found_at = models.DateTimeField(_("found at"))
    last_seen_at = models.DateTimeField(_("last seen at"))
    resolution_note = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cross-check flag")
        verbose_name_plural = _("cross-check flags")
        ordering = ["-found_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "fingerprint"], name="flag_unique_finding")]
        indexes = [models.Index(fields=["committee", "state", "found_at"], name="flag_queue_idx")]
        permissions = [("work_flags", "Can resolve flags and send cross-check letters"),
                       ("override_flags", "Can approve a conclusion while flags are open, with a reason")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.rule}"


class Letter(TimeStampedModel):
    """A cross-check letter (协查函) sent to a department about one or more flags, and its reply."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="crosscheck_letters")
    flags = models.ManyToManyField(Flag, verbose_name=_("flags"), related_name="letters")
    department = models.CharField(_("department"), max_length=100)
    document_id = models.PositiveBigIntegerField(_("letter document"), null=True, blank=True)
    sent_on = models.DateField(_("sent on"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sent by"), on_delete=models.PROTECT,
                                related_name="+")
    reply_on = models.DateField(_("reply received on"), null=True, blank=True)
    reply = models.TextField(_("reply"), blank=True)
    reply_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reply recorded by"),
                                          null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("cross-check letter")
        verbose_name_plural = _("cross-check letters")
        ordering = ["-sent_on", "-id"]


class Override(models.Model):
    """The leader's written reason to approve a conclusion while flags are still open (audited)."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="flag_overrides")
    reason = models.TextField(_("reason"))
    open_flags = models.JSONField(_("flags open at the time"), default=list)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                           related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    used = models.BooleanField(_("used by an approval"), default=False)

    class Meta:
        verbose_name = _("flag override")
        verbose_name_plural = _("flag overrides")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.at:%Y-%m-%d}" if self.at else str(self.case_id)
