"""Committees, users, the working-day calendar and the audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


def default_service_targets() -> dict:
    """Working days from application to conclusion that the committee promises, per mode."""
    return {"clinic": 10}


class Committee(TimeStampedModel):
    """An appraisal committee (劳动能力鉴定委员会). Every case and staff user belongs to one.

    A province hosts one committee per city plus its own, which hears re-appraisals.
    """

    class Level(models.TextChoices):
        CITY = "city", _("city committee")
        PROVINCE = "province", _("provincial committee")

    name = models.CharField(_("name"), max_length=100, unique=True)
    short_name = models.CharField(_("short name"), max_length=30)
    code = models.CharField(_("region code"), max_length=12, unique=True, help_text=_("e.g. 371500"))
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.CITY)
    province = models.ForeignKey(
        "self", verbose_name=_("provincial committee"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="city_committees",
    )
    case_number_prefix = models.CharField(
        _("case number prefix"), max_length=20, help_text=_("e.g. 聊劳鉴, giving 聊劳鉴〔2026〕0001号")
    )
    case_number_format = models.CharField(
        _("case number format"), max_length=60, default="{prefix}〔{year}〕{seq:04d}号",
        help_text=_("Placeholders: {prefix}, {year}, {seq}."),
    )
    conclusion_number_format = models.CharField(
        _("conclusion number format"), max_length=60, default="{prefix}结〔{year}〕{seq:04d}号",
        help_text=_("Placeholders: {prefix}, {year}, {seq}."),
    )
    completeness_workdays = models.PositiveSmallIntegerField(
        _("completeness check (working days)"), default=5
    )
    class ClockStart(models.TextChoices):
        ACCEPTED = "accepted", _("the day the application is accepted")
        RECEIVED = "received", _("the day the application is received")

    correction_limit_days = models.PositiveSmallIntegerField(
        _("corrections must come back within (days)"), default=30,
        help_text=_("An application whose correction notice is not answered in time is closed."),
    )
    conclusion_days = models.PositiveSmallIntegerField(_("conclusion deadline (days)"), default=60)
    conclusion_clock_start = models.CharField(
        _("the conclusion deadline counts from"), max_length=10, choices=ClockStart.choices,
        default=ClockStart.ACCEPTED,
        help_text=_("Regulation Art. 25 counts from receipt of the application; many local rules count from "
                    "acceptance of the complete application. Set what your province's rules say."),
    )
    extension_days = models.PositiveSmallIntegerField(_("extension (days)"), default=30)
    delivery_days = models.PositiveSmallIntegerField(_("delivery deadline (days)"), default=20)
    reappraisal_window_days = models.PositiveSmallIntegerField(_("re-appraisal window (days)"), default=15)
    service_targets = models.JSONField(
        _("service targets (working days, per mode)"), default=default_service_targets, blank=True
    )
    risk_warning_days = models.PositiveSmallIntegerField(
        _("warn this many days before a deadline"), default=5
    )

    class Meta:
        verbose_name = _("committee")
        verbose_name_plural = _("committees")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def format_case_number(self, year: int, seq: int) -> str:
        return self.case_number_format.format(prefix=self.case_number_prefix, year=year, seq=seq)

    def format_conclusion_number(self, year: int, seq: int) -> str:
        return self.conclusion_number_format.format(prefix=self.case_number_prefix, year=year, seq=seq)


class User(AbstractUser):
    """A person who signs in: committee staff, an expert, or an applicant."""

    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class CalendarYear(TimeStampedModel):
    """A year whose holiday schedule the committee has entered by hand (years the package lacks).

    A year is usable for working-day arithmetic when the ``chinese-calendar`` package covers it
    or when a row here says its schedule is complete.
    """

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(
        _("schedule complete"), default=False,
        help_text=_("Tick once every holiday and make-up workday of the State Council notice is entered."),
    )
    source = models.CharField(_("source"), max_length=200, blank=True, help_text=_("e.g. 国办发明电〔2026〕7号"))

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(TimeStampedModel):
    """One day whose status differs from the package or the weekday rule: a holiday or a make-up workday."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("holiday (rest day)")
        WORKDAY = "workday", _("make-up workday")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True, help_text=_("e.g. 春节"))

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class AuditChainHead(models.Model):
    """The newest entry of one audit chain (one chain per committee, plus one for the system).

    Locked for update while an entry is appended, so that the chain never forks.
    """

    chain = models.CharField(_("chain"), max_length=40, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")

    def __str__(self) -> str:
        return f"{self.chain}#{self.last_seq}"


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail: who did what, when, before and after."""

    chain = models.CharField(_("chain"), max_length=40, db_index=True)
    seq = models.PositiveBigIntegerField(_("sequence"))
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=40, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip_address = models.CharField(_("IP address"), max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["chain", "seq"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action}"
