"""The expert pool (hospitals, specialties, experts, training, unavailability) and the panel draw.

The draw algorithm is in ``draw.py`` (pure, deterministic); ``services.py`` writes draws and panels;
``selectors.py`` reads them. See ``draw.py`` for how a draw is committed, revealed and verified.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.core.categories import Category
from laojian.core.models import Committee, TimeStampedModel
from laojian.core.versioning import VersionField

__all__ = ["Category"]  # re-exported: the pool uses it with its models


class Hospital(TimeStampedModel):
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="hospitals")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=20, blank=True, help_text=_("e.g. 三级甲等"))
    version = VersionField()  # optimistic lock of the edit form (core.versioning)

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        constraints = [models.UniqueConstraint(fields=["committee", "code"], name="hospital_code_unique")]

    def __str__(self) -> str:
        return self.name


class Specialty(models.Model):
    """A clinical specialty (科别) and the GB/T 16180 category it judges by default."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    category = models.PositiveSmallIntegerField(_("category"), choices=Category.choices)

    class Meta:
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return self.name


class Expert(TimeStampedModel):
    """A medical expert of the pool. Each has a user account to sign in and sign opinions."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        RETIRED = "retired", _("retired")

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="experts")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user account"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="expert")
    name = models.CharField(_("name"), max_length=50)
    version = VersionField()  # optimistic lock of the edit form (core.versioning)
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.PROTECT,
                                 related_name="experts")
    specialties = models.ManyToManyField(Specialty, verbose_name=_("specialties"), related_name="experts")
    title = models.CharField(_("title"), max_length=30, help_text=_("e.g. 主任医师"))
    senior_title = models.BooleanField(_("senior title checked"), default=False)
    term_start = models.DateField(_("term starts"))
    term_end = models.DateField(_("term ends"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    code = models.CharField(_("expert number"), max_length=30, blank=True,
                            help_text=_("The committee's number for the expert; identifies them in Excel imports."))

    class Meta:
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        constraints = [
            models.UniqueConstraint(fields=["committee", "code"], condition=~models.Q(code=""),
                                    name="expert_code_unique_per_committee",
                                    violation_error_message=_("This expert number is already in use.")),
            models.CheckConstraint(condition=models.Q(term_end__gte=models.F("term_start")),
                                   name="expert_term_order",
                                   violation_error_message=_("The term cannot end before it starts.")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital})"


class TrainingRecord(models.Model):
    """A training session an expert attended (policy, the standard) before sitting on panels."""

    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.CASCADE, related_name="trainings")
    date = models.DateField(_("date"))
    topic = models.CharField(_("topic"), max_length=200)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=0)

    class Meta:
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
        ordering = ["expert", "date"]
        indexes = [models.Index(fields=["expert", "date"], name="training_expert_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} {self.topic}"


class UnavailablePeriod(models.Model):
    """Days an expert cannot sit (leave, travel, illness); both ends included."""

    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.CASCADE,
                               related_name="unavailable_periods")
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("unavailable period")
        verbose_name_plural = _("unavailable periods")
        ordering = ["expert", "start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="unavailable_period_order",
                                   violation_error_message=_("The period cannot end before it starts.")),
        ]

    def __str__(self) -> str:
        return f"{self.start}–{self.end}"


class CategorySpecialty(models.Model):
    """Which specialties can judge a GB/T 16180 category. A category without rows falls back to the
    specialties whose own ``category`` is that category."""

    category = models.PositiveSmallIntegerField(_("category"), choices=Category.choices)
    specialty = models.ForeignKey(Specialty, verbose_name=_("specialty"), on_delete=models.CASCADE,
                                  related_name="category_links")

    class Meta:
        verbose_name = _("category → specialty")
        verbose_name_plural = _("category → specialty map")
        ordering = ["category", "specialty__code"]
        constraints = [models.UniqueConstraint(fields=["category", "specialty"], name="category_specialty_unique")]

    def __str__(self) -> str:
        return f"{self.category} → {self.specialty}"


class DrawRules(models.Model):
    """A committee's draw rules. Without a row the defaults below apply."""

    committee = models.OneToOneField(Committee, verbose_name=_("committee"), on_delete=models.CASCADE,
                                     related_name="draw_rules")
    panel_size = models.PositiveSmallIntegerField(_("panel size"), default=3)
    complex_panel_size = models.PositiveSmallIntegerField(_("panel size for complex cases"), default=5)
    multi_category_is_complex = models.BooleanField(
        _("injuries in several categories make the case complex"), default=True)
    min_trainings = models.PositiveSmallIntegerField(
        _("training records needed before sitting"), default=1)
    workload_window_days = models.PositiveSmallIntegerField(
        _("workload window (days)"), default=90,
        help_text=_("Draws in this many days before the draw lower an expert's chance."))
    recuse_treating_hospital = models.BooleanField(
        _("recuse experts of the treating hospital"), default=True)
    max_panels_per_day = models.PositiveSmallIntegerField(
        _("panels per expert and day"), default=6,
        help_text=_("An expert sits on at most this many panels of the same appraisal date."))

    class Meta:
        verbose_name = _("draw rules")
        verbose_name_plural = _("draw rules")

    def __str__(self) -> str:
        return str(self.committee)


class ConflictDeclaration(TimeStampedModel):
    """An expert's declared conflict of interest with a worker or an employer (close relative, treating
    doctor, ...). Such experts are recused from that worker's or employer's cases."""

    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.CASCADE,
                               related_name="conflicts")
    worker = models.ForeignKey("cases.Worker", verbose_name=_("worker"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="+")
    employer = models.ForeignKey("cases.Employer", verbose_name=_("employer"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("conflict declaration")
        verbose_name_plural = _("conflict declarations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(worker__isnull=False) | models.Q(employer__isnull=False),
                name="conflict_names_worker_or_employer",
                violation_error_message=_("Name the worker or the employer the conflict is with."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.expert}: {self.reason}"


class TreatingHospital(TimeStampedModel):
    """A hospital that treated the worker for this case's injury: its experts are recused."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="treating_hospitals")
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.PROTECT,
                                 related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("added by"), null=True,
                                 on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("treating hospital")
        verbose_name_plural = _("treating hospitals")
        constraints = [models.UniqueConstraint(fields=["case", "hospital"], name="treating_hospital_unique")]

    def __str__(self) -> str:
        return str(self.hospital)


class ManualExclusion(TimeStampedModel):
    """An expert the committee excludes from one case's draw, with the reason."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="manual_exclusions")
    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("added by"), null=True,
                                 on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("manual exclusion")
        verbose_name_plural = _("manual exclusions")
        constraints = [models.UniqueConstraint(fields=["case", "expert"], name="manual_exclusion_unique")]

    def __str__(self) -> str:
        return f"{self.expert}: {self.reason}"


class Panel(TimeStampedModel):
    """The expert panel (专家组) of a case: what was asked for, and its members.

    ``purpose``: the first panel, or a second-opinion panel (专家复审) drawn afresh for a difficult
    case, none of whose members sat on any earlier panel of the case. At most one active panel per
    case and purpose (a partial unique constraint), so two clerks drawing the same case at once
    cannot produce two panels.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        CANCELLED = "cancelled", _("cancelled")

    class Purpose(models.TextChoices):
        FIRST = "first", _("first panel")
        SECOND_OPINION = "second_opinion", _("second-opinion panel")

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="panels")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.FIRST)
    reason = models.TextField(_("why a second opinion is needed"), blank=True)
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="panels")
    size = models.PositiveSmallIntegerField(_("panel size"))
    complex = models.BooleanField(_("complex case"), default=False)
    categories = models.JSONField(_("categories"), default=list)
    sitting_date = models.DateField(_("appraisal date"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("drawn by"), on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("panel")
        verbose_name_plural = _("panels")
        constraints = [
            models.UniqueConstraint(fields=["case", "purpose"], condition=models.Q(state="active"),
                                    name="one_active_panel_per_case_and_purpose",
                                    violation_error_message=_("This case already has a panel.")),
        ]
        permissions = [
            ("draw_panel", "Can draw an expert panel for a case"),
            ("manage_pool", "Can manage the expert pool and import or export experts"),
            ("view_fairness", "Can see the fairness report of the draws"),
        ]

    def __str__(self) -> str:
        return f"{self.case} ({self.size})"


class Draw(models.Model):
    """One draw (抽取), initial or replacement, with everything needed to re-run it.

    ``spec`` holds the recorded candidates (with weights), exclusions and slots exactly as the
    algorithm saw them; ``seed_hash`` is written before the result (commit), ``seed`` with the
    result (reveal). ``record_hash`` is the SHA-256 of the canonical spec, also kept in the
    append-only audit trail, so a changed record is detected by ``laojian draw verify``.
    """

    class Kind(models.TextChoices):
        INITIAL = "initial", _("initial draw")
        REPLACEMENT = "replacement", _("replacement draw")

    panel = models.ForeignKey(Panel, verbose_name=_("panel"), on_delete=models.PROTECT, related_name="draws")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="draws")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INITIAL)
    algorithm = models.CharField(_("algorithm version"), max_length=40)
    spec = models.JSONField(_("candidates, exclusions and slots"), default=dict)
    record_hash = models.CharField(_("record hash"), max_length=64)
    seed_hash = models.CharField(_("seed hash (SHA-256)"), max_length=64)
    seed = models.CharField(_("seed"), max_length=64, blank=True)
    result = models.JSONField(_("result"), default=list, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    drawn_at = models.DateTimeField(_("drawn at"))
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("drawn by"), on_delete=models.PROTECT,
                                 related_name="+")

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        ordering = ["drawn_at", "id"]
        indexes = [models.Index(fields=["committee", "drawn_at"], name="draw_committee_at_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.panel}"


class PanelMember(TimeStampedModel):
    """An expert drawn onto a panel, and their answer."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for confirmation")
        CONFIRMED = "confirmed", _("confirmed")
        DECLINED = "declined", _("declined")

    panel = models.ForeignKey(Panel, verbose_name=_("panel"), on_delete=models.CASCADE, related_name="members")
    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.PROTECT,
                               related_name="panel_memberships")
    draw = models.ForeignKey(Draw, verbose_name=_("draw"), on_delete=models.PROTECT, related_name="members")
    slot = models.JSONField(_("specialties this seat covers"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decline_reason = models.CharField(_("reason for declining"), max_length=200, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"))

    class Meta:
        verbose_name = _("panel member")
        verbose_name_plural = _("panel members")
        ordering = ["panel", "id"]
        constraints = [models.UniqueConstraint(fields=["panel", "expert"], name="panel_member_unique")]
        indexes = [models.Index(fields=["expert", "drawn_at"], name="panel_member_expert_at_idx")]

    def __str__(self) -> str:
        return f"{self.expert} ({self.get_status_display()})"
