"""Expert calibration (统一专家尺度): how each expert's signed opinions compare with the committee's
approved conclusions, overall and by category (门类) of GB/T 16180, so that the committee can see
whose opinions persistently diverge and put them on its training plan.

What is compared: each expert's latest signed opinion on a graded case (initial, review or
re-appraisal) whose conclusion was approved in the period, first-panel and second opinions alike
(``grading.selectors.concluded_latest_signed_opinions``). A case's categories are those its latest
first panel was drawn for (a case has no category field: ``experts.selectors.first_panel_categories``);
a case judged in two categories counts in both.

The difference is *expert grade − conclusion grade*. Grade 1 is the most severe and 10 the least, so
a negative difference means the expert graded more severely than the conclusion, a positive one
more leniently. "No disability grade" (未达到伤残等级, grade ``None``) is counted as grade 11, one
step beyond grade 10: saying "no grade" where the conclusion gives grade 10 is one grade off.

Every figure is one GROUP BY query (expert × the case's categories) whose sums are added up here;
no opinion is loaded to be counted. Only the one expert's list of compared cases loads rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Abs, Coalesce

from laojian.core.calendar import local_day_bounds
from laojian.core.categories import Category
from laojian.experts import selectors as experts_selectors
from laojian.grading.rules import CareLevel, grade_label
from laojian.grading.selectors import concluded_latest_signed_opinions

if TYPE_CHECKING:
    from laojian.experts.models import Expert

PERMISSION = "reports.view_calibration"

MIN_COMPARED = 5
"""Compared opinions an expert needs before they can be said to diverge *persistently*: with fewer,
one or two hard cases would decide, and a committee should not send an expert to training on them.
The page takes it as a parameter (``min``)."""

MATCH_SHARE_FLOOR = Fraction(3, 5)
"""Below this share of opinions giving exactly the conclusion's grade (60 %), an expert diverges.
Panels of three need agreement to conclude without a collective discussion, so an expert who
matches fewer than three conclusions in five sends cases to discussion far more often than the
committee's other experts do (local practice; UNCONFIRMED, hence a constant, not a rule)."""

MEAN_ABS_CEILING = 1
"""At or above this mean absolute difference (one whole grade), an expert diverges even when they
often match: one grade is the step between two benefit levels (e.g. 13 against 11 months of wage as
one-off subsidy), so a habit of being a grade away is a habit of wrong payments."""

NO_GRADE = 11
"""``None`` (未达到伤残等级) is compared as this grade: one step less severe than grade 10."""

CASE_LIMIT = 200
"""At most this many compared cases are listed on an expert's page (the most recent approvals)."""


# TALLIES ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tally:
    """Sums over compared opinions; every measure is a ratio of two of them."""

    compared: int = 0
    difference_sum: int = 0  # Σ (expert grade − conclusion grade)
    absolute_sum: int = 0  # Σ |expert grade − conclusion grade|
    matching: int = 0  # opinions giving exactly the conclusion's grade
    care_matching: int = 0  # opinions giving exactly the conclusion's care-dependency level

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.compared + other.compared, self.difference_sum + other.difference_sum,
                     self.absolute_sum + other.absolute_sum, self.matching + other.matching,
                     self.care_matching + other.care_matching)

    def _ratio(self, part: int) -> Fraction | None:
        return Fraction(part, self.compared) if self.compared else None

    @property
    def mean_difference(self) -> Fraction | None:
        """Negative: more severe than the conclusions (grade 1 is the most severe)."""
        return self._ratio(self.difference_sum)

    @property
    def mean_absolute_difference(self) -> Fraction | None:
        return self._ratio(self.absolute_sum)

    @property
    def match_share(self) -> Fraction | None:
        return self._ratio(self.matching)

    @property
    def care_share(self) -> Fraction | None:
        return self._ratio(self.care_matching)

    # For the templates: floats, shares in per cent.
    @property
    def mean_difference_value(self) -> float | None:
        return _float(self.mean_difference)

    @property
    def mean_absolute_value(self) -> float | None:
        return _float(self.mean_absolute_difference)

    @property
    def match_percent(self) -> float | None:
        return _float(self.match_share, 100)

    @property
    def care_percent(self) -> float | None:
        return _float(self.care_share, 100)

    def diverges(self, minimum: int = MIN_COMPARED) -> bool:
        """At least ``minimum`` compared opinions, and too few exact matches or too far off on average."""
        if self.compared < max(minimum, 1):
            return False
        return (Fraction(self.matching, self.compared) < MATCH_SHARE_FLOOR
                or Fraction(self.absolute_sum, self.compared) >= MEAN_ABS_CEILING)


def _float(value: Fraction | None, scale: int = 1) -> float | None:
    return None if value is None else float(value * scale)


def total(tallies: Iterable[Tally]) -> Tally:
    result = Tally()
    for tally in tallies:
        result += tally
    return result


# THE QUERIES --------------------------------------------------------------------------------------

def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months up to and including ``today``."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + dt.timedelta(days=1), today


def _case_categories() -> Subquery:
    """The categories of the case's latest first panel (a JSON list), per opinion."""
    return experts_selectors.first_panel_categories_of_case(OuterRef("case_id"))


def compared_opinions(committee_ids: Sequence[int], first: dt.date, last: dt.date) -> QuerySet:
    """The opinions compared, of experts of these committees, on conclusions approved in the period,
    annotated with ``difference`` (expert − conclusion, "no grade" as ``NO_GRADE``) and ``categories``."""
    start, end = local_day_bounds(first, last)
    difference = ExpressionWrapper(
        Coalesce("grade", Value(NO_GRADE), output_field=IntegerField())
        - Coalesce("case__conclusion__grade", Value(NO_GRADE), output_field=IntegerField()),
        output_field=IntegerField())
    return (concluded_latest_signed_opinions()
            .filter(author__expert__committee_id__in=list(committee_ids),
                    case__conclusion__approved_at__gte=start, case__conclusion__approved_at__lt=end)
            .annotate(difference=difference, categories=_case_categories()))


def _tallies(opinions: QuerySet) -> dict[tuple[int, tuple[int, ...]], Tally]:
    """(author user id, the case's categories) → Tally: one GROUP BY query."""
    rows = (opinions.order_by().values("author_id", "categories")
            .annotate(n=Count("pk"), diff=Sum("difference"), absolute=Sum(Abs("difference")),
                      matching=Count("pk", filter=Q(difference=0)),
                      care=Count("pk", filter=Q(care_level=F("case__conclusion__care_level")))))
    tallies: dict[tuple[int, tuple[int, ...]], Tally] = defaultdict(Tally)
    for row in rows:
        key = (row["author_id"], _categories(row["categories"]))
        tallies[key] += Tally(row["n"], row["diff"] or 0, row["absolute"] or 0, row["matching"], row["care"])
    return tallies


def _categories(value: Any) -> tuple[int, ...]:
    """The categories stored on a panel, as sorted valid category numbers (junk is ignored)."""
    if not isinstance(value, list):
        return ()
    valid = set(Category.values)
    found = set()
    for item in value:
        try:
            number = int(item)
        except (TypeError, ValueError):
            continue
        if number in valid:
            found.add(number)
    return tuple(sorted(found))


def _by_category(groups: dict[tuple[int, ...], Tally]) -> dict[int | None, Tally]:
    """Category → Tally (``None``: cases without a recorded category); a multi-category case in each."""
    by_category: dict[int | None, Tally] = defaultdict(Tally)
    for categories, tally in groups.items():
        for category in categories or (None,):
            by_category[category] += tally
    return dict(by_category)


# THE REPORT ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryRow:
    category: int | None  # None: no category recorded (the case had no first panel)
    tally: Tally
    diverges: bool

    @property
    def label(self) -> Any:
        return Category(self.category).label if self.category is not None else None


@dataclass(frozen=True)
class ExpertRow:
    """One expert: the tally over all compared opinions and the tally per category."""

    expert: Expert
    tally: Tally
    categories: list[CategoryRow]
    diverges: bool  # over all compared opinions

    @property
    def diverging_categories(self) -> list[CategoryRow]:
        return [c for c in self.categories if c.diverges]

    @property
    def for_training(self) -> bool:
        return self.diverges or bool(self.diverging_categories)


@dataclass(frozen=True)
class Calibration:
    first: dt.date
    last: dt.date
    minimum: int
    rows: list[ExpertRow] = field(default_factory=list)

    @property
    def training(self) -> list[ExpertRow]:
        """Experts who diverge persistently, overall or in a category: the furthest off first."""
        listed = [r for r in self.rows if r.for_training]
        return sorted(listed, key=lambda r: (-(r.tally.mean_absolute_difference or 0), r.expert.name, r.expert.pk))

    @property
    def tally(self) -> Tally:
        return total(r.tally for r in self.rows)


def _category_rows(groups: dict[tuple[int, ...], Tally], minimum: int) -> list[CategoryRow]:
    by_category = _by_category(groups)
    order = [*Category.values, None]
    return [CategoryRow(c, by_category[c], by_category[c].diverges(minimum)) for c in order if c in by_category]


def calibration(committee_ids: Sequence[int], first: dt.date, last: dt.date, *,
                minimum: int = MIN_COMPARED) -> Calibration:
    """Every expert of these committees with a compared opinion in the period, by committee and name."""
    groups: dict[int, dict[tuple[int, ...], Tally]] = defaultdict(dict)
    for (author_id, categories), tally in _tallies(compared_opinions(committee_ids, first, last)).items():
        groups[author_id][categories] = tally
    experts = {e.user_id: e for e in experts_selectors.expert_records_of_users(list(groups))}
    rows = []
    for author_id, by_categories in groups.items():
        expert = experts.get(author_id)
        if expert is None:
            continue
        tally = total(by_categories.values())
        rows.append(ExpertRow(expert, tally, _category_rows(by_categories, minimum), tally.diverges(minimum)))
    rows.sort(key=lambda r: (r.expert.committee.code, r.expert.name, r.expert.pk))
    return Calibration(first, last, minimum, rows)


# ONE EXPERT ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparedCase:
    case_id: int
    case_number: str | None
    approved_at: dt.datetime
    second_opinion: bool
    grade: int | None
    conclusion_grade: int | None
    difference: int
    care_level: str
    conclusion_care_level: str
    categories: tuple[int, ...]

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)

    @property
    def conclusion_grade_label(self) -> str:
        return grade_label(self.conclusion_grade)

    @property
    def care_label(self) -> Any:
        return _care_label(self.care_level)

    @property
    def conclusion_care_label(self) -> Any:
        return _care_label(self.conclusion_care_level)

    @property
    def care_matches(self) -> bool:
        return self.care_level == self.conclusion_care_level

    @property
    def category_labels(self) -> list[Any]:
        return [Category(c).label for c in self.categories]


def _care_label(value: str) -> Any:
    return CareLevel(value).label if value in CareLevel.values else value


@dataclass(frozen=True)
class ExpertCalibration:
    expert: Expert
    first: dt.date
    last: dt.date
    minimum: int
    tally: Tally
    categories: list[CategoryRow]
    cases: list[ComparedCase]

    @property
    def diverges(self) -> bool:
        return self.tally.diverges(self.minimum)

    @property
    def diverging_categories(self) -> list[CategoryRow]:
        return [c for c in self.categories if c.diverges]

    @property
    def cases_cut(self) -> bool:
        """More cases were compared than are listed."""
        return self.tally.compared > len(self.cases)


def expert_calibration(expert: Expert, first: dt.date, last: dt.date, *,
                       minimum: int = MIN_COMPARED, limit: int = CASE_LIMIT) -> ExpertCalibration:
    """One expert's tally, per category, and their compared cases (the most recent approvals first)."""
    opinions = compared_opinions([expert.committee_id], first, last).filter(author_id=expert.user_id)
    if expert.user_id is None:
        opinions = opinions.none()
    groups = {cats: tally for (_author, cats), tally in _tallies(opinions).items()}
    tally = total(groups.values())
    rows = (opinions.order_by("-case__conclusion__approved_at", "-case_id")
            .values("case_id", "case__number", "case__conclusion__approved_at", "second_opinion", "grade",
                    "case__conclusion__grade", "difference", "care_level", "case__conclusion__care_level",
                    "categories")[:limit])
    cases = [ComparedCase(r["case_id"], r["case__number"], r["case__conclusion__approved_at"], r["second_opinion"],
                          r["grade"], r["case__conclusion__grade"], r["difference"], r["care_level"],
                          r["case__conclusion__care_level"], _categories(r["categories"])) for r in rows]
    return ExpertCalibration(expert, first, last, minimum, tally, _category_rows(groups, minimum), cases)
