"""The grading catalogue (GB/T 16180 editions and their clauses), the experts' signed opinions,
the paid-leave period catalogue, each committee's grading rules, and the conclusion.

A signed opinion and an approved conclusion never change: ``save``/``delete`` refuse, and a
correction is a new signed version that records what changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.core.errors import ApplicationError
from laojian.core.fields import EncryptedTextField
from laojian.core.models import Committee, TimeStampedModel
from laojian.grading.rules import CareLevel, MedicalDependency, PeriodLimits, Tolerance, grade_label


class Immutable(ApplicationError):
    code = "immutable"


# THE STANDARD -------------------------------------------------------------------------------------

class Edition(models.Model):
    """One edition of the grading standard (e.g. GB/T 16180-2014) as imported."""

    code = models.CharField(_("edition"), max_length=40, unique=True, help_text=_("e.g. GB/T 16180-2014"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    effective_from = models.DateField(_("in force from"), null=True, blank=True)
    current = models.BooleanField(_("current edition"), default=False,
                                  help_text=_("New opinions use the current edition."))
    source_sha256 = models.CharField(_("SHA-256 of the imported file"), max_length=64, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("standard edition")
        verbose_name_plural = _("standard editions")
        ordering = ["-effective_from", "code"]
        constraints = [models.UniqueConstraint(fields=["current"], condition=models.Q(current=True),
                                               name="one_current_edition")]

    def __str__(self) -> str:
        return self.code


class Clause(models.Model):
    """A clause of chapter 5 (``5.{grade}.2({n})``): its grade, categories, body parts and criterion.

    Categories and body parts are kept as ``|a|b|`` strings so that a filter is one indexed LIKE on
    both databases, without a join.
    """

    edition = models.ForeignKey(Edition, verbose_name=_("edition"), on_delete=models.PROTECT, related_name="clauses")
    number = models.CharField(_("clause"), max_length=20)
    grade = models.PositiveSmallIntegerField(_("grade"))
    seq = models.PositiveSmallIntegerField(_("item"))
    categories = models.CharField(_("categories"), max_length=20)
    body_parts = models.CharField(_("body parts"), max_length=100)
    criterion = models.TextField(_("criterion"))

    class Meta:
        verbose_name = _("clause")
        verbose_name_plural = _("clauses")
        ordering = ["edition", "grade", "seq"]
        constraints = [models.UniqueConstraint(fields=["edition", "number"], name="clause_number_unique")]
        indexes = [models.Index(fields=["edition", "grade", "seq"], name="clause_grade_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.criterion}"

    @property
    def category_list(self) -> list[int]:
        return [int(c) for c in self.categories.strip("|").split("|") if c]

    @property
    def body_part_list(self) -> list[str]:
        return [p for p in self.body_parts.strip("|").split("|") if p]


class GradePrinciple(models.Model):
    """The grade principle (定级原则, 5.{grade}.1) of an edition."""

    edition = models.ForeignKey(Edition, verbose_name=_("edition"), on_delete=models.PROTECT,
                                related_name="principles")
    grade = models.PositiveSmallIntegerField(_("grade"))
    text = models.TextField(_("principle"))

    class Meta:
        verbose_name = _("grade principle")
        verbose_name_plural = _("grade principles")
        ordering = ["edition", "grade"]
        constraints = [models.UniqueConstraint(fields=["edition", "grade"], name="principle_grade_unique")]

    def __str__(self) -> str:
        return f"5.{self.grade}.1"


class LeavePeriod(models.Model):
    """An entry of the paid-leave period catalogue (停工留薪期分类目录): the maximum months for an injury."""

    icd10 = models.CharField(_("ICD-10 code"), max_length=10, unique=True)
    name = models.CharField(_("injury"), max_length=100)
    body_region = models.CharField(_("body region"), max_length=30, blank=True)
    max_months = models.PositiveSmallIntegerField(_("maximum months"))
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("paid-leave catalogue entry")
        verbose_name_plural = _("paid-leave catalogue")
        ordering = ["icd10"]

    def __str__(self) -> str:
        return f"{self.icd10} {self.name} ({self.max_months})"


class GradingRules(models.Model):
    """A committee's tolerances for panel agreement and its period limits."""

    committee = models.OneToOneField(Committee, verbose_name=_("committee"), on_delete=models.CASCADE,
                                     related_name="grading_rules")
    grade_tolerance = models.PositiveSmallIntegerField(
        _("grades may differ by"), default=0,
        help_text=_("0: every expert must give the same grade, or the case goes to collective discussion."))
    care_must_match = models.BooleanField(_("care levels must match"), default=True)
    months_tolerance = models.PositiveSmallIntegerField(_("recommended months may differ by"), default=0)
    leave_months = models.PositiveSmallIntegerField(_("paid leave: first period (months)"), default=12)
    leave_extension_months = models.PositiveSmallIntegerField(_("paid leave: extension (months)"), default=12)
    leave_total_months = models.PositiveSmallIntegerField(_("paid leave: in all (months)"), default=24)
    complication_months = models.PositiveSmallIntegerField(_("months added for a complication"), default=2)
    unlisted_months = models.PositiveSmallIntegerField(_("months for an injury not in the catalogue"), default=6)
    rehab_months = models.PositiveSmallIntegerField(_("rehabilitation: first period (months)"), default=12)
    rehab_extension_months = models.PositiveSmallIntegerField(_("rehabilitation: extension (months)"), default=12)

    class Meta:
        verbose_name = _("grading rules")
        verbose_name_plural = _("grading rules")

    def __str__(self) -> str:
        return str(self.committee)

    def limits(self) -> PeriodLimits:
        return PeriodLimits(self.leave_months, self.leave_extension_months, self.leave_total_months,
                            self.complication_months, self.unlisted_months, self.rehab_months,
                            self.rehab_extension_months)

    def tolerance(self) -> Tolerance:
        return Tolerance(self.grade_tolerance, self.care_must_match, self.months_tolerance)


# OPINIONS -----------------------------------------------------------------------------------------

class _SignedGuard(models.Model):
    """Refuse to change or delete a row once it belongs to a signed record."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk and self._locked():
            raise Immutable(_("A signed opinion cannot change; write a corrected version instead."))
        super().save(*args, **kwargs)
        self._stored_state = getattr(self, "state", None)

    def delete(self, *args, **kwargs):
        if self._locked():
            raise Immutable(_("A signed opinion cannot be deleted."))
        return super().delete(*args, **kwargs)

    def _locked(self) -> bool:
        """Whether the row belongs to a signed record (each subclass says how it knows)."""
        return False


class Opinion(_SignedGuard, TimeStampedModel):
    """One expert's appraisal opinion (鉴定意见) on a case; a correction is a new version."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        SIGNED = "signed", _("signed")

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="opinions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("expert"), on_delete=models.PROTECT,
                               related_name="opinions")
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    # Written by a member of a second-opinion panel (专家复审) while the case was difficult; the first
    # panel's agreement, the drafted conclusion and ``signed_opinions`` leave these out.
    second_opinion = models.BooleanField(_("second opinion"), default=False)
    supersedes = models.OneToOneField("self", verbose_name=_("corrects"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="superseded_by")
    edition = models.ForeignKey(Edition, verbose_name=_("edition"), on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    care_needs = models.JSONField(_("activities needing help"), default=list, blank=True)
    care_level = models.CharField(_("care dependency"), max_length=10, choices=CareLevel.choices,
                                  default=CareLevel.NONE)
    medical_dependency = models.CharField(_("medical dependency"), max_length=10, choices=MedicalDependency.choices,
                                          default=MedicalDependency.NONE)
    pre_existing = EncryptedTextField(_("pre-existing disability"), blank=True)
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    computed_grade = models.PositiveSmallIntegerField(_("computed grade"), null=True, blank=True)
    grade_reasons = models.JSONField(_("how the grade was combined"), default=list, blank=True)
    months = models.PositiveSmallIntegerField(_("months recommended"), null=True, blank=True)
    prior_months = models.PositiveSmallIntegerField(_("months already granted"), default=0)
    diagnoses = models.JSONField(_("ICD-10 codes of the injuries"), default=list, blank=True)
    complication = models.BooleanField(_("infection or complication"), default=False)
    period_reasons = models.TextField(_("why these months"), blank=True)
    period_warnings = models.JSONField(_("period warnings"), default=list, blank=True)
    basis = models.TextField(_("basis"), blank=True)
    changes = models.JSONField(_("changes from the previous version"), default=list, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signature = models.CharField(_("signature (SHA-256 of the content)"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("opinion")
        verbose_name_plural = _("opinions")
        ordering = ["case", "author", "-version"]
        constraints = [models.UniqueConstraint(fields=["case", "author", "version"], name="opinion_version_unique")]
        permissions = [("write_opinion", "Can write and sign an appraisal opinion"),
                       ("view_panel_opinions", "Can read the panel's opinions")]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.author_id} v{self.version}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_state = instance.state
        return instance

    def _locked(self) -> bool:
        return getattr(self, "_stored_state", None) == self.State.SIGNED

    @property
    def signed(self) -> bool:
        return self.state == self.State.SIGNED

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)


class _OpinionPart(_SignedGuard):
    class Meta:
        abstract = True

    def _locked(self) -> bool:
        return Opinion.objects.filter(pk=self.opinion_id, state=Opinion.State.SIGNED).exists()


class Finding(_OpinionPart):
    """What the expert found on examination, by body part."""

    opinion = models.ForeignKey(Opinion, verbose_name=_("opinion"), on_delete=models.CASCADE, related_name="findings")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    body_part = models.CharField(_("body part"), max_length=30)
    text = EncryptedTextField(_("findings"))

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["opinion", "position", "id"]

    def __str__(self) -> str:
        return f"{self.body_part}: {self.text[:30]}"


class Item(_OpinionPart):
    """One injury and the clause that grades it; the grade is the clause's, never typed."""

    opinion = models.ForeignKey(Opinion, verbose_name=_("opinion"), on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    injury = models.CharField(_("injury"), max_length=200)
    clause = models.ForeignKey(Clause, verbose_name=_("clause"), on_delete=models.PROTECT, related_name="+")
    grade = models.PositiveSmallIntegerField(_("grade"))

    class Meta:
        verbose_name = _("graded injury")
        verbose_name_plural = _("graded injuries")
        ordering = ["opinion", "position", "id"]

    def __str__(self) -> str:
        return f"{self.injury}: {self.clause.number}"


# THE CONCLUSION -----------------------------------------------------------------------------------

class Conclusion(TimeStampedModel):
    """The committee's appraisal conclusion (鉴定结论): drafted from agreeing signed opinions (the
    panel's or, adopted by a leader, a second-opinion panel's) or from a collective discussion,
    approved by a leader who wrote no opinion on the case, then numbered."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        APPROVED = "approved", _("approved")

    class Source(models.TextChoices):
        PANEL = "panel", _("the panel's agreeing opinions")
        DISCUSSION = "discussion", _("collective discussion")
        PAPER = "paper", _("a paper file entered afterwards")
        SECOND_OPINION = "second_opinion", _("the second-opinion panel's agreeing opinions")

    case = models.OneToOneField("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                                related_name="conclusion")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    source = models.CharField(_("drafted from"), max_length=20, choices=Source.choices, default=Source.PANEL)
    edition = models.ForeignKey(Edition, verbose_name=_("edition"), on_delete=models.PROTECT, related_name="+")
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    care_level = models.CharField(_("care dependency"), max_length=10, choices=CareLevel.choices,
                                  default=CareLevel.NONE)
    medical_dependency = models.CharField(_("medical dependency"), max_length=10, choices=MedicalDependency.choices,
                                          default=MedicalDependency.NONE)
    months = models.PositiveSmallIntegerField(_("months"), null=True, blank=True)
    clauses = models.JSONField(_("clauses"), default=list, blank=True)
    basis = models.TextField(_("basis"), blank=True)
    reasons = models.JSONField(_("how it was drafted"), default=list, blank=True)
    opinions = models.ManyToManyField(Opinion, verbose_name=_("signed opinions"), related_name="conclusions")
    number = models.CharField(_("conclusion number"), max_length=40, null=True, blank=True)  # noqa: DJ001
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conclusion")
        verbose_name_plural = _("conclusions")
        constraints = [models.UniqueConstraint(fields=["committee", "number"], name="conclusion_number_unique",
                                               condition=models.Q(number__isnull=False))]
        permissions = [("request_extension", "Can ask for the statutory extension")]

    def __str__(self) -> str:
        return self.number or f"{self.case_id} ({self.get_state_display()})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_state = instance.state
        return instance

    def save(self, *args, **kwargs):
        if getattr(self, "_stored_state", None) == self.State.APPROVED:
            raise Immutable(_("An approved conclusion cannot change."))
        super().save(*args, **kwargs)
        self._stored_state = self.state

    def delete(self, *args, **kwargs):
        if getattr(self, "_stored_state", None) == self.State.APPROVED:
            raise Immutable(_("An approved conclusion cannot be deleted."))
        return super().delete(*args, **kwargs)

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)
