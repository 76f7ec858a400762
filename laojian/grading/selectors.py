"""Reads for grading: the catalogue, a case's opinions and conclusion, the committee's rules."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from laojian.cases.models import CaseAssignment, CaseType, TimelineEntry
from laojian.core.errors import NotFoundError
from laojian.grading import rules
from laojian.grading.models import (
    Clause,
    Conclusion,
    Edition,
    GradePrinciple,
    GradingRules,
    LeavePeriod,
    Opinion,
)

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import Committee, User

GRADED_TYPES = frozenset({CaseType.INITIAL, CaseType.REVIEW, CaseType.REAPPRAISAL})
PERIOD_TYPES: dict[str, tuple[str, bool]] = {  # case type → (period kind, extension?)
    CaseType.LEAVE_CONFIRMATION: ("leave", False),
    CaseType.LEAVE_EXTENSION: ("leave", True),
    CaseType.REHAB_CONFIRMATION: ("rehab", False),
    CaseType.REHAB_EXTENSION: ("rehab", True),
}
SEARCH_LIMIT = 50


# THE CATALOGUE ------------------------------------------------------------------------------------

def current_edition() -> Edition:
    edition = Edition.objects.filter(current=True).first()
    if edition is None:
        raise NotFoundError("No edition of the grading standard is loaded: run “laojian grading import”.")
    return edition


@functools.lru_cache(maxsize=8)
def _catalogue(edition_id: int, imported_at: object) -> tuple[tuple[Clause, str, str], ...]:
    """An edition's clauses with their search keys, read once per process: an imported edition never
    changes (a corrected file is a new edition), so the cache needs no invalidation. ``imported_at``
    keeps a test database that reuses an id after a rollback from reading another edition's rows."""
    return tuple((c, "\n" + c.number, f"{c.criterion}\x00{c.body_parts}")
                 for c in Clause.objects.filter(edition_id=edition_id).order_by("grade", "seq"))


def clause_search(edition: Edition, q: str = "", *, grade: int | None = None, category: int | None = None,
                  body_part: str = "", limit: int | None = SEARCH_LIMIT) -> list[Clause]:
    """Clauses matching every word of ``q`` (in the criterion or the body parts, or the start of the
    number), most severe grade first. Chinese needs no word splitting: each term is a substring.

    It filters the edition's 530 clauses in memory: answering as the expert types costs about what
    one indexed query costs (see bench/grading.py)."""
    terms = q.split()[:8]
    prefixes = ["\n" + t for t in terms]
    wanted_category = f"|{category}|" if category else ""
    wanted_part = f"|{body_part}|" if body_part else ""
    found: list[Clause] = []
    for clause, number, text in _catalogue(edition.pk, edition.imported_at):
        if grade and clause.grade != grade:
            continue
        if wanted_category and wanted_category not in clause.categories:
            continue
        if wanted_part and wanted_part not in clause.body_parts:
            continue
        for term, prefix in zip(terms, prefixes, strict=True):
            if term not in text and not number.startswith(prefix):
                break
        else:
            found.append(clause)
            if limit and len(found) >= limit:
                break
    return found


def clauses_by_number(edition: Edition, numbers: list[str]) -> dict[str, Clause]:
    return {c.number: c for c in Clause.objects.filter(edition=edition, number__in=numbers)}


def principles(edition: Edition) -> dict[int, str]:
    return dict(GradePrinciple.objects.filter(edition=edition).values_list("grade", "text"))


def body_parts(edition: Edition) -> list[str]:
    """The body parts the edition's clauses name, in catalogue order."""
    seen: dict[str, None] = {}
    for parts in Clause.objects.filter(edition=edition).values_list("body_parts", flat=True):
        for part in parts.strip("|").split("|"):
            seen.setdefault(part, None)
    return list(seen)


def leave_periods(codes: list[str]) -> dict[str, LeavePeriod]:
    return {p.icd10: p for p in LeavePeriod.objects.filter(icd10__in=codes)}


def rules_for(committee: Committee) -> GradingRules:
    """The committee's grading rules, or the defaults if it has not set any."""
    return GradingRules.objects.filter(committee=committee).first() or GradingRules(committee=committee)


# A CASE'S OPINIONS --------------------------------------------------------------------------------

def _members(case: Case, role: str) -> list[int]:
    return list(CaseAssignment.objects.filter(case=case, role=role, active=True)
                .order_by("id").values_list("user_id", flat=True))


def panel_user_ids(case: Case) -> list[int]:
    """The experts now on the case's (first) panel (their active assignments)."""
    return _members(case, CaseAssignment.Role.EXPERT)


def second_panel_user_ids(case: Case) -> list[int]:
    """The experts now on the case's second-opinion panel (专家复审), if one was drawn."""
    return _members(case, CaseAssignment.Role.SECOND_EXPERT)


def sits_on_panel(case: Case, user: User) -> bool:
    return CaseAssignment.objects.filter(case=case, user=user, role=CaseAssignment.Role.EXPERT,
                                         active=True).exists()


def sits_on_second_panel(case: Case, user: User) -> bool:
    return CaseAssignment.objects.filter(case=case, user=user, role=CaseAssignment.Role.SECOND_EXPERT,
                                         active=True).exists()


def latest_opinions(case: Case) -> dict[int, Opinion]:
    """Each author's latest version (draft or signed)."""
    latest: dict[int, Opinion] = {}
    for opinion in Opinion.objects.filter(case=case).select_related("author").order_by("author_id", "-version"):
        latest.setdefault(opinion.author_id, opinion)
    return latest


def _latest_signed(case: Case, members: list[int], *, second: bool) -> dict[int, Opinion]:
    signed: dict[int, Opinion] = {}
    for opinion in (Opinion.objects.filter(case=case, author_id__in=members, state=Opinion.State.SIGNED,
                                           second_opinion=second)
                    .select_related("author", "edition").order_by("author_id", "-version")):
        signed.setdefault(opinion.author_id, opinion)
    return signed


def signed_opinions(case: Case) -> dict[int, Opinion]:
    """Each (first) panel member's latest signed opinion."""
    return _latest_signed(case, panel_user_ids(case), second=False)


def second_opinions(case: Case) -> dict[int, Opinion]:
    """Each second-opinion panel member's latest signed second opinion."""
    return _latest_signed(case, second_panel_user_ids(case), second=True)


def _all_signed(case: Case, members: list[int]) -> list[Opinion] | None:
    """The members' opinions when every one has signed their latest version, else ``None``."""
    latest = latest_opinions(case)
    if not members or any(m not in latest or not latest[m].signed for m in members):
        return None
    return [latest[m] for m in members]


def panel_signed(case: Case) -> list[Opinion] | None:
    """The first panel's opinions once every member has signed (none is correcting)."""
    return _all_signed(case, panel_user_ids(case))


def second_panel_signed(case: Case) -> list[Opinion] | None:
    """The second-opinion panel's opinions once every member has signed (none is correcting)."""
    return _all_signed(case, second_panel_user_ids(case))


def _compared(case: Case, opinions: list[Opinion]) -> list[rules.PanelOpinion]:
    period = case.case_type in PERIOD_TYPES
    return [rules.PanelOpinion(o.grade, o.care_level, o.medical_dependency, o.months if period else None)
            for o in opinions]


def panel_agreement_of(case: Case, opinions: list[Opinion]) -> rules.Agreement:
    """Whether these signed opinions agree under the committee's tolerance."""
    return rules.panel_agreement(_compared(case, opinions), rules_for(case.committee).tolerance())


def second_opinion_comparison(case: Case) -> rules.PanelComparison | None:
    """The second-opinion panel against the first, once every second-opinion expert has signed."""
    second = second_panel_signed(case)
    if second is None:
        return None
    first = list(signed_opinions(case).values())
    return rules.compare_panels(_compared(case, first), _compared(case, second),
                                rules_for(case.committee).tolerance(), graded=case.case_type in GRADED_TYPES,
                                period=case.case_type in PERIOD_TYPES)


def has_signed_second_opinion(case: Case, user: User) -> bool:
    return Opinion.objects.filter(case=case, author=user, second_opinion=True, state=Opinion.State.SIGNED).exists()


def first_panel_hidden_from(case: Case, user: User) -> bool:
    """Blind second opinion: a member of the second-opinion panel who has not signed yet sees nothing of
    the first panel (its opinions, grades, why they diverged, the drafted conclusion) where the
    committee says second opinions are blind."""
    return (case.committee.second_opinion_blind and sits_on_second_panel(case, user)
            and not has_signed_second_opinion(case, user))


@dataclass(frozen=True)
class Seat:
    """One panel member and where their opinion stands."""

    user: User
    latest: Opinion | None
    signed: Opinion | None

    @property
    def correcting(self) -> bool:
        return bool(self.latest and not self.latest.signed and self.signed)


def _progress(ids: list[int], latest: dict[int, Opinion], signed: dict[int, Opinion]) -> list[Seat]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk(ids)
    return [Seat(users[i], latest.get(i), signed.get(i)) for i in ids if i in users]


def panel_progress(case: Case) -> list[Seat]:
    """The first panel's seats and where each opinion stands."""
    return _progress(panel_user_ids(case), latest_opinions(case), signed_opinions(case))


def second_opinion_progress(case: Case) -> list[Seat]:
    """The second-opinion panel's seats and where each second opinion stands."""
    return _progress(second_panel_user_ids(case), latest_opinions(case), second_opinions(case))


def opinion_get_for(user: User, pk: int) -> Opinion:
    """An opinion its author may read, or any signed opinion of a case in the reader's committee for
    staff who may read the panel's opinions. A second-opinion expert reads the case's signed opinions
    once they have signed their own (before that, the first panel's only where second opinions are
    not blind). Everything else is a 404."""
    opinion = (Opinion.objects.select_related("case", "case__committee", "author", "edition", "supersedes")
               .filter(pk=pk).first())
    if opinion is None:
        raise NotFoundError()
    if opinion.author_id == user.pk:
        return opinion
    if not opinion.signed:
        raise NotFoundError()  # a draft is the expert's own until signed
    case = opinion.case
    if sits_on_second_panel(case, user):
        if has_signed_second_opinion(case, user) or not (opinion.second_opinion or case.committee.second_opinion_blind):
            return opinion
        raise NotFoundError()
    if user.has_perm("grading.view_panel_opinions") and user.committee_id == case.committee_id:
        return opinion
    raise NotFoundError()


def opinion_items(opinion: Opinion):
    return opinion.items.select_related("clause").order_by("position", "id")


def opinion_history(opinion: Opinion) -> list[Opinion]:
    return list(Opinion.objects.filter(case_id=opinion.case_id, author_id=opinion.author_id).order_by("-version"))


def conclusion_of(case: Case) -> Conclusion | None:
    return Conclusion.objects.filter(case=case).select_related("edition", "approved_by").first()


def approved_conclusion_of(case: Case) -> Conclusion | None:
    return Conclusion.objects.filter(case=case, state=Conclusion.State.APPROVED).first()


# A REVIEW APPRAISAL AGAINST THE EARLIER ONE -------------------------------------------------------

# Care levels from the lightest to the heaviest.
CARE_ORDER = (rules.CareLevel.NONE, rules.CareLevel.PARTIAL, rules.CareLevel.MOST, rules.CareLevel.COMPLETE)


class Verdict:
    IMPROVED = "improved"
    WORSENED = "worsened"
    UNCHANGED = "unchanged"


def _severity(grade: int | None, care_level: str) -> tuple[int, int]:
    """Higher is worse: grade 1 is the worst, no grade the best; care dependency breaks a tie."""
    return (11 - grade if grade is not None else 0,
            CARE_ORDER.index(care_level) if care_level in CARE_ORDER else 0)


@dataclass(frozen=True)
class EarlierComparison:
    """A review appraisal (复查鉴定): the earlier approved conclusion next to this case's conclusion
    (approved or drafted), and whether the disability has improved, worsened or stayed the same."""

    earlier_case: Case
    earlier: Conclusion
    earlier_date: dt.date | None
    current: Conclusion | None
    verdict: str | None  # Verdict.*, None while this case has no conclusion (not even a draft)

    @property
    def grade_changed(self) -> bool:
        return self.current is not None and self.current.grade != self.earlier.grade

    @property
    def care_changed(self) -> bool:
        return self.current is not None and self.current.care_level != self.earlier.care_level


def earlier_comparison(case: Case, *, include_current: bool = True) -> EarlierComparison | None:
    """For a case that reviews an earlier appraisal: the earlier approved conclusion against this one.
    ``None`` without an earlier case or when it has no approved conclusion on record. The grade
    decides the verdict (grade 1 is the worst); with the same grade, the care level does."""
    if case.earlier_case_id is None:
        return None
    earlier = approved_conclusion_of(case.earlier_case)
    if earlier is None:
        return None
    earlier_date = case.earlier_case.concluded_on or (
        timezone.localdate(earlier.approved_at) if earlier.approved_at else None)
    current = conclusion_of(case) if include_current else None
    verdict = None
    if current is not None:
        before = _severity(earlier.grade, earlier.care_level)
        after = _severity(current.grade, current.care_level)
        verdict = (Verdict.UNCHANGED if after == before else Verdict.WORSENED if after > before
                   else Verdict.IMPROVED)
    return EarlierComparison(case.earlier_case, earlier, earlier_date, current, verdict)


def extension_request_of(case: Case) -> TimelineEntry | None:
    """The latest request for the statutory extension, if the case has not been extended yet."""
    if case.extension_days:
        return None
    return (TimelineEntry.objects.filter(case=case, action="extension_requested").select_related("actor")
            .order_by("-at", "-id").first())


# FOR THE PAGES ------------------------------------------------------------------------------------

def divergence_of(case: Case) -> TimelineEntry | None:
    """The latest note on why the panel's signed opinions did not agree (the case went to discussion)."""
    return (TimelineEntry.objects.filter(case=case, action__in=("mark_difficult", "opinions_diverge"))
            .select_related("actor").order_by("-at", "-id").first())


@dataclass(frozen=True)
class Preview:
    """What the clauses an expert has typed so far would combine to (nothing is saved)."""

    combination: rules.Combination
    clauses: list[Clause]
    unknown: list[str]


def combine_preview(edition: Edition, numbers: list[str], *, pre_existing: bool = False,
                    review: bool = False) -> Preview:
    """The combined grade of the clause numbers given, in order; unknown numbers are listed, not graded."""
    numbers = [n.strip() for n in numbers if n and n.strip()]
    found = clauses_by_number(edition, numbers)
    clauses = [found[n] for n in numbers if n in found]
    unknown = [n for n in numbers if n not in found]
    combination = rules.combine([c.grade for c in clauses], pre_existing=pre_existing, review=review)
    return Preview(combination, clauses, unknown)


# Where a difficult case stands: the timeline actions the queue shows, with their labels.
STAGE_ACTIONS: dict[str, Any] = {
    "discussion_scheduled": _("Collective discussion scheduled"),
    "discussion_decided": _("Collective discussion decided"),
    "second_opinion_drawn": _("Second-opinion panel drawn"),
    "second_opinion_signed": _("Second-opinion panel has signed"),
}


@dataclass(frozen=True)
class DifficultCase:
    """A case waiting for collective discussion: why, since when, its statutory deadline and where it
    stands (the latest discussion or second-opinion step, if any)."""

    case: Case
    reason: str
    since: dt.date | None
    waited_days: int | None
    days_left: int | None
    risk: str | None
    stage: str = ""
    stage_on: dt.date | None = None


def difficult_queue(user: User, *, today: dt.date | None = None) -> list[DifficultCase]:
    """The leader's queue of difficult cases, the nearest statutory deadline first."""
    from laojian.cases import clocks
    from laojian.cases.models import Status
    from laojian.cases.selectors import cases_visible_to

    today = today or clocks.today()
    cases = list(cases_visible_to(user).filter(status=Status.DIFFICULT).select_related("committee", "worker")
                 .order_by("conclusion_due", "id"))
    notes: dict[int, TimelineEntry] = {}
    for entry in (TimelineEntry.objects.filter(case__in=cases, action__in=("mark_difficult", "opinions_diverge"))
                  .order_by("case_id", "-at", "-id")):
        notes.setdefault(entry.case_id, entry)
    stages: dict[int, TimelineEntry] = {}
    for entry in (TimelineEntry.objects.filter(case__in=cases, action__in=tuple(STAGE_ACTIONS))
                  .order_by("case_id", "-at", "-id")):
        stages.setdefault(entry.case_id, entry)
    rows = []
    for case in cases:
        note = notes.get(case.pk)
        stage = stages.get(case.pk)
        since = timezone.localdate(note.at) if note else None
        rows.append(DifficultCase(
            case=case, reason=note.note if note else "", since=since,
            waited_days=(today - since).days if since else None,
            days_left=clocks.days_left(case.conclusion_due, today),
            risk=clocks.risk(case.conclusion_due, today, case.committee.risk_warning_days),
            stage=str(STAGE_ACTIONS[stage.action]) if stage else "",
            stage_on=timezone.localdate(stage.at) if stage else None))
    return rows


# STATISTICS (reports) ------------------------------------------------------------------------------

def approved_conclusion_case_ids(**match: Any):
    """Ids of cases whose approved conclusion matches ``match`` (e.g. ``grade=7``,
    ``care_level="partial"``), as a subquery for statistics and their drill-down lists."""
    return Conclusion.objects.filter(state=Conclusion.State.APPROVED, **match).values("case_id")


def approved_conclusion_counts(case_ids, field: str) -> dict[Any, int]:
    """How many approved conclusions of ``case_ids`` (a subquery) have each value of ``field``."""
    from django.db.models import Count

    rows = (Conclusion.objects.filter(state=Conclusion.State.APPROVED, case_id__in=case_ids)
            .order_by().values_list(field).annotate(n=Count("pk")))
    return dict(rows)


# EXPERT CALIBRATION (reports) ---------------------------------------------------------------------

def concluded_latest_signed_opinions():
    """Each expert's latest signed opinion (first panel or second opinion) on every graded case whose
    conclusion is approved: the opinions a calibration report compares with the conclusions.

    An earlier signed version that a later signed version corrected is left out, and so is an
    unsigned draft (a correction still being written leaves the last signed version counted). A
    queryset, so that reports filter and aggregate it in the database."""
    from django.db.models import Exists, OuterRef

    newer_signed = Opinion.objects.filter(case_id=OuterRef("case_id"), author_id=OuterRef("author_id"),
                                          state=Opinion.State.SIGNED, version__gt=OuterRef("version"))
    return (Opinion.objects
            .filter(state=Opinion.State.SIGNED, case__case_type__in=GRADED_TYPES,
                    case__conclusion__state=Conclusion.State.APPROVED)
            .exclude(Exists(newer_signed)))


def signed_opinion_counts(case_ids, start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """Opinions each expert (by user id) signed in ``[start, end)`` on ``case_ids``: first versions
    and corrections alike, as the work done."""
    from django.db.models import Count

    rows = (Opinion.objects.filter(state=Opinion.State.SIGNED, signed_at__gte=start, signed_at__lt=end,
                                   case_id__in=case_ids)
            .order_by().values_list("author_id").annotate(n=Count("pk")))
    return dict(rows)


def approved_months_by_case_type(case_ids) -> dict[str, tuple[int, int]]:
    """For the leave and rehabilitation cases among ``case_ids``: per case type, the approved
    conclusions with months confirmed and the months in all."""
    from django.db.models import Count, Sum

    rows = (Conclusion.objects.filter(state=Conclusion.State.APPROVED, case_id__in=case_ids, months__isnull=False)
            .order_by().values_list("case__case_type").annotate(n=Count("pk"), months=Sum("months")))
    return {case_type: (n, months) for case_type, n, months in rows}


def approved_conclusions_for_copy(cases: list[Case]) -> dict[int, dict[str, Any]]:
    """The approved conclusion of each case, for a person's copy of their data (SEC-65)."""
    from laojian.core.calendar import iso_local
    from laojian.grading.models import Conclusion

    found = Conclusion.objects.filter(case__in=cases, state=Conclusion.State.APPROVED).select_related("edition")
    return {c.case_id: {"number": c.number, "grade": c.grade, "grade_label": str(c.grade_label),
                        "care_dependency": c.get_care_level_display(), "months": c.months,
                        "standard": str(c.edition), "approved_at": iso_local(c.approved_at)}
            for c in found}
