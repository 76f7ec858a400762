"""Reads of the collective discussion (集体讨论): which meetings a user may see, the agenda with its
recusals, motions and votes, who may vote on a case, the opinions side by side, and the minutes.

Every query that returns a discussion starts from ``discussions_visible_to``: a meeting of another
committee is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from laojian.core.errors import NotFoundError
from laojian.grading import rules as grading_rules
from laojian.grading import selectors as grading_selectors
from laojian.review.models import AgendaItem, Discussion, Member, Motion, Reappraisal, Recusal, Vote

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import Committee, User

TAKE_PART = "review.take_part_in_discussion"
CONVENE = "review.convene_discussion"
VIEW = "review.view_discussion"
# The panels whose members are recused from a case's discussion (CaseAssignment roles, any state).
PANEL_ROLES = {"expert": "first", "second_expert": "second"}
PARAGRAPH = "\n\n"


# WHO SEES WHICH MEETING ---------------------------------------------------------------------------

def reads_discussions(user: User) -> bool:
    return any(user.has_perm(p) for p in (CONVENE, TAKE_PART, VIEW))


def discussions_visible_to(user: User | None) -> QuerySet[Discussion]:
    """The leader who convenes and the auditor see every meeting of their committee; other members
    only the meetings they were invited to."""
    if user is None or not user.is_authenticated or not user.is_active or not user.committee_id:
        return Discussion.objects.none()
    mine = Discussion.objects.filter(committee_id=user.committee_id)
    if user.has_perm(CONVENE) or user.has_perm(VIEW):
        return mine
    if user.has_perm(TAKE_PART):
        return mine.filter(members__user=user)
    return Discussion.objects.none()


def discussion_list(user: User) -> QuerySet[Discussion]:
    return discussions_visible_to(user).select_related("convened_by").prefetch_related(
        Prefetch("items", queryset=AgendaItem.objects.filter(removed_at=None).select_related("case")))


def discussion_get_for(user: User | None, pk: int) -> Discussion:
    """Fetch and authorise in one call; NotFoundError for missing and forbidden alike."""
    discussion = discussions_visible_to(user).select_related("committee", "convened_by").filter(pk=pk).first()
    if discussion is None:
        raise NotFoundError()
    return discussion


# WHO MAY BE INVITED, WHICH CASES MAY BE DISCUSSED -------------------------------------------------

def eligible_members(committee: Committee) -> QuerySet[Any]:
    """Active users of the committee who may sit in a collective discussion."""
    return (get_user_model().objects.with_perm(TAKE_PART, include_superusers=False)
            .filter(committee=committee, is_active=True).order_by("display_name", "username"))


def discussable_cases(user: User) -> list[grading_selectors.DifficultCase]:
    """The difficult cases of the user's committee (the leader's queue), nearest deadline first."""
    return [row for row in grading_selectors.difficult_queue(user) if row.case.committee_id == user.committee_id]


def pending_discussion_of(case: Case, *, exclude: Discussion | None = None) -> Discussion | None:
    """A meeting not yet closed with this case on its agenda and no decision on it yet."""
    items = AgendaItem.objects.filter(case=case, removed_at=None, decision="").exclude(
        discussion__state=Discussion.State.CLOSED)
    if exclude is not None:
        items = items.exclude(discussion=exclude)
    item = items.select_related("discussion").first()
    return item.discussion if item else None


def panel_members_of(case: Case) -> dict[int, str]:
    """Users who sat on the case's first or second-opinion panel (any state), with the panel."""
    from laojian.cases.models import CaseAssignment

    seats: dict[int, str] = {}
    for user_id, role in (CaseAssignment.objects.filter(case=case, role__in=list(PANEL_ROLES))
                          .order_by("id").values_list("user_id", "role")):
        seats.setdefault(user_id, PANEL_ROLES[role])
    return seats


# THE MEETING --------------------------------------------------------------------------------------

def members(discussion: Discussion) -> list[Member]:
    return list(discussion.members.select_related("user").order_by("id"))


def member_of(discussion: Discussion, user: User) -> Member | None:
    return discussion.members.filter(user=user).select_related("user").first()


def agenda(discussion: Discussion) -> list[AgendaItem]:
    """The cases on the agenda (not those taken off), with recusals, motions and votes."""
    return list(
        discussion.items.filter(removed_at=None).select_related("case", "case__worker", "case__committee")
        .prefetch_related(
            Prefetch("recusals", queryset=Recusal.objects.select_related("member__user", "recorded_by")
                     .order_by("id")),
            Prefetch("motions", queryset=Motion.objects.select_related("proposed_by").prefetch_related(
                Prefetch("votes", queryset=Vote.objects.select_related("member__user", "recorded_by")
                         .order_by("member_id"))).order_by("id")),
        ).order_by("position", "id"))


def item_get(discussion: Discussion, item_id: int) -> AgendaItem:
    item = discussion.items.filter(pk=item_id, removed_at=None).select_related("case").first()
    if item is None:
        raise NotFoundError()
    return item


def motion_get(discussion: Discussion, motion_id: int) -> Motion:
    motion = Motion.objects.filter(pk=motion_id, item__discussion=discussion, item__removed_at=None).select_related(
        "item", "item__case").first()
    if motion is None:
        raise NotFoundError()
    return motion


def recused_member_ids(item: AgendaItem) -> set[int]:
    return set(Recusal.objects.filter(item=item).values_list("member_id", flat=True))


def voters(item: AgendaItem) -> list[Member]:
    """The members who may vote on a case: present and not recused from it."""
    recused = recused_member_ids(item)
    return [m for m in members(item.discussion) if m.present and m.pk not in recused]


def open_motion(item: AgendaItem) -> Motion | None:
    return item.motions.filter(result=Motion.Result.OPEN).first()


def signed(discussion: Discussion) -> bool:
    """Whether anyone has signed the minutes: from then on the records do not change."""
    return bool(discussion.minutes_sha256)


@dataclass(frozen=True)
class Tally:
    votes_for: int
    against: int
    abstain: int
    not_voted: int
    eligible: int

    @property
    def passes(self) -> bool:
        """A majority of the present, not recused members votes for (more than half)."""
        return self.votes_for * 2 > self.eligible


def tally(motion: Motion, eligible: list[Member]) -> Tally:
    ids = {m.pk for m in eligible}
    choices = [v.choice for v in motion.votes.all() if v.member_id in ids]
    return Tally(votes_for=choices.count(Vote.Choice.FOR), against=choices.count(Vote.Choice.AGAINST),
                 abstain=choices.count(Vote.Choice.ABSTAIN), not_voted=len(ids) - len(choices), eligible=len(ids))


# THE OPINIONS SIDE BY SIDE ------------------------------------------------------------------------

@dataclass
class Comparison:
    """The signed opinions of a case in columns, one row per value, with the rows that differ marked."""

    opinions: list[Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return any(row["differs"] for row in self.rows)


def _opinion_values(opinion: Any) -> dict[str, str]:
    items = list(grading_selectors.opinion_items(opinion))
    return {
        "grade": opinion.grade_label,
        "clauses": "、".join(f"{i.clause.number}（{grading_rules.grade_label(i.grade)}）" for i in items) or "—",
        "care_level": str(opinion.get_care_level_display()),
        "medical_dependency": str(opinion.get_medical_dependency_display()),
        "months": "—" if opinion.months is None else str(opinion.months),
        "basis": opinion.basis or "—",
    }


COMPARED = (("grade", "Grade"), ("clauses", "Clauses"), ("care_level", "Care dependency"),
            ("medical_dependency", "Medical dependency"), ("months", "Months"), ("basis", "Basis"))


def opinions_side_by_side(case: Case) -> Comparison:
    """The panel's signed opinions (and a second-opinion panel's, if the case has one)."""
    opinions = [(_("first panel"), o) for o in grading_selectors.signed_opinions(case).values()]
    opinions += [(_("second-opinion panel"), o) for o in grading_selectors.second_opinions(case).values()]
    values = [_opinion_values(o) for _panel, o in opinions]
    period = case.case_type in grading_selectors.PERIOD_TYPES
    rows = []
    for key, label in COMPARED:
        if key == "months" and not period:
            continue
        cells = [v[key] for v in values]
        rows.append({"key": key, "label": _(label), "cells": cells,
                     "differs": key != "basis" and len(set(cells)) > 1})
    return Comparison(opinions=[{"panel": panel, "opinion": o} for panel, o in opinions], rows=rows)


# THE MINUTES --------------------------------------------------------------------------------------

def _name(user: Any) -> str:
    return str(user)


def motion_text(motion: Motion) -> str:
    if motion.decision == AgendaItem.Decision.CONCLUDE:
        parts = [_("grade: %(grade)s") % {"grade": grading_rules.grade_label(motion.grade)},
                 _("clauses: %(clauses)s") % {"clauses": "、".join(motion.clauses) or "—"},
                 _("care dependency: %(care)s") % {"care": dict(grading_rules.CareLevel.choices).get(
                     motion.care_level, motion.care_level or "—")},
                 _("medical dependency: %(dep)s") % {"dep": dict(grading_rules.MedicalDependency.choices).get(
                     motion.medical_dependency, motion.medical_dependency or "—")}]
        if motion.months is not None:
            parts.append(_("months: %(months)s") % {"months": motion.months})
        text = _("Conclude: %(values)s.") % {"values": "；".join(str(p) for p in parts)}
        if motion.basis:
            text += " " + _("Basis: %(basis)s") % {"basis": motion.basis}
        return text
    if motion.decision == AgendaItem.Decision.SECOND_OPINION:
        return _("Refer the case to a second-opinion panel.")
    return examinations_text(motion)


def examinations_text(motion: Motion) -> str:
    return _("More examinations: %(which)s; where: %(where)s; by %(by)s.") % {
        "which": motion.examinations, "where": motion.examinations_where or "—",
        "by": date_format(motion.examinations_by) if motion.examinations_by else "—"}


def _header(discussion: Discussion, all_members: list[Member]) -> list[str]:
    present = [_name(m.user) for m in all_members if m.present]
    absent = [_name(m.user) for m in all_members if not m.present]
    return [
        _("Minutes of the collective discussion of %(committee)s") % {"committee": discussion.committee.name},
        _("Date: %(date)s. Place: %(place)s.") % {"date": date_format(discussion.held_on),
                                                   "place": discussion.place or "—"},
        _("Chaired by %(chair)s. Quorum: %(quorum)d.") % {"chair": _name(discussion.convened_by),
                                                          "quorum": discussion.quorum},
        _("Present (%(count)d): %(names)s.") % {"count": len(present), "names": "、".join(present) or "—"},
        _("Absent (%(count)d): %(names)s.") % {"count": len(absent), "names": "、".join(absent) or "—"},
    ]


def _section(item: AgendaItem, all_members: list[Member]) -> list[str]:
    case = item.case
    lines = [_("Case %(number)s (worker %(worker)s)") % {"number": case.number or f"#{case.pk}",
                                                         "worker": case.worker.name}]
    recusals = list(item.recusals.all())
    if recusals:
        lines += [(_("Recused: %(member)s, %(reason)s (found by the system).") if r.automatic
                   else _("Recused: %(member)s, %(reason)s (recorded by %(who)s)."))
                  % {"member": _name(r.member.user), "reason": r.reason, "who": _name(r.recorded_by)}
                  for r in recusals]
    else:
        lines.append(_("Recused: none."))
    comparison = opinions_side_by_side(case)
    for column in comparison.opinions:
        opinion, values = column["opinion"], _opinion_values(column["opinion"])
        lines.append(_("Opinion of %(expert)s (%(panel)s): grade %(grade)s; clauses %(clauses)s; %(care)s; %(dep)s%(months)s.")
                     % {"expert": _name(opinion.author), "panel": column["panel"], "grade": values["grade"],
                        "clauses": values["clauses"], "care": values["care_level"],
                        "dep": values["medical_dependency"],
                        "months": (_("; months %(months)s") % {"months": values["months"]})
                        if opinion.months is not None else ""})
    differing = [row["label"] for row in comparison.rows if row["differs"]]
    if differing:
        lines.append(_("The opinions differ in: %(fields)s.") % {"fields": "、".join(differing)})
    lines.append(_("Notes: %(notes)s") % {"notes": item.notes.strip() or "—"})
    recused = {r.member_id for r in recusals}
    eligible = [m for m in all_members if m.present and m.pk not in recused]
    choice_labels = dict(Vote.Choice.choices)
    for n, motion in enumerate(item.motions.all(), start=1):
        lines.append(_("Motion %(n)d, proposed by %(who)s: %(text)s")
                     % {"n": n, "who": _name(motion.proposed_by), "text": motion_text(motion)})
        votes = {v.member_id: v for v in motion.votes.all()}
        cast = []
        for member in eligible:
            vote = votes.get(member.pk)
            cast.append(_("%(member)s: %(vote)s") % {"member": _name(member.user),
                                                     "vote": choice_labels[vote.choice] if vote else _("did not vote")})
        lines.append(_("Votes: %(votes)s.") % {"votes": "；".join(str(c) for c in cast) or "—"})
        t = tally(motion, eligible)
        lines.append(_("Result: %(result)s (%(for)d for, %(against)d against, %(abstain)d abstaining, of %(eligible)d).")
                     % {"result": motion.get_result_display(), "for": t.votes_for, "against": t.against,
                        "abstain": t.abstain, "eligible": t.eligible})
    if item.decision:
        lines.append(_("Decision: %(decision)s") % {"decision": decision_text(item)})
    else:
        lines.append(_("Decision: none was reached; the case stays difficult."))
    return lines


def decision_text(item: AgendaItem) -> str:
    passed = next((m for m in item.motions.all() if m.result == Motion.Result.PASSED), None)
    return motion_text(passed) if passed else str(item.get_decision_display())


@dataclass(frozen=True)
class Minutes:
    text: str
    by_item: dict[int, str]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def minutes_of(discussion: Discussion) -> Minutes:
    """The minutes generated from the records, in the committee's language (the text is signed, so
    it must not depend on who reads it)."""
    with translation.override(settings.LANGUAGE_CODE):
        all_members = members(discussion)
        header = _header(discussion, all_members)
        sections = {item.pk: _section(item, all_members) for item in agenda(discussion)}
    # Paragraphs are separated by an empty line, as the documents print them.
    text = PARAGRAPH.join(header + [line for lines in sections.values() for line in lines])
    by_item = {pk: PARAGRAPH.join([*header, *lines]) for pk, lines in sections.items()}
    return Minutes(text=text, by_item=by_item)


def case_discussions(case: Case) -> QuerySet[AgendaItem]:
    """The meetings that had a case on their agenda (for the case's pages)."""
    return (AgendaItem.objects.filter(case=case, removed_at=None).select_related("discussion")
            .order_by("-discussion__held_on", "-id"))



# STATISTICS (reports) ------------------------------------------------------------------------------

def reappraisal_case_ids(*, requested: tuple | None = None, decided: tuple | None = None,
                         outcome: str | None = None) -> QuerySet:
    """Ids of cases sent for re-appraisal: requested in the period ``requested``, or decided by the
    province in the period ``decided`` (optionally with ``outcome``), as a statistics subquery."""
    qs = Reappraisal.objects.all()
    if requested:
        qs = qs.filter(requested_on__range=requested)
    if decided:
        qs = qs.filter(provincial_concluded_on__range=decided).exclude(outcome=Reappraisal.Outcome.PENDING)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.values("case_id")


REAPPRAISAL_OUTCOMES = Reappraisal.Outcome


def reappraisal_counts(case_ids: QuerySet | None, period: tuple, *,
                       committee_ids: list[int] | tuple[int, ...] | None = None) -> dict[str, int]:
    """Re-appraisals requested in ``period``, and those the province upheld or changed in it: of
    ``case_ids`` when given, else of the committees (a re-appraisal carries its case's committee)."""
    from django.db.models import Count, Q

    qs = Reappraisal.objects.filter(Q(requested_on__range=period) | Q(provincial_concluded_on__range=period))
    if case_ids is not None:
        qs = qs.filter(case_id__in=case_ids)
    if committee_ids is not None:
        qs = qs.filter(committee_id__in=list(committee_ids))
    decided = Q(provincial_concluded_on__range=period)
    return qs.aggregate(requested=Count("pk", filter=Q(requested_on__range=period)),
                        upheld=Count("pk", filter=decided & Q(outcome=Reappraisal.Outcome.UPHELD)),
                        changed=Count("pk", filter=decided & Q(outcome=Reappraisal.Outcome.CHANGED)))
