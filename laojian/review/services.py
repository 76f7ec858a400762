"""Writes of the collective discussion (集体讨论): convene, the agenda, attendance, recusals, motions
and votes, the decision, the signed minutes and closing.

The rules every function keeps:
- a meeting belongs to one committee; its members and cases are that committee's;
- a case is decided only while the members present and not recused from it reach the quorum the
  committee set when the meeting was convened, and a motion passes when more than half of them vote
  for it;
- a member who sat on the case's panel, or whom the expert pool reports a conflict for, is recused
  automatically; recusals are recorded and never deleted;
- once anyone has signed the minutes, the records of the meeting do not change.
Every step runs in one transaction and writes the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.selectors import case_get_for
from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.documents import services as document_services
from laojian.experts import selectors as expert_selectors
from laojian.grading import services as grading_services
from laojian.review import selectors as sel
from laojian.review.models import AgendaItem, Discussion, Member, Motion, Recusal, Vote

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User

MINUTES_KIND = "discussion_minutes"


class DiscussionRefused(ApplicationError):
    code = "discussion_refused"


@dataclass
class MotionInput:
    """What the chair proposes on a case: a conclusion with its values, a second-opinion panel, or
    more examinations (which, where, by when)."""

    decision: str
    clauses: list[str] = field(default_factory=list)
    grade: int | None = None
    care_level: str = "none"
    medical_dependency: str = "none"
    months: int | None = None
    basis: str = ""
    examinations: str = ""
    examinations_where: str = ""
    examinations_by: dt.date | None = None


# LOCKS AND CHECKS ---------------------------------------------------------------------------------

def _lock(discussion_id: int, actor: User) -> Discussion:
    """The meeting, row-locked, if the actor may see it (else NotFoundError)."""
    discussion = (sel.discussions_visible_to(actor).select_for_update().select_related("committee", "convened_by")
                  .filter(pk=discussion_id).first())
    if discussion is None:
        raise NotFoundError()
    return discussion


def _require_chair(discussion: Discussion, actor: User) -> None:
    if not actor.has_perm(sel.CONVENE) or discussion.convened_by_id != actor.pk:
        raise PermissionDeniedError(_("Only the leader who convened this discussion chairs it."))


def _require_state(discussion: Discussion, *states: str) -> None:
    if discussion.state not in states:
        raise DiscussionRefused(
            _("This is not possible while the discussion is “%(state)s”.") % {"state": discussion.get_state_display()},
            code="wrong_state")


def _require_unsigned(discussion: Discussion) -> None:
    if sel.signed(discussion):
        raise DiscussionRefused(_("The minutes have been signed: the records of this discussion can no longer "
                                  "change."), code="minutes_signed")


def _require_quorum(item: AgendaItem) -> list[Member]:
    """The members who may vote on the case, if they reach the quorum."""
    voters = sel.voters(item)
    if len(voters) < item.discussion.quorum:
        raise DiscussionRefused(
            _("Only %(count)d members present and not recused can decide case %(case)s; the quorum is "
              "%(quorum)d.") % {"count": len(voters), "case": _case_label(item.case),
                                "quorum": item.discussion.quorum}, code="no_quorum")
    return voters


def _require_undecided(item: AgendaItem) -> None:
    if item.decision:
        raise DiscussionRefused(_("Case %(case)s has been decided: there is one decision per case.")
                                % {"case": _case_label(item.case)}, code="decided")


def _case_label(case: Case) -> str:
    return case.number or f"#{case.pk}"


def _item(discussion: Discussion, item_id: int) -> AgendaItem:
    item = sel.item_get(discussion, item_id)
    item.discussion = discussion
    return item


def _discussable(case: Case, discussion: Discussion, actor: User) -> None:
    if case.committee_id != discussion.committee_id:
        raise NotFoundError()
    if case.status != Status.DIFFICULT:
        raise DiscussionRefused(
            _("Case %(case)s is “%(status)s”: only difficult cases go to collective discussion.")
            % {"case": _case_label(case), "status": case.get_status_display()}, code="not_difficult")
    other = sel.pending_discussion_of(case, exclude=discussion if discussion.pk else None)
    if other is not None:
        raise DiscussionRefused(_("Case %(case)s is already on the agenda of the discussion of %(date)s.")
                                % {"case": _case_label(case), "date": date_format(other.held_on)},
                                code="already_on_agenda")


def _scheduled(case: Case, discussion: Discussion, actor: User) -> None:
    case_services.timeline_add(case.pk, "discussion_scheduled", actor=actor,
                               note=_("Collective discussion on %(date)s, %(place)s.")
                               % {"date": date_format(discussion.held_on), "place": discussion.place or "—"},
                               data={"discussion_id": discussion.pk})


# RECUSALS -----------------------------------------------------------------------------------------

def _recuse_automatically(item: AgendaItem, actor: User) -> list[Recusal]:
    """Recuse the members who sat on the case's panels or whom the expert pool reports a conflict for."""
    members = sel.members(item.discussion)
    already = sel.recused_member_ids(item)
    panels = sel.panel_members_of(item.case)
    conflicts = expert_selectors.conflicts_of_users(item.case, [m.user_id for m in members])
    made = []
    for member in members:
        if member.pk in already:
            continue
        reasons = []
        if panels.get(member.user_id) == "first":
            reasons.append(_("sat on the case's expert panel"))
        elif panels.get(member.user_id) == "second":
            reasons.append(_("sat on the case's second-opinion panel"))
        if conflicts.get(member.user_id):
            reasons.append(str(conflicts[member.user_id]))
        if not reasons:
            continue
        recusal = Recusal.objects.create(item=item, member=member, reason="; ".join(reasons), automatic=True,
                                         recorded_by=actor)
        audit.record("discussion.recuse", actor=actor, obj=item.discussion, committee=item.discussion.committee,
                     after={"case_id": item.case_id, "member": member.user_id, "reason": recusal.reason,
                            "automatic": True})
        made.append(recusal)
    return made


def recusal_add(discussion_id: int, item_id: int, member_user_id: int, *, actor: User, reason: str) -> Recusal:
    """Recuse a member from one case: the chair records it, or the member declares it themself."""
    reason = (reason or "").strip()
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_state(discussion, Discussion.State.PLANNED, Discussion.State.OPEN)
        _require_unsigned(discussion)
        item = _item(discussion, item_id)
        member = discussion.members.filter(user_id=member_user_id).select_related("user").first()
        if member is None:
            raise NotFoundError()
        chair = actor.has_perm(sel.CONVENE) and discussion.convened_by_id == actor.pk
        if not chair and member.user_id != actor.pk:
            raise PermissionDeniedError(_("A member is recused by the chair or declares it themself."))
        _require_undecided(item)
        if sel.open_motion(item) is not None:
            raise DiscussionRefused(_("A motion on this case is being voted on: close the vote first."),
                                    code="vote_open")
        if not reason:
            raise ValidationFailed(_("Give the reason for the recusal."), code="reason_required")
        if Recusal.objects.filter(item=item, member=member).exists():
            raise DiscussionRefused(_("%(member)s is already recused from this case.") % {"member": member.user},
                                    code="already_recused")
        recusal = Recusal.objects.create(item=item, member=member, reason=reason, automatic=False, recorded_by=actor)
        audit.record("discussion.recuse", actor=actor, obj=discussion, committee=discussion.committee,
                     after={"case_id": item.case_id, "member": member.user_id, "reason": reason, "automatic": False})
    return recusal


# CONVENING AND THE AGENDA -------------------------------------------------------------------------

def discussion_convene(*, actor: User, held_on: dt.date, place: str, member_ids: list[int],
                       case_ids: list[int]) -> Discussion:
    """The leader convenes a meeting of their committee: its date and place, the members invited
    (the leader is one), the difficult cases on the agenda. The committee's quorum is copied."""
    if not actor.has_perm(sel.CONVENE) or not actor.committee_id:
        raise PermissionDeniedError(_("Only a committee leader convenes a collective discussion."))
    committee = actor.committee
    place = (place or "").strip()
    if held_on is None:
        raise ValidationFailed(_("Give the date of the discussion."), code="date_required")
    wanted = list(dict.fromkeys([actor.pk, *member_ids]))
    eligible = {u.pk: u for u in sel.eligible_members(committee).filter(pk__in=wanted)}
    if actor.pk not in eligible:
        raise PermissionDeniedError(_("You cannot sit in a collective discussion, so you cannot convene one."))
    unknown = [pk for pk in wanted if pk not in eligible]
    if unknown:
        raise ValidationFailed(_("Only active members of the committee who sit in collective discussions can be "
                                 "invited."), code="not_eligible", extra={"fields": {"members": unknown}})
    if len(wanted) < committee.discussion_quorum:
        raise ValidationFailed(
            _("%(count)d members are invited; the quorum is %(quorum)d: invite at least %(quorum)d.")
            % {"count": len(wanted), "quorum": committee.discussion_quorum}, code="below_quorum")
    case_ids = list(dict.fromkeys(case_ids))
    if not case_ids:
        raise ValidationFailed(_("Put at least one difficult case on the agenda."), code="no_cases")
    with transaction.atomic():
        discussion = Discussion(committee=committee, held_on=held_on, place=place,
                                quorum=committee.discussion_quorum, convened_by=actor)
        cases = []
        for case_id in case_ids:
            case = case_get_for(actor, case_id)
            _discussable(case, discussion, actor)
            cases.append(case)
        discussion.save()
        Member.objects.bulk_create(Member(discussion=discussion, user_id=pk) for pk in wanted)
        audit.record("discussion.convene", actor=actor, obj=discussion, committee=committee,
                     after={"held_on": held_on, "place": place, "quorum": discussion.quorum,
                            "members": wanted, "cases": [c.pk for c in cases]})
        for position, case in enumerate(cases):
            item = AgendaItem.objects.create(discussion=discussion, case=case, position=position)
            _scheduled(case, discussion, actor)
            _recuse_automatically(item, actor)
    return discussion


def agenda_add(discussion_id: int, case_id: int, *, actor: User) -> AgendaItem:
    """Put another difficult case on a planned meeting's agenda."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_chair(discussion, actor)
        _require_state(discussion, Discussion.State.PLANNED)
        case = case_get_for(actor, case_id)
        _discussable(case, discussion, actor)
        position = (discussion.items.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        item = discussion.items.filter(case=case).first()
        if item is not None and item.removed_at is None:
            raise DiscussionRefused(_("Case %(case)s is already on the agenda.") % {"case": _case_label(case)},
                                    code="already_on_agenda")
        if item is None:
            item = AgendaItem.objects.create(discussion=discussion, case=case, position=position)
        else:  # back on the agenda: its earlier recusals stand
            item.removed_at, item.position = None, position
            item.save(update_fields=["removed_at", "position", "updated_at"])
        item.discussion = discussion
        audit.record("discussion.agenda_add", actor=actor, obj=discussion, committee=discussion.committee,
                     after={"case_id": case.pk})
        _scheduled(case, discussion, actor)
        _recuse_automatically(item, actor)
    return item


def agenda_remove(discussion_id: int, item_id: int, *, actor: User) -> AgendaItem:
    """Take a case off a planned meeting's agenda (the item and its recusals are kept)."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_chair(discussion, actor)
        _require_state(discussion, Discussion.State.PLANNED)
        item = _item(discussion, item_id)
        if discussion.items.filter(removed_at=None).count() <= 1:
            raise DiscussionRefused(_("A discussion needs at least one case on its agenda."), code="no_cases")
        item.removed_at = timezone.now()
        item.save(update_fields=["removed_at", "updated_at"])
        audit.record("discussion.agenda_remove", actor=actor, obj=discussion, committee=discussion.committee,
                     after={"case_id": item.case_id})
        case_services.timeline_add(item.case_id, "discussion_unscheduled", actor=actor,
                                   note=_("Taken off the agenda of the collective discussion of %(date)s.")
                                   % {"date": date_format(discussion.held_on)},
                                   data={"discussion_id": discussion.pk})
    return item


# THE MEETING --------------------------------------------------------------------------------------

def discussion_open(discussion_id: int, *, actor: User, present_ids: list[int]) -> Discussion:
    """The chair opens the meeting with the attendance (the chair is present); a meeting without a
    quorum present cannot sit. Recusals are looked up again for every case."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_chair(discussion, actor)
        _require_state(discussion, Discussion.State.PLANNED)
        members = sel.members(discussion)
        invited = {m.user_id for m in members}
        present = set(present_ids) | {actor.pk}
        if present - invited:
            raise ValidationFailed(_("Only invited members can be marked present."), code="not_invited")
        if len(present) < discussion.quorum:
            raise DiscussionRefused(_("%(count)d members are present; the quorum is %(quorum)d: the discussion "
                                      "cannot sit.") % {"count": len(present), "quorum": discussion.quorum},
                                    code="no_quorum")
        items = sel.agenda(discussion)
        for item in items:
            if item.case.status != Status.DIFFICULT:
                raise DiscussionRefused(
                    _("Case %(case)s is now “%(status)s”: take it off the agenda first.")
                    % {"case": _case_label(item.case), "status": item.case.get_status_display()},
                    code="not_difficult")
        discussion.members.update(present=False)
        discussion.members.filter(user_id__in=present).update(present=True)
        discussion.state = Discussion.State.OPEN
        discussion.opened_at = timezone.now()
        discussion.save(update_fields=["state", "opened_at", "updated_at"])
        audit.record("discussion.open", actor=actor, obj=discussion, committee=discussion.committee,
                     after={"present": sorted(present), "absent": sorted(invited - present)})
        for item in items:
            item.discussion = discussion
            _recuse_automatically(item, actor)
    return discussion


def notes_save(discussion_id: int, item_id: int, *, actor: User, notes: str) -> AgendaItem:
    """The chair keeps the discussion notes of a case while the meeting sits."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_chair(discussion, actor)
        _require_state(discussion, Discussion.State.OPEN)
        _require_unsigned(discussion)
        item = _item(discussion, item_id)
        before = item.notes
        item.notes = (notes or "").strip()
        item.save(update_fields=["notes", "updated_at"])
        audit.record("discussion.notes", actor=actor, obj=discussion, committee=discussion.committee,
                     before={"case_id": item.case_id, "notes": before},
                     after={"case_id": item.case_id, "notes": item.notes})
    return item


def _conclusion_input(motion: Motion | MotionInput, reference: str = "") -> grading_services.DiscussionConclusion:
    return grading_services.DiscussionConclusion(
        clauses=list(motion.clauses), grade=motion.grade, care_level=motion.care_level,
        medical_dependency=motion.medical_dependency, months=motion.months, basis=motion.basis,
        reference=reference)


def motion_propose(discussion_id: int, item_id: int, data: MotionInput, *, actor: User) -> Motion:
    """The chair puts a motion on a case to the vote; a conclusion is checked against the standard now."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_chair(discussion, actor)
        _require_state(discussion, Discussion.State.OPEN)
        _require_unsigned(discussion)
        item = _item(discussion, item_id)
        _require_undecided(item)
        if sel.open_motion(item) is not None:
            raise DiscussionRefused(_("A motion on this case is already being voted on."), code="vote_open")
        if item.case.status != Status.DIFFICULT:
            raise DiscussionRefused(_("Case %(case)s is “%(status)s”: it can no longer be decided here.")
                                    % {"case": _case_label(item.case), "status": item.case.get_status_display()},
                                    code="not_difficult")
        _require_quorum(item)
        motion = Motion(item=item, decision=data.decision, proposed_by=actor)
        if data.decision == AgendaItem.Decision.CONCLUDE:
            data.clauses = [c.strip() for c in data.clauses if c and c.strip()]
            data.basis = (data.basis or "").strip()
            grading_services.check_discussion_conclusion(item.case, _conclusion_input(data))
            motion.clauses, motion.grade, motion.care_level = data.clauses, data.grade, data.care_level
            motion.medical_dependency, motion.months, motion.basis = data.medical_dependency, data.months, data.basis
        elif data.decision == AgendaItem.Decision.EXAMINATIONS:
            which, where = (data.examinations or "").strip(), (data.examinations_where or "").strip()
            if not which or not where or data.examinations_by is None:
                raise ValidationFailed(_("Say which examinations, where, and by when."), code="examinations_missing")
            if data.examinations_by < discussion.held_on:
                raise ValidationFailed(_("The examinations cannot be due before the discussion."),
                                       code="examinations_past")
            motion.examinations, motion.examinations_where, motion.examinations_by = which, where, data.examinations_by
        elif data.decision != AgendaItem.Decision.SECOND_OPINION:
            raise ValidationFailed(_("Choose what the motion proposes."), code="bad_decision")
        motion.save()
        audit.record("discussion.motion_propose", actor=actor, obj=motion, committee=discussion.committee,
                     after={"discussion_id": discussion.pk, "case_id": item.case_id, "decision": motion.decision,
                            "grade": motion.grade, "clauses": motion.clauses, "care_level": motion.care_level,
                            "medical_dependency": motion.medical_dependency, "months": motion.months,
                            "examinations": motion.examinations, "where": motion.examinations_where,
                            "by": motion.examinations_by})
    return motion


def vote_cast(discussion_id: int, motion_id: int, choice: str, *, actor: User,
              member_user_id: int | None = None) -> Vote:
    """A member votes on their own device, or the chair records the vote of a member in the room.
    Absent and recused members cannot vote; a vote may be changed until the vote is closed."""
    if choice not in Vote.Choice.values:
        raise ValidationFailed(_("Vote for, against, or abstain."), code="bad_choice")
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_state(discussion, Discussion.State.OPEN)
        _require_unsigned(discussion)
        motion = sel.motion_get(discussion, motion_id)
        member_user_id = actor.pk if member_user_id is None else member_user_id
        if member_user_id != actor.pk:
            _require_chair(discussion, actor)
        elif not actor.has_perm(sel.TAKE_PART):
            raise PermissionDeniedError(_("Your role cannot vote in a collective discussion."))
        member = discussion.members.filter(user_id=member_user_id).select_related("user").first()
        if member is None:
            raise PermissionDeniedError(_("Only the members of this discussion vote."))
        if motion.result != Motion.Result.OPEN:
            raise DiscussionRefused(_("The vote on this motion is closed."), code="vote_closed")
        if not member.present:
            raise DiscussionRefused(_("%(member)s is not present and cannot vote.") % {"member": member.user},
                                    code="absent")
        if Recusal.objects.filter(item=motion.item, member=member).exists():
            raise DiscussionRefused(_("%(member)s is recused from this case and cannot vote.")
                                    % {"member": member.user}, code="recused")
        vote = Vote.objects.filter(motion=motion, member=member).first()
        before = {"choice": vote.choice} if vote else None
        if vote is None:
            vote = Vote(motion=motion, member=member)
        vote.choice, vote.recorded_by = choice, actor
        vote.save()
        audit.record("discussion.vote", actor=actor, obj=motion, committee=discussion.committee, before=before,
                     after={"member": member.user_id, "choice": choice, "case_id": motion.item.case_id})
    return vote


def _reference(discussion: Discussion, motion: Motion) -> str:
    return _("Collective discussion of %(date)s (no. %(discussion)d), motion %(motion)d") % {
        "date": date_format(discussion.held_on), "discussion": discussion.pk, "motion": motion.pk}


def motion_close(discussion_id: int, motion_id: int, *, actor: User) -> Motion:
    """The chair closes the vote. More than half of the members present and not recused voted for
    it: the motion passes and is the case's decision. Otherwise it fails and another may follow."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_chair(discussion, actor)
        _require_state(discussion, Discussion.State.OPEN)
        _require_unsigned(discussion)
        motion = sel.motion_get(discussion, motion_id)
        if motion.result != Motion.Result.OPEN:
            raise DiscussionRefused(_("The vote on this motion is closed."), code="vote_closed")
        item = motion.item
        item.discussion = discussion
        _require_undecided(item)
        voters = _require_quorum(item)
        result = sel.tally(motion, voters)
        motion.result = Motion.Result.PASSED if result.passes else Motion.Result.FAILED
        motion.closed_at = timezone.now()
        motion.save(update_fields=["result", "closed_at", "updated_at"])
        audit.record("discussion.motion_close", actor=actor, obj=motion, committee=discussion.committee,
                     after={"case_id": item.case_id, "result": motion.result, "for": result.votes_for,
                            "against": result.against, "abstain": result.abstain, "eligible": result.eligible})
        if result.passes:
            _decide(discussion, item, motion, actor)
    return motion


def _decide(discussion: Discussion, item: AgendaItem, motion: Motion, actor: User) -> None:
    item.decision = motion.decision
    item.decided_at = timezone.now()
    item.save(update_fields=["decision", "decided_at", "updated_at"])
    case = item.case
    if motion.decision == AgendaItem.Decision.CONCLUDE:
        grading_services.conclusion_from_discussion(
            case.pk, _conclusion_input(motion, reference=_reference(discussion, motion)), actor=actor)
        note = _("The collective discussion of %(date)s decided the conclusion: %(text)s") % {
            "date": date_format(discussion.held_on), "text": sel.decision_text(item)}
    elif motion.decision == AgendaItem.Decision.SECOND_OPINION:
        note = _("The collective discussion of %(date)s decided that a second-opinion panel is to be drawn.") % {
            "date": date_format(discussion.held_on)}
    else:
        note = _("The collective discussion of %(date)s asked for more examinations: %(which)s; where: %(where)s; "
                 "by %(by)s. The case stays difficult until they are done.") % {
            "date": date_format(discussion.held_on), "which": motion.examinations, "where": motion.examinations_where,
            "by": date_format(motion.examinations_by)}
    case_services.timeline_add(case.pk, "discussion_decided", actor=actor, note=note,
                               data={"discussion_id": discussion.pk, "decision": motion.decision,
                                     "motion_id": motion.pk})
    audit.record("discussion.decide", actor=actor, obj=discussion, committee=discussion.committee,
                 after={"case_id": case.pk, "decision": motion.decision, "motion_id": motion.pk})


# THE MINUTES --------------------------------------------------------------------------------------

def minutes_sign(discussion_id: int, *, actor: User, password: str, ip_address: str = "") -> Member:
    """A member present signs the minutes by entering their password again. The first signature
    fixes the text (generated from the records, which are frozen from then on); every signature
    is the SHA-256 of that text."""
    with transaction.atomic():
        discussion = _lock(discussion_id, actor)
        _require_state(discussion, Discussion.State.OPEN)
        member = discussion.members.select_for_update().filter(user=actor).first()
        if member is None or not member.present:
            raise PermissionDeniedError(_("The minutes are signed by the members present."))
        if member.signed_at:
            raise DiscussionRefused(_("You have already signed these minutes."), code="already_signed")
        if Motion.objects.filter(item__discussion=discussion, item__removed_at=None,
                                 result=Motion.Result.OPEN).exists():
            raise DiscussionRefused(_("A vote is still open: close it before the minutes are signed."),
                                    code="vote_open")
        if not password or not actor.check_password(password):
            raise DiscussionRefused(_("The password is not correct; the minutes were not signed."),
                                    code="bad_password")
        if not discussion.minutes_sha256:
            minutes = sel.minutes_of(discussion)
            discussion.minutes_text, discussion.minutes_sha256 = minutes.text, minutes.sha256
            discussion.save(update_fields=["minutes_text", "minutes_sha256", "updated_at"])
            for item in sel.agenda(discussion):
                item.minutes_text = minutes.by_item[item.pk]
                item.save(update_fields=["minutes_text", "updated_at"])
        member.signature = discussion.minutes_sha256
        member.signed_at = timezone.now()
        member.save(update_fields=["signature", "signed_at"])
        audit.record("discussion.minutes_sign", actor=actor, obj=discussion, committee=discussion.committee,
                     ip_address=ip_address, after={"signature": member.signature})
    return member


def discussion_close(discussion_id: int, *, actor: User) -> Discussion:
    """When every member present has signed, the chair closes the meeting: each case's minutes are
    issued into its file. All or nothing: if one document fails, none is kept and the meeting stays open."""
    issued = []
    try:
        with transaction.atomic():
            discussion = _lock(discussion_id, actor)
            _require_chair(discussion, actor)
            _require_state(discussion, Discussion.State.OPEN)
            unsigned = [str(m.user) for m in sel.members(discussion) if m.present and not m.signed_at]
            if unsigned or not discussion.minutes_sha256:
                raise DiscussionRefused(_("Every member present signs the minutes first; not yet signed: "
                                          "%(names)s.") % {"names": "、".join(unsigned) or "—"},
                                        code="unsigned")
            for item in sel.agenda(discussion):
                document = document_services.document_issue(
                    item.case_id, MINUTES_KIND, actor=actor, note=item.minutes_text,
                    extra={"discussion": {"held_on": discussion.held_on, "place": discussion.place or "—"}})
                issued.append(document)
                item.minutes_document_id = document.pk
                item.save(update_fields=["minutes_document_id", "updated_at"])
            discussion.state = Discussion.State.CLOSED
            discussion.closed_at = timezone.now()
            discussion.save(update_fields=["state", "closed_at", "updated_at"])
            audit.record("discussion.close", actor=actor, obj=discussion, committee=discussion.committee,
                         after={"documents": [d.pk for d in issued], "minutes_sha256": discussion.minutes_sha256})
    except Exception:
        for document in issued:  # the rows rolled back; their stored files go too
            document.file.storage.delete(document.file.name)
        raise
    return discussion
