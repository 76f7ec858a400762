"""Collective discussion (集体讨论) and re-appraisal at the province (再次鉴定).

A discussion is a meeting: members present (a quorum the committee sets), cases on the agenda.
For each case, motions are put and voted on; the first motion a majority of the present, not
recused members votes for is the decision. The minutes are signed by every member present.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.core.models import Committee, TimeStampedModel


class Discussion(TimeStampedModel):
    class State(models.TextChoices):
        PLANNED = "planned", _("planned")
        OPEN = "open", _("in session")
        CLOSED = "closed", _("closed")

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="+")
    held_on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PLANNED)
    # The committee's quorum when the meeting was convened: a later change does not alter it.
    quorum = models.PositiveSmallIntegerField(_("quorum"))
    convened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("convened by"),
                                    on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The minutes as first signed: every present member signs this text; the records are frozen from then on.
    minutes_text = models.TextField(_("minutes"), blank=True)
    minutes_sha256 = models.CharField(_("SHA-256 of the minutes"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("collective discussion")
        verbose_name_plural = _("collective discussions")
        ordering = ["-held_on", "-id"]
        permissions = [
            ("convene_discussion", "Can convene and chair a collective discussion"),
            ("take_part_in_discussion", "Can sit in a collective discussion"),
        ]

    def __str__(self) -> str:
        return f"{self.held_on} #{self.pk}"


class Member(models.Model):
    """A member invited to a discussion; present or not; their signature of the minutes."""

    discussion = models.ForeignKey(Discussion, verbose_name=_("collective discussion"), on_delete=models.CASCADE,
                                   related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.PROTECT,
                             related_name="+")
    present = models.BooleanField(_("present"), default=False)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signature = models.CharField(_("signature (SHA-256 of the minutes)"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("discussion member")
        verbose_name_plural = _("discussion members")
        ordering = ["discussion", "id"]
        constraints = [models.UniqueConstraint(fields=["discussion", "user"], name="discussion_member_unique")]

    def __str__(self) -> str:
        return str(self.user)


class AgendaItem(TimeStampedModel):
    """One case on a discussion's agenda, with the notes and, once voted, the decision."""

    class Decision(models.TextChoices):
        CONCLUDE = "conclude", _("a conclusion")
        SECOND_OPINION = "second_opinion", _("a second-opinion panel")
        EXAMINATIONS = "examinations", _("more examinations")

    discussion = models.ForeignKey(Discussion, verbose_name=_("collective discussion"), on_delete=models.CASCADE,
                                   related_name="items")
    case = models.ForeignKey("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="discussion_items")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    notes = models.TextField(_("discussion notes"), blank=True)
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Taken off the agenda while the meeting was planned (kept, with its recusals, for the record).
    removed_at = models.DateTimeField(_("taken off the agenda at"), null=True, blank=True)
    # This case's part of the signed minutes (the meeting's header and this case's section).
    minutes_text = models.TextField(_("minutes of this case"), blank=True)
    # The minutes of this case (a document of the case's file), issued when the discussion closes.
    minutes_document_id = models.PositiveBigIntegerField(_("minutes document"), null=True, blank=True)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["discussion", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["discussion", "case"], name="agenda_item_unique")]

    def __str__(self) -> str:
        return f"{self.discussion_id}: {self.case}"


class Recusal(models.Model):
    """A member who does not take part in one case's decision, and why (recorded, never deleted)."""

    item = models.ForeignKey(AgendaItem, verbose_name=_("agenda item"), on_delete=models.CASCADE,
                             related_name="recusals")
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="recusals")
    reason = models.TextField(_("reason"))
    automatic = models.BooleanField(_("found by the system"), default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("recusal")
        verbose_name_plural = _("recusals")
        constraints = [models.UniqueConstraint(fields=["item", "member"], name="recusal_unique")]

    def __str__(self) -> str:
        return f"{self.member}: {self.reason[:40]}"


class Motion(TimeStampedModel):
    """A proposal put to the vote on one agenda item: a conclusion (with its values), a
    second-opinion panel, or more examinations (which, where, by when)."""

    class Result(models.TextChoices):
        OPEN = "open", _("being voted")
        PASSED = "passed", _("passed")
        FAILED = "failed", _("not passed")

    item = models.ForeignKey(AgendaItem, verbose_name=_("agenda item"), on_delete=models.CASCADE,
                             related_name="motions")
    decision = models.CharField(_("proposal"), max_length=20, choices=AgendaItem.Decision.choices)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("proposed by"),
                                    on_delete=models.PROTECT, related_name="+")
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    care_level = models.CharField(_("care dependency"), max_length=10, blank=True)
    medical_dependency = models.CharField(_("medical dependency"), max_length=10, blank=True)
    months = models.PositiveSmallIntegerField(_("months"), null=True, blank=True)
    clauses = models.JSONField(_("clauses"), default=list, blank=True)
    basis = models.TextField(_("basis"), blank=True)
    examinations = models.TextField(_("examinations: which"), blank=True)
    examinations_where = models.CharField(_("examinations: where"), max_length=200, blank=True)
    examinations_by = models.DateField(_("examinations: by when"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, default=Result.OPEN)
    closed_at = models.DateTimeField(_("vote closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("motion")
        verbose_name_plural = _("motions")
        ordering = ["item", "id"]


class Vote(models.Model):
    class Choice(models.TextChoices):
        FOR = "for", _("for")
        AGAINST = "against", _("against")
        ABSTAIN = "abstain", _("abstain")

    motion = models.ForeignKey(Motion, verbose_name=_("motion"), on_delete=models.CASCADE, related_name="votes")
    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField(_("vote"), max_length=10, choices=Choice.choices)
    # The member on their own device, or the chair for a member in the room.
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), auto_now=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [models.UniqueConstraint(fields=["motion", "member"], name="one_vote_per_member")]

    def __str__(self) -> str:
        return f"{self.member}: {self.choice}"


class Reappraisal(TimeStampedModel):
    """A party's request for re-appraisal (再次鉴定) at the provincial committee, the file sent
    there, and the provincial result when it comes back."""

    class Party(models.TextChoices):
        WORKER = "worker", _("the worker")
        EMPLOYER = "employer", _("the employer")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("waiting for the province")
        UPHELD = "upheld", _("upheld")
        CHANGED = "changed", _("changed")

    case = models.OneToOneField("cases.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                                related_name="reappraisal")
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="+")
    requested_on = models.DateField(_("requested on"))
    party = models.CharField(_("requested by"), max_length=10, choices=Party.choices)
    requester_name = models.CharField(_("requester's name"), max_length=100)
    grounds = models.TextField(_("grounds"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="+")
    # The export for the provincial committee (a ZIP of the documents with a manifest of hashes).
    package = models.CharField(_("export package"), max_length=200, blank=True)
    package_sha256 = models.CharField(_("export package SHA-256"), max_length=64, blank=True)
    exported_at = models.DateTimeField(_("exported at"), null=True, blank=True)
    outcome = models.CharField(_("provincial result"), max_length=10, choices=Outcome.choices,
                               default=Outcome.PENDING)
    provincial_number = models.CharField(_("provincial conclusion number"), max_length=60, blank=True)
    provincial_concluded_on = models.DateField(_("provincial conclusion date"), null=True, blank=True)
    provincial_grade = models.PositiveSmallIntegerField(_("provincial grade"), null=True, blank=True)
    provincial_care_level = models.CharField(_("provincial care dependency"), max_length=10, blank=True)
    provincial_months = models.PositiveSmallIntegerField(_("provincial months"), null=True, blank=True)
    result_note = models.TextField(_("note on the result"), blank=True)
    result_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("result recorded by"),
                                           null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    result_recorded_at = models.DateTimeField(_("result recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-appraisal")
        verbose_name_plural = _("re-appraisals")
        ordering = ["-requested_on", "-id"]
        permissions = [("record_reappraisal", "Can record re-appraisal requests and results")]

    def __str__(self) -> str:
        return f"{self.case} ({self.get_outcome_display()})"
