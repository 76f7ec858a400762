"""Committees, users, the working-day calendar and the audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
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
    discussion_quorum = models.PositiveSmallIntegerField(
        _("collective discussion quorum"), default=3,
        help_text=_("Members who must be present, and not recused, for a collective discussion to decide a case."),
    )
    second_opinion_blind = models.BooleanField(
        _("second-opinion panels are blind"), default=True,
        help_text=_("A second-opinion panel does not see the first panel's opinions until it has signed."),
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
    password_changed_at = models.DateTimeField(
        _("password changed at"), null=True, blank=True,
        help_text=_("Empty: never changed since the account was made (its age counts from then)."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # The security administrator's: roles are the only permissions users hold (core.roles).
        permissions = [("assign_roles", "Can give users their roles and take them away")]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def set_password(self, raw_password: str | None) -> None:
        """Every new password, through any form or command, restarts the rotation clock (SEC-08)."""
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()


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


class WorkdayOrdinal(models.Model):
    """One calendar day and how many working days there are from the first known day up to it: the
    working-day calendar as a table the database can join (maintained by ``workday_ordinals``).

    Working days after ``a`` up to and including ``b`` = ``ordinal(b) - ordinal(a)``, exactly
    ``calendar.workdays_between(a, b)``.
    """

    date = models.DateField(_("date"), primary_key=True)
    ordinal = models.PositiveIntegerField(_("working days up to this day"))

    class Meta:
        verbose_name = _("working-day ordinal")
        verbose_name_plural = _("working-day ordinals")

    def __str__(self) -> str:
        return f"{self.date}: {self.ordinal}"


class CalendarFingerprint(models.Model):
    """The calendar data the ordinals were built from; a different fingerprint means rebuild."""

    key = models.CharField(max_length=20, primary_key=True, default="workdays")
    fingerprint = models.CharField(max_length=64)
    built_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar fingerprint")
        verbose_name_plural = _("calendar fingerprints")

    def __str__(self) -> str:
        return f"{self.key}: {self.fingerprint[:12]}"


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
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # The auditor's page: a committee's entries, newest first.
            models.Index(fields=["committee", "-at"], name="audit_committee_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action}"


# SIGN-IN SECURITY (laojian.core.auth, laojian.core.totp, laojian.core.ratelimit) ---------------------


class TOTPDevice(models.Model):
    """A staff user's authenticator app: the second factor of SEC-07 / SEC-43 (RFC 6238 TOTP).

    The shared secret is stored encrypted (AES-256-GCM, see :mod:`laojian.core.totp`) and shown
    only until the first code confirms it. ``last_used_step`` is the newest 30-second step a
    code was accepted for: a code of that step or an earlier one is refused (no replay).
    """

    user = models.OneToOneField(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(_("secret (encrypted)"), max_length=200)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_used_step = models.PositiveBigIntegerField(_("last time step used"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")
        permissions = [("reset_second_factor", _("Can reset a user's second factor"))]

    def __str__(self) -> str:
        return f"TOTP {self.user_id}"


class RecoveryCode(models.Model):
    """A one-time code for signing in without the authenticator app. Only its SHA-256 is kept."""

    device = models.ForeignKey(
        TOTPDevice, verbose_name=_("authenticator app"), on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of device {self.device_id}"


class SignInScope(models.TextChoices):
    ACCOUNT = "account", _("user name")
    ADDRESS = "address", _("client address")


class AuthFailure(models.Model):
    """One failed sign-in step (password or second factor), counted per user name and per address (SEC-09)."""

    scope = models.CharField(_("scope"), max_length=10, choices=SignInScope.choices)
    key = models.CharField(_("key"), max_length=150)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        indexes = [models.Index(fields=["scope", "key", "at"], name="auth_failure_key_idx")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} {self.at:%Y-%m-%d %H:%M}"


class AuthLock(models.Model):
    """A user name or client address that may not sign in before ``until`` (SEC-09)."""

    scope = models.CharField(_("scope"), max_length=10, choices=SignInScope.choices)
    key = models.CharField(_("key"), max_length=150)
    until = models.DateTimeField(_("locked until"))

    class Meta:
        verbose_name = _("sign-in lock")
        verbose_name_plural = _("sign-in locks")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="auth_lock_scope_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} until {self.until:%Y-%m-%d %H:%M}"


class RateCounter(models.Model):
    """Requests counted for one rate-limit rule and one client in the current fixed window (SEC-30).

    ``key`` is a keyed hash of rule and client (a phone number is never stored in clear).
    """

    key = models.CharField(max_length=64, unique=True)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate counter")
        verbose_name_plural = _("rate counters")
        indexes = [models.Index(fields=["window_start"], name="rate_counter_window_idx")]

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.hits}"


class IdempotencyKey(models.Model):
    """One creating request, by its client's key (REL-20): a replay of the same key gets the first
    response back instead of doing the work twice.

    ``scope`` is whose key it is (``user:<id>``, or a hash of an API client's credentials); the
    response kept is a success (status below 400) without cookies, for ``LAOJIAN_IDEMPOTENCY_HOURS``.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("being processed")
        DONE = "done", _("done")

    scope = models.CharField(_("scope"), max_length=80)
    key = models.CharField(_("key"), max_length=80)
    path = models.CharField(_("path"), max_length=300)
    body_sha256 = models.CharField(_("request SHA-256"), max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    headers = models.JSONField(_("response headers"), default=dict, blank=True)
    body = models.BinaryField(_("response body"), blank=True, default=b"")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:12]}… {self.state}"


class DeadLetter(models.Model):
    """A background task that failed its last attempt (REL-31): what it was asked, how often it was
    tried and why it failed, kept for an administrator to look into and send again."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"))
    error = models.TextField(_("error"))
    failed_at = models.DateTimeField(_("failed at"), default=timezone.now)
    retried_at = models.DateTimeField(_("sent again at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-failed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task} ({self.attempts}×) {self.failed_at:%Y-%m-%d %H:%M}"
