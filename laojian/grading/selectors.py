"""Reads for grading: the catalogue, a case's opinions and conclusion, the committee's rules."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

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

def panel_user_ids(case: Case) -> list[int]:
    """The experts now on the case's panel (their active assignments)."""
    return list(CaseAssignment.objects.filter(case=case, role=CaseAssignment.Role.EXPERT, active=True)
                .order_by("id").values_list("user_id", flat=True))


def sits_on_panel(case: Case, user: User) -> bool:
    return CaseAssignment.objects.filter(case=case, user=user, role=CaseAssignment.Role.EXPERT,
                                         active=True).exists()


def latest_opinions(case: Case) -> dict[int, Opinion]:
    """Each author's latest version (draft or signed)."""
    latest: dict[int, Opinion] = {}
    for opinion in Opinion.objects.filter(case=case).select_related("author").order_by("author_id", "-version"):
        latest.setdefault(opinion.author_id, opinion)
    return latest


def signed_opinions(case: Case) -> dict[int, Opinion]:
    """Each panel member's latest signed opinion."""
    signed: dict[int, Opinion] = {}
    members = panel_user_ids(case)
    for opinion in (Opinion.objects.filter(case=case, author_id__in=members, state=Opinion.State.SIGNED)
                    .select_related("author", "edition").order_by("author_id", "-version")):
        signed.setdefault(opinion.author_id, opinion)
    return signed


@dataclass(frozen=True)
class Seat:
    """One panel member and where their opinion stands."""

    user: User
    latest: Opinion | None
    signed: Opinion | None

    @property
    def correcting(self) -> bool:
        return bool(self.latest and not self.latest.signed and self.signed)


def panel_progress(case: Case) -> list[Seat]:
    from django.contrib.auth import get_user_model

    ids = panel_user_ids(case)
    users = get_user_model().objects.in_bulk(ids)
    latest = latest_opinions(case)
    signed = signed_opinions(case)
    return [Seat(users[i], latest.get(i), signed.get(i)) for i in ids if i in users]


def opinion_get_for(user: User, pk: int) -> Opinion:
    """An opinion its author may read, or any opinion of a case in the reader's committee for staff
    who may read the panel's opinions. Everything else is a 404."""
    opinion = (Opinion.objects.select_related("case", "case__committee", "author", "edition", "supersedes")
               .filter(pk=pk).first())
    if opinion is None:
        raise NotFoundError()
    if opinion.author_id == user.pk:
        return opinion
    if (opinion.signed and user.has_perm("grading.view_panel_opinions")
            and user.committee_id == opinion.case.committee_id):
        return opinion  # staff read signed opinions; a draft is the expert's own until signed
    raise NotFoundError()


def opinion_items(opinion: Opinion):
    return opinion.items.select_related("clause").order_by("position", "id")


def opinion_history(opinion: Opinion) -> list[Opinion]:
    return list(Opinion.objects.filter(case_id=opinion.case_id, author_id=opinion.author_id).order_by("-version"))


def conclusion_of(case: Case) -> Conclusion | None:
    return Conclusion.objects.filter(case=case).select_related("edition", "approved_by").first()


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


@dataclass(frozen=True)
class DifficultCase:
    """A case waiting for collective discussion: why, since when, and its statutory deadline."""

    case: Case
    reason: str
    since: dt.date | None
    waited_days: int | None
    days_left: int | None
    risk: str | None


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
    rows = []
    for case in cases:
        note = notes.get(case.pk)
        since = timezone.localdate(note.at) if note else None
        rows.append(DifficultCase(
            case=case, reason=note.note if note else "", since=since,
            waited_days=(today - since).days if since else None,
            days_left=clocks.days_left(case.conclusion_due, today),
            risk=clocks.risk(case.conclusion_due, today, case.committee.risk_warning_days)))
    return rows
