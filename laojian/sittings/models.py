"""Appraisal in four modes (鉴定方式): sittings, the clinic, home visits and remote appraisal.

- A **Sitting** (鉴定场次) is a planned day at a venue: its cases are grouped by category into
  **SittingGroup**s, one room and one drawn panel each; on the day the sign-in desk gives queue
  numbers and each room calls its next number.
- The **clinic** (鉴定门诊) runs on a weekly **RosterEntry** table (which expert sits which half-day
  for which specialty); its bookable slots are computed from it, never stored.
- Every mode books an **Appointment** for the case: when, where, who, and afterwards what happened
  (attendance). A case has at most one live appointment; a moved one is kept, marked rescheduled.
- **ExtraExamination**: an examination the panel orders (which, where, by when); the case waits.
- **ExaminationRecord**: a photo or video of the examination, kept privately with its SHA-256.

Business rules live in ``services.py`` (writes) and ``selectors.py`` (reads).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.cases.models import MaterialsStorage, Mode
from laojian.core.fields import EncryptedCharField, EncryptedTextField
from laojian.core.models import Committee, TimeStampedModel

__all__ = ["Mode"]  # re-exported: an appointment's mode is the case's


# What the worker brings, unless the planner says otherwise (printed on the notice).
DEFAULT_BRING = "身份证原件、病历及影像资料原件"


def _random_key() -> str:
    return secrets.token_urlsafe(24)


def record_upload_to(instance: ExaminationRecord, filename: str) -> str:
    """A server-made random name; the extension comes from the checked content."""
    suffix = PurePosixPath(filename).suffix.lower()
    token = uuid.uuid4().hex
    return f"examinations/{token[:2]}/{token}{suffix if suffix in {'.jpg', '.png', '.pdf', '.mp4', '.webm'} else ''}"


class Half(models.TextChoices):
    """The two half-days a clinic roster and the day views are cut into."""

    MORNING = "am", _("morning")
    AFTERNOON = "pm", _("afternoon")


class SchedulingRules(models.Model):
    """A committee's scheduling rules. Without a row the defaults below apply (``selectors.rules_for``)."""

    committee = models.OneToOneField(Committee, verbose_name=_("committee"), on_delete=models.CASCADE,
                                     related_name="scheduling_rules")
    notice_lead_days = models.PositiveSmallIntegerField(
        _("notice lead time (days)"), default=3,
        help_text=_("The worker is told of the appointment at least this many calendar days ahead."))
    minutes_per_worker = models.PositiveSmallIntegerField(
        _("minutes per worker at a sitting"), default=15)
    workers_per_group = models.PositiveSmallIntegerField(
        _("workers per room at a sitting"), default=12,
        help_text=_("A sitting's cases of one category are split into rooms of at most this many workers."))
    clinic_slot_minutes = models.PositiveSmallIntegerField(_("clinic slot (minutes)"), default=30)
    morning_start = models.TimeField(_("morning starts"), default=dt.time(8, 30))
    morning_end = models.TimeField(_("morning ends"), default=dt.time(12, 0))
    afternoon_start = models.TimeField(_("afternoon starts"), default=dt.time(14, 0))
    afternoon_end = models.TimeField(_("afternoon ends"), default=dt.time(17, 30))

    class Meta:
        verbose_name = _("scheduling rules")
        verbose_name_plural = _("scheduling rules")

    def __str__(self) -> str:
        return str(self.committee)

    def half_bounds(self, half: str) -> tuple[dt.time, dt.time]:
        if half == Half.MORNING:
            return self.morning_start, self.morning_end
        return self.afternoon_start, self.afternoon_end


class Venue(TimeStampedModel):
    """Where sittings and clinics are held (鉴定场所): a hall with rooms, or a hospital's clinic floor."""

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="venues")
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200)
    directions = models.CharField(_("how to get there"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        constraints = [models.UniqueConstraint(fields=["committee", "name"], name="venue_name_unique")]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    venue = models.ForeignKey(Venue, verbose_name=_("venue"), on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("name"), max_length=50, help_text=_("e.g. 第一鉴定室"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["venue", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["venue", "name"], name="room_name_unique")]

    def __str__(self) -> str:
        return f"{self.venue} {self.name}"


class Sitting(TimeStampedModel):
    """A sitting (鉴定场次): one day at one venue, several rooms, one panel per room."""

    class State(models.TextChoices):
        PLANNED = "planned", _("planned")
        HELD = "held", _("held")
        CANCELLED = "cancelled", _("cancelled")

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="sittings")
    date = models.DateField(_("date"))
    venue = models.ForeignKey(Venue, verbose_name=_("venue"), on_delete=models.PROTECT, related_name="sittings")
    starts_at = models.TimeField(_("starts at"))
    ends_at = models.TimeField(_("ends at"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PLANNED)
    non_working_reason = models.CharField(
        _("why on a non-working day"), max_length=200, blank=True,
        help_text=_("Required when the date is a weekend or public holiday."))
    bring = models.CharField(_("what to bring"), max_length=200, default=DEFAULT_BRING)
    note = models.TextField(_("note"), blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    # The wall display opens /sittings/screen/<token>/ without signing in: it shows masked names only.
    screen_token = models.CharField(_("waiting-room screen key"), max_length=40, unique=True, default=_random_key)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("planned by"), on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("sitting")
        verbose_name_plural = _("sittings")
        ordering = ["date", "starts_at", "id"]
        indexes = [models.Index(fields=["committee", "date"], name="sitting_committee_date_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="sitting_time_order",
                                   violation_error_message=_("A sitting must end after it starts.")),
        ]
        permissions = [
            ("plan_sitting", "Can plan sittings, rosters, home visits and remote appraisals"),
            ("run_sign_in_desk", "Can sign workers in and call the queue"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.venue}"


class SittingGroup(models.Model):
    """One room of a sitting with its cases of one category set and one drawn panel."""

    sitting = models.ForeignKey(Sitting, verbose_name=_("sitting"), on_delete=models.CASCADE, related_name="groups")
    room = models.ForeignKey(Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField(_("categories"), default=list)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("sitting room")
        verbose_name_plural = _("sitting rooms")
        ordering = ["sitting", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["sitting", "room"], name="sitting_group_room_unique")]

    def __str__(self) -> str:
        return f"{self.sitting} {self.room.name}"


class RosterEntry(TimeStampedModel):
    """One line of the clinic's weekly duty roster (门诊排班): an expert sits this half-day every week."""

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="roster_entries")
    expert = models.ForeignKey("experts.Expert", verbose_name=_("expert"), on_delete=models.PROTECT,
                               related_name="roster_entries")
    specialty = models.ForeignKey("experts.Specialty", verbose_name=_("specialty"), on_delete=models.PROTECT,
                                  related_name="+")
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=[(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
                               (4, _("Friday")), (5, _("Saturday")), (6, _("Sunday"))])
    half = models.CharField(_("half-day"), max_length=2, choices=Half.choices)
    venue = models.ForeignKey(Venue, verbose_name=_("venue"), on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(Room, verbose_name=_("room"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("Empty: until further notice."))

    class Meta:
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")
        ordering = ["weekday", "half", "id"]
        indexes = [models.Index(fields=["committee", "weekday", "half"], name="roster_committee_day_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True)
                                   | models.Q(valid_to__gte=models.F("valid_from")),
                                   name="roster_validity_order",
                                   violation_error_message=_("The roster line cannot end before it starts.")),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.get_half_display()} {self.expert}"


class Appointment(TimeStampedModel):
    """A case's appointment in one of the four modes, and what happened at it.

    Live (booked or checked in) appointments hold their worker, room and experts: the services
    refuse an overlapping one. A clinic slot (expert, start) is unique among live and examined
    appointments, so two clerks booking the same slot at once cannot both succeed.
    """

    class State(models.TextChoices):
        BOOKED = "booked", _("booked")
        CHECKED_IN = "checked_in", _("signed in")
        EXAMINED = "examined", _("examined")
        EXCUSED = "excused", _("absent with good reason")
        ABSENT = "absent", _("absent without good reason")
        REFUSED = "refused", _("refused the examination")
        RESCHEDULED = "rescheduled", _("rescheduled")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="appointments")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="appointments", db_index=False)
    mode = models.CharField(_("appraisal mode"), max_length=10, choices=Mode.choices)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.BOOKED)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place"), max_length=300, help_text=_("As the notice prints it."))
    bring = models.CharField(_("what to bring"), max_length=200, blank=True)
    # Sitting
    sitting = models.ForeignKey(Sitting, verbose_name=_("sitting"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="appointments")
    group = models.ForeignKey(SittingGroup, verbose_name=_("room"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="appointments")
    queue_number = models.PositiveSmallIntegerField(_("queue number"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("signed in by"), null=True,
                                      blank=True, on_delete=models.PROTECT, related_name="+")
    photo_matched = models.BooleanField(_("photo compared with the worker"), default=False)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    # Clinic
    expert = models.ForeignKey("experts.Expert", verbose_name=_("clinic expert"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="clinic_appointments")
    roster_entry = models.ForeignKey(RosterEntry, verbose_name=_("roster entry"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="appointments")
    # Home visit
    address = models.CharField(_("visit address"), max_length=200, blank=True)
    staff_member = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff member (identity check)"),
                                     null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    route_order = models.PositiveSmallIntegerField(_("order on the day's route"), null=True, blank=True)
    family_phone = EncryptedCharField(_("family contact phone"), max_length=20, blank=True)
    # Remote
    video_room = models.CharField(_("video room"), max_length=300, blank=True)
    local_doctor = models.CharField(_("local examining doctor"), max_length=100, blank=True)
    local_findings = EncryptedTextField(_("local doctor's findings"), blank=True)
    recording_consent = models.BooleanField(_("worker consents to recording"), null=True, blank=True)
    consent_recorded_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    # Who recorded the answer and which text the worker was read (core.purposes.CONSENT_TEXTS; SEC-60).
    consent_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("consent recorded by"),
                                            null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    consent_text_version = models.CharField(_("consent text version"), max_length=20, blank=True)
    # Afterwards
    outcome_note = models.TextField(_("note on attendance"), blank=True)
    outcome_at = models.DateTimeField(_("attendance recorded at"), null=True, blank=True)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("attendance recorded by"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    previous = models.OneToOneField("self", verbose_name=_("replaces"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="next")
    lead_warning = models.CharField(_("short-notice warning accepted"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("booked by"), on_delete=models.PROTECT,
                                   related_name="+")

    LIVE = (State.BOOKED, State.CHECKED_IN)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["committee", "starts_at"], name="appointment_committee_at_idx"),
            models.Index(fields=["case", "state"], name="appointment_case_idx"),
            models.Index(fields=["expert", "starts_at"], name="appointment_expert_at_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=models.Q(state__in=["booked", "checked_in"]),
                                    name="one_live_appointment_per_case",
                                    violation_error_message=_("This case already has an appointment.")),
            models.UniqueConstraint(fields=["expert", "starts_at"],
                                    condition=models.Q(expert__isnull=False,
                                                       state__in=["booked", "checked_in", "examined"]),
                                    name="clinic_slot_unique",
                                    violation_error_message=_("This clinic slot is already booked.")),
            models.UniqueConstraint(fields=["sitting", "queue_number"], condition=models.Q(queue_number__isnull=False),
                                    name="sitting_queue_number_unique"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="appointment_time_order",
                                   violation_error_message=_("An appointment must end after it starts.")),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_mode_display()} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE


class ExtraExamination(TimeStampedModel):
    """An examination the panel orders before it can give its opinion (which, where, by when)."""

    class State(models.TextChoices):
        ORDERED = "ordered", _("ordered")
        RECEIVED = "received", _("result received")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="extra_examinations")
    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="extra_examinations")
    what = models.CharField(_("examination"), max_length=200, help_text=_("e.g. 右手正侧位X线片"))
    where = models.CharField(_("where"), max_length=200, help_text=_("e.g. 聊城市人民医院放射科"))
    due = models.DateField(_("result due by"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ORDERED)
    result_note = models.TextField(_("result"), blank=True)
    received_on = models.DateField(_("result received on"), null=True, blank=True)
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("ordered by"), on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("extra examination")
        verbose_name_plural = _("extra examinations")
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return self.what


class ExaminationRecord(models.Model):
    """A photo or video taken at the examination, stored privately like a material (never by URL)."""

    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="examination_records")
    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="records")
    file = models.FileField(_("file"), storage=MaterialsStorage(), upload_to=record_upload_to, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("examination record")
        verbose_name_plural = _("examination records")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def committee_id(self) -> int:
        return self.case.committee_id


class CalendarFeed(models.Model):
    """The secret address of a user's iCalendar feed (an expert's appointments in their calendar app).

    Calendar apps cannot sign in, so the feed is read with a long random key; the user can replace it
    (the old address stops working). The feed names case numbers, times and places, never a worker.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                                related_name="calendar_feed")
    token = models.CharField(_("key"), max_length=40, unique=True, default=_random_key)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return str(self.user)
