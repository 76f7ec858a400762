"""The case and its parties: worker, employer, injury determination; timeline and assignments.

Statuses and transitions are declared in ``workflow.py``; the clocks are computed in ``clocks.py``.
Nothing here changes a case's status: that is ``services.transition``'s job.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from laojian.core.fields import BlindIndexField, EncryptedCharField, EncryptedTextField
from laojian.core.models import Committee, TimeStampedModel
from laojian.core.sealed_storage import SealedStorage
from laojian.core.validators import mask_id_number
from laojian.core.versioning import VersionField


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class Worker(TimeStampedModel):
    """An injured worker. The ID number is stored normalised; birth date and sex are derived from it.

    The ID number and phone are encrypted at rest; the worker is found by the number's blind index
    (:meth:`index_of`), which is also what keeps one worker per number.
    """

    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_index = BlindIndexField(_("ID number index"), source="id_number", unique=True)
    name = models.CharField(_("name"), max_length=50)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    phone = EncryptedCharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    county = models.CharField(_("county/district"), max_length=50, blank=True)
    # Set when every case of the worker was past its retention and the personal fields were
    # replaced with neutral values (SEC-64, ``laojian/cases/retention.py``).
    anonymised_on = models.DateField(_("anonymised on"), null=True, blank=True, editable=False)
    version = VersionField()  # optimistic lock of the correction form (core.versioning)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        permissions = [
            ("handle_rights_request", "Can answer a person's rights request: a copy of their data, a correction"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_id_number})"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @classmethod
    def index_of(cls, id_number: str) -> str:
        """The blind index of a normalised ID number: ``Worker.objects.filter(id_number_index=...)``."""
        return cls._meta.get_field("id_number_index").index_of(id_number)


class Employer(TimeStampedModel):
    """An employer (用人单位), identified by its unified social credit code."""

    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")

    def __str__(self) -> str:
        return self.name


class InjuryDetermination(TimeStampedModel):
    """The work-injury determination (工伤认定决定书) a case rests on."""

    number = models.CharField(_("determination number"), max_length=60, unique=True)
    worker = models.ForeignKey(Worker, verbose_name=_("worker"), on_delete=models.PROTECT,
                               related_name="determinations")
    employer = models.ForeignKey(Employer, verbose_name=_("employer"), on_delete=models.PROTECT,
                                 related_name="determinations")
    injury_date = models.DateField(_("injury date"))
    determination_date = models.DateField(_("determination date"))
    injured_parts = models.CharField(_("injured parts"), max_length=200)
    diagnosis = EncryptedTextField(_("diagnosis"))

    class Meta:
        verbose_name = _("injury determination")
        verbose_name_plural = _("injury determinations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(determination_date__gte=models.F("injury_date")),
                name="determination_after_injury",
                violation_error_message=_("The determination date cannot be before the injury date."),
            )
        ]

    def __str__(self) -> str:
        return self.number


class CaseType(models.TextChoices):
    INITIAL = "initial", _("initial appraisal")
    REVIEW = "review", _("review appraisal")
    REAPPRAISAL = "reappraisal", _("re-appraisal")
    LEAVE_CONFIRMATION = "leave_confirmation", _("leave confirmation")
    LEAVE_EXTENSION = "leave_extension", _("leave extension")
    REHAB_CONFIRMATION = "rehab_confirmation", _("rehab confirmation")
    REHAB_EXTENSION = "rehab_extension", _("rehab extension")


class ApplicantKind(models.TextChoices):
    WORKER = "worker", _("the worker")
    EMPLOYER = "employer", _("the employer")
    RELATIVE = "relative", _("a close relative")
    AGENCY = "agency", _("the social-insurance agency")


class Mode(models.TextChoices):
    SITTING = "sitting", _("sitting")
    CLINIC = "clinic", _("clinic")
    HOME = "home", _("home visit")
    REMOTE = "remote", _("remote")


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    CORRECTION_REQUESTED = "correction_requested", _("correction requested")
    ACCEPTED = "accepted", _("accepted")
    REVIEWED = "reviewed", _("preliminary review passed")
    SCHEDULED = "scheduled", _("scheduled")
    EXAMINED = "examined", _("examined")
    DIFFICULT = "difficult", _("difficult")
    CONCLUDED = "concluded", _("concluded")
    DELIVERED = "delivered", _("delivered")
    ARCHIVED = "archived", _("archived")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")
    TERMINATED = "terminated", _("terminated")


class Sensitivity(models.TextChoices):
    """A case's sensitivity label, enforced on top of roles (issue 10): who of the committee's staff
    sees it without being assigned to it."""

    NORMAL = "normal", _("normal")
    SENSITIVE = "sensitive", _("sensitive")
    RESTRICTED = "restricted", _("restricted")


class RetentionClass(models.TextChoices):
    """How long a closed case's personal data is kept (SEC-64; periods in ``LAOJIAN_RETENTION_DAYS``,
    the rules in ``laojian/cases/retention.py``)."""

    OPEN = "open", _("open (not closed yet)")
    APPLICATION = "application", _("application never accepted")
    NO_CONCLUSION = "no_conclusion", _("closed without a conclusion")
    APPRAISED = "appraised", _("appraised and archived")


# A case in one of these holds its injury: submitted and not yet concluded, withdrawn or refused.
IN_PROGRESS_STATUSES = (Status.SUBMITTED, Status.CORRECTION_REQUESTED, Status.ACCEPTED, Status.REVIEWED,
                        Status.SCHEDULED, Status.EXAMINED, Status.DIFFICULT)
ONE_OPEN_CASE_PER_INJURY = "case_one_open_per_injury_and_type"
OPEN_CASE_CLASH = _("This injury already has a case of this type in progress.")


def open_case_of_injury(case: Case) -> Case | None:
    """Another case of ``case``'s type in progress for its injury (REL-21), if there is one."""
    return (Case.objects.filter(determination_id=case.determination_id, case_type=case.case_type,
                                status__in=IN_PROGRESS_STATUSES).exclude(pk=case.pk).only("pk", "number").first())


def is_open_case_clash(exc: Exception) -> bool:
    """Whether an IntegrityError is the REL-21 constraint (PostgreSQL names it; SQLite names its columns)."""
    text = str(exc)
    return ONE_OPEN_CASE_PER_INJURY in text or "cases_case.determination_id, cases_case.case_type" in text


class Case(TimeStampedModel):
    """An appraisal case (鉴定案件).

    The clock fields are stored, not computed on read, so the worklist can sort and filter by
    deadline in the database; ``clocks.refresh`` recomputes them whenever their inputs change.
    """

    # No index of its own: the worklist indexes below start with the committee.
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="cases", db_index=False)
    # NULL, not "", until the case is submitted: the number is unique per committee.
    number = models.CharField(_("case number"), max_length=40, null=True, blank=True)  # noqa: DJ001
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    seq = models.PositiveIntegerField(_("sequence"), null=True, blank=True)
    case_type = models.CharField(_("case type"), max_length=20, choices=CaseType.choices)
    applicant_kind = models.CharField(_("applicant"), max_length=10, choices=ApplicantKind.choices)
    applicant_name = models.CharField(_("applicant name"), max_length=100, blank=True)
    applicant_phone = EncryptedCharField(_("applicant's mobile number"), max_length=20, blank=True,
                                       help_text=_("For SMS about the case when the applicant has no account."))
    applicant_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applicant account"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="applications",
    )
    mode = models.CharField(_("appraisal mode"), max_length=10, choices=Mode.choices, default=Mode.SITTING)
    mode_reason = models.TextField(_("why the worker cannot travel"), blank=True)
    sensitivity = models.CharField(_("sensitivity"), max_length=10, choices=Sensitivity.choices,
                                   default=Sensitivity.NORMAL)
    status = models.CharField(_("status"), max_length=25, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=1)
    # SEC-61: the version of the personal-information notice (core.notices) the applicant was shown at
    # intake, and when they acknowledged it (ticked online; the clerk confirmed showing it at the counter).
    notice_version = models.CharField(_("personal-information notice version"), max_length=20, blank=True)
    notice_acknowledged_at = models.DateTimeField(_("notice acknowledged at"), null=True, blank=True)
    worker = models.ForeignKey(Worker, verbose_name=_("worker"), on_delete=models.PROTECT, related_name="cases")
    employer = models.ForeignKey(Employer, verbose_name=_("employer"), on_delete=models.PROTECT,
                                 related_name="cases")
    determination = models.ForeignKey(
        InjuryDetermination, verbose_name=_("injury determination"), on_delete=models.PROTECT,
        related_name="cases",
    )

    # Dates the clocks start from (Asia/Shanghai calendar dates).
    received_on = models.DateField(_("application received"), null=True, blank=True)
    correction_requested_on = models.DateField(_("correction notice sent"), null=True, blank=True)
    resubmitted_on = models.DateField(_("corrections received"), null=True, blank=True)
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("accepted by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    reviewed_on = models.DateField(_("preliminary review passed on"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    # Set while the reviewer's questions to the clerk wait for an answer (preliminary review).
    returned_for_answer = models.BooleanField(_("returned to the clerk"), default=False)
    # Set when the reviewer marks the case difficult from the start: the panel's opinions then go
    # to collective discussion even when they agree.
    difficult_reason = models.TextField(_("marked difficult at preliminary review"), blank=True)
    # A review appraisal (复查鉴定) names the case whose conclusion it reviews.
    earlier_case = models.ForeignKey(
        "self", verbose_name=_("earlier appraisal"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="review_appraisals",
    )
    concluded_on = models.DateField(_("concluded on"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("extension (days)"), default=0)
    extension_reason = models.TextField(_("extension reason"), blank=True)
    reschedule_shift_days = models.PositiveSmallIntegerField(
        _("days added by reschedules the worker asked for"), default=0
    )
    # Retention (SEC-64): set when the case closes (laojian/cases/retention.py).
    retention_class = models.CharField(_("retention class"), max_length=20, choices=RetentionClass.choices,
                                       default=RetentionClass.OPEN, editable=False)
    closed_on = models.DateField(_("closed on"), null=True, blank=True, editable=False)
    anonymised_on = models.DateField(_("anonymised on"), null=True, blank=True, editable=False)

    # Clocks (derived; see clocks.py).
    completeness_due = models.DateField(_("completeness notice due"), null=True, blank=True)
    correction_due = models.DateField(_("corrections due from the applicant"), null=True, blank=True)
    conclusion_due = models.DateField(_("conclusion due"), null=True, blank=True)
    delivery_due = models.DateField(_("delivery due"), null=True, blank=True)
    target_due = models.DateField(_("service target"), null=True, blank=True)
    reappraisal_window_ends = models.DateField(_("re-appraisal window ends"), null=True, blank=True)
    next_due = models.DateField(_("next deadline"), null=True, blank=True)
    clock_basis = models.JSONField(_("calendar data used"), default=dict, blank=True)
    # No columns: the working-day calendar joined on two of the dates above, so statistics subtract
    # working-day ordinals in a join instead of a look-up per case (reports.selectors).
    received_ordinal = models.ForeignObject(
        "core.WorkdayOrdinal", on_delete=models.DO_NOTHING, from_fields=["received_on"], to_fields=["date"],
        related_name="+", null=True, editable=False,
    )
    concluded_ordinal = models.ForeignObject(
        "core.WorkdayOrdinal", on_delete=models.DO_NOTHING, from_fields=["concluded_on"], to_fields=["date"],
        related_name="+", null=True, editable=False,
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["committee", "number"], name="case_number_unique_per_committee",
                                    violation_error_message=_("This case number is already in use.")),
            models.UniqueConstraint(fields=["committee", "year", "seq"], name="case_seq_unique_per_committee_year"),
            # REL-21: the second line behind idempotency keys: two requests with different keys still
            # cannot put two cases of one type for one injury (its determination) in progress.
            models.UniqueConstraint(
                fields=["determination", "case_type"], condition=models.Q(status__in=IN_PROGRESS_STATUSES),
                name=ONE_OPEN_CASE_PER_INJURY,
                violation_error_message=OPEN_CASE_CLASH,
            ),
        ]
        indexes = [
            models.Index(fields=["committee", "status", "next_due"], name="case_worklist_idx"),
            models.Index(fields=["committee", "next_due"], name="case_due_idx"),
            # Statistics pick a period by one of these dates.
            models.Index(fields=["committee", "received_on"], name="case_received_idx"),
            models.Index(fields=["committee", "concluded_on"], name="case_concluded_idx"),
            models.Index(fields=["committee", "accepted_on"], name="case_accepted_idx"),
        ]
        permissions = [
            ("view_committee_cases", "Can see every case of the own committee"),
            ("view_medical", "Can see medical content of visible cases"),
            ("view_sensitive_cases", "Can see the committee's cases labelled sensitive"),
            ("view_restricted_cases", "Can see the committee's cases labelled restricted"),
            ("label_case", "Can set a case's sensitivity label"),
            ("register_case", "Can register an application at the counter"),
            ("submit_case", "Can submit an application"),
            ("request_correction", "Can send a correction notice"),
            ("accept_case", "Can accept an application"),
            ("reject_case", "Can reject an application"),
            ("review_case", "Can do the preliminary review"),
            ("answer_return", "Can answer a reviewer's return"),
            ("schedule_case", "Can schedule an appraisal"),
            ("record_examination", "Can record that the examination took place"),
            ("mark_difficult", "Can mark a case difficult"),
            ("conclude_case", "Can approve a conclusion"),
            ("approve_extension", "Can approve the 30-day extension"),
            ("deliver_case", "Can record delivery"),
            ("archive_case", "Can archive a case"),
            ("withdraw_case", "Can withdraw an application"),
            ("terminate_case", "Can terminate an appraisal"),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class CaseNumberSequence(models.Model):
    """The last number issued per committee, kind (case, conclusion, …) and year; incremented atomically."""

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40, default="case")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [models.UniqueConstraint(fields=["committee", "kind", "year"], name="number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.committee_id}/{self.kind}/{self.year}: {self.last}"


class CaseAssignment(TimeStampedModel):
    """Who works on a case in which capacity: the basis for scoping and for separation of duties.

    Panel members (drawn by the experts app) are recorded here with role ``expert``.
    """

    class Role(models.TextChoices):
        CLERK = "clerk", _("clerk")
        REVIEWER = "reviewer", _("reviewer")
        EXPERT = "expert", _("panel expert")
        # A fresh panel drawn for a second opinion (专家复审); its members never sat on the first.
        SECOND_EXPERT = "second_expert", _("second-opinion expert")
        LEADER = "leader", _("leader")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                             related_name="case_assignments")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case assignment")
        verbose_name_plural = _("case assignments")
        constraints = [models.UniqueConstraint(fields=["case", "user", "role"], name="assignment_unique")]
        indexes = [models.Index(fields=["user", "role", "active"], name="assignment_user_idx")]


class BreakGlassGrant(models.Model):
    """The system administrator opened the medical content of one case until ``expires_at``, giving a reason.

    Written with its audit entry in one transaction; never changed afterwards (an early end is not a
    feature: grants are short). The security administrator and the auditor read the list.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                             related_name="break_glass_grants")
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="break_glass_grants")
    reason = models.TextField(_("reason"))
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("break-glass grant")
        verbose_name_plural = _("break-glass grants")
        ordering = ["-granted_at", "-id"]
        permissions = [("break_glass", "Can open one case's medical content for a limited time, giving a reason")]
        indexes = [models.Index(fields=["user", "case", "expires_at"], name="break_glass_active_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("granted_at")),
                                   name="break_glass_expires_after_grant"),
        ]

    def __str__(self) -> str:
        return f"break-glass {self.pk}: user {self.user_id}, case {self.case_id}, until {self.expires_at:%Y-%m-%d %H:%M}"


class TimelineEntry(models.Model):
    """One line of a case's timeline: a transition or another event worth showing the user."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(_("from"), max_length=25, blank=True)
    to_status = models.CharField(_("to"), max_length=25, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["case", "at"], name="timeline_case_idx"),
            # Statistics count the cases that entered a status in a period (terminated, withdrawn, …).
            models.Index(fields=["to_status", "at"], name="timeline_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


# MATERIALS ----------------------------------------------------------------------------------------


@deconstructible
class MaterialsStorage(SealedStorage):
    """The storage of case materials: ``STORAGES["materials"]``, looked up on every call, with every
    file sealed on the way in and opened on the way out (SEC-55, ``laojian/core/sealed_storage.py``).

    A proxy rather than the backend itself, so the backend is chosen by settings at run time
    (``LAOJIAN_MATERIALS_STORAGE``: the file system by default, an S3-compatible backend in a large
    deployment) and a test's ``settings.STORAGES`` reaches the field. The backend holds only sealed
    bytes (and files stored before sealing, read as they are until ``laojian rotate_keys`` seals
    them). Nothing in this storage is ever served by URL: files go out only through the checked views.
    """

    @property
    def backend(self) -> Storage:
        return storages["materials"]


def material_upload_to(instance: Material, filename: str) -> str:
    """A server-made random name; the extension comes from the checked content, never the user."""
    suffix = PurePosixPath(filename).suffix.lower()
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token}{suffix if suffix in {'.pdf', '.jpg', '.png'} else ''}"


class MaterialType(models.Model):
    """One line of a case type's checklist (申请材料清单): what the applicant must or may supply.

    Rows without a committee are the defaults for every committee. A committee adapts its
    checklist with rows of its own: a row with the same case type and code replaces the default,
    an inactive one removes it, a new code adds an item.
    """

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="material_types",
                                  help_text=_("Empty: the default for every committee."))
    case_type = models.CharField(_("case type"), max_length=20, choices=CaseType.choices)
    code = models.SlugField(_("code"), max_length=40,
                            help_text=_("Same code as a default item: this committee's version replaces it."))
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    required = models.BooleanField(_("required"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True,
                                 help_text=_("Untick to drop the item from this committee's checklist."))

    class Meta:
        verbose_name = _("material type")
        verbose_name_plural = _("material types")
        ordering = ["case_type", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "case_type", "code"], name="material_type_unique"),
            models.UniqueConstraint(fields=["case_type", "code"], condition=models.Q(committee__isnull=True),
                                    name="material_type_default_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Material(models.Model):
    """One uploaded file of a case. The bytes stored are the checked (and, for images, re-encoded)
    ones; ``sha256`` is over exactly those bytes. Rows are never deleted: a replaced file is
    marked ``superseded`` and stays in the file. Only ``laojian retention apply`` deletes the rows
    and files of a case past its retention (SEC-64)."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="materials")
    material_type = models.ForeignKey(MaterialType, verbose_name=_("material type"), on_delete=models.PROTECT,
                                      related_name="materials")
    file = models.FileField(_("file"), storage=MaterialsStorage(), upload_to=material_upload_to, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    superseded = models.BooleanField(_("superseded"), default=False)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        indexes = [models.Index(fields=["case", "material_type"], name="material_case_idx")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def committee_id(self) -> int:
        """The case's committee, so the audit trail files reads of this file in that committee's chain."""
        return self.case.committee_id


class MaterialStatus(models.TextChoices):
    PRESENT = "present", _("present")
    MISSING = "missing", _("missing")
    UNREADABLE = "unreadable", _("unreadable")


class MaterialCheck(models.Model):
    """The clerk's latest finding on one checklist item of a case; earlier findings are in the
    audit trail and on the timeline."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="material_checks")
    material_type = models.ForeignKey(MaterialType, verbose_name=_("material type"), on_delete=models.PROTECT,
                                      related_name="+")
    status = models.CharField(_("finding"), max_length=10, choices=MaterialStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("checked by"),
                                   on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("material check")
        verbose_name_plural = _("material checks")
        constraints = [
            models.UniqueConstraint(fields=["case", "material_type"], name="material_check_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.material_type_id} {self.status}"
