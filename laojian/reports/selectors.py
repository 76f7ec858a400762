"""The figures of the statistics pages, each one aggregate query over the cases of a ``Scope``.

A figure is a set of buckets ("received", "grade 7", "overdue", …), each a condition on the
figure's cases. The count of a bucket and the drill-down list behind it use the very same
condition, so the list always adds up to the number on the dashboard. Nothing here loads cases
into Python to count them: the database counts (``Count(filter=…)``, ``GROUP BY``) and only the
counts come back.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from laojian.cases import selectors as cases_selectors
from laojian.cases.models import Case, CaseType, Mode, Status
from laojian.cases.workflow import OPEN_STATES
from laojian.core import workday_ordinals
from laojian.core.calendar import local_day_bounds
from laojian.core.models import Committee
from laojian.crosscheck import selectors as crosscheck_selectors
from laojian.experts import selectors as experts_selectors
from laojian.grading import selectors as grading_selectors
from laojian.grading.rules import CareLevel
from laojian.reports.scope import Scope
from laojian.review import selectors as review_selectors
from laojian.sittings import selectors as sittings_selectors

# Working-day bands of the cycle-time distribution (application to conclusion); the last is open.
CYCLE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 10), (11, 20), (21, 40), (41, 60), (61, None))
GRADES = range(1, 11)
PERIOD_TYPES = (CaseType.LEAVE_CONFIRMATION, CaseType.LEAVE_EXTENSION, CaseType.REHAB_CONFIRMATION,
                CaseType.REHAB_EXTENSION)
# Steps of the backlog, in workflow order (open cases only; drafts are not yet applications).
BACKLOG_STEPS = [s for s in Status if s in OPEN_STATES]


def day_bounds(scope: Scope) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware datetimes ``[first 00:00, last+1 00:00)`` in Asia/Shanghai."""
    return local_day_bounds(scope.first, scope.last)


def today_of(scope: Scope) -> dt.date:
    return scope.today or timezone.localdate()


# FIGURES ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    """One number of a figure. ``condition`` may be a function making the Q, for figures with many
    buckets (one an expert) whose counter never needs the conditions: they are built on drill-down."""

    key: str
    label: Any
    condition: Q | Callable[[], Q]

    @property
    def q(self) -> Q:
        return self.condition() if callable(self.condition) else self.condition


def _counted(condition: Q) -> Count:
    # COUNT(1) FILTER (…), not COUNT(id): an index holding the condition's columns answers alone.
    return Count(Value(1), filter=condition)


def _only_committees(scope: Scope) -> bool:
    """The scope's cases are all the cases of its committees: tables whose rows carry their case's
    committee (appointments, flags, re-appraisals) are then read through their own committee index
    instead of being matched against every case of the scope."""
    return not (scope.county or scope.mode or scope.case_type or scope.hospital_id or scope.specialty_id)


def _case_ids(scope: Scope, cases: QuerySet[Case]) -> QuerySet | None:
    return None if _only_committees(scope) else cases.values("pk")


@dataclass
class Figure:
    """A figure: its cases, its buckets, and optionally a faster counter that must agree with the
    buckets (used where a GROUP BY on another table beats one subquery per bucket)."""

    key: str
    label: Any
    cases: Callable[[Scope], QuerySet[Case]]
    buckets: Callable[[Scope], list[Bucket]]
    counter: Callable[[Scope, QuerySet[Case]], dict[str, int]] | None = None
    # The counter for each committee side by side: {committee id: {bucket: n}}.
    counter_by_committee: Callable[[Scope, QuerySet[Case]], dict[int, dict[str, int]]] | None = None
    # The buckets split the figure's cases (each case in exactly one), so a total means something.
    partition: bool = True


@dataclass
class Count_:
    key: str
    label: Any
    n: int


@dataclass
class FigureResult:
    key: str
    label: Any
    rows: list[Count_] = field(default_factory=list)
    partition: bool = True

    @property
    def total(self) -> int:
        return sum(r.n for r in self.rows)

    def get(self, key: str) -> int:
        return next((r.n for r in self.rows if r.key == key), 0)


def _received(scope: Scope) -> QuerySet[Case]:
    return scope.cases()


# The flow: the cases that reached a date in the period, and those that entered a final step in it.
FLOW_DATES = (("received", "received_on", _("applications received")), ("accepted", "accepted_on", _("accepted")),
              ("concluded", "concluded_on", _("concluded")))
FLOW_STEPS = (Status.TERMINATED, Status.REJECTED, Status.WITHDRAWN)


def _flow_buckets(scope: Scope) -> list[Bucket]:
    start, end = day_bounds(scope)
    entered = cases_selectors.entered_status_case_ids
    return ([Bucket(key, label, Q(**{f"{date_field}__range": scope.period})) for key, date_field, label in FLOW_DATES]
            + [Bucket(s.value, s.label, Q(pk__in=entered(s, start, end))) for s in FLOW_STEPS])


def _flow_counts(scope: Scope, cases: QuerySet[Case], *, by_committee: bool) -> dict[Any, dict[str, int]]:
    """Each date from its own (committee, date) index range and the terminal steps from the
    timeline's (status, time) index: never a pass over every case of the scope."""
    start, end = day_bounds(scope)
    out: dict[Any, dict[str, int]] = {}
    for key, date_field, _label in FLOW_DATES:
        picked = cases.filter(**{f"{date_field}__range": scope.period}).order_by()
        if by_committee:
            for pk, n in picked.values_list("committee_id").annotate(n=Count(Value(1))):
                out.setdefault(pk, {})[key] = n
        else:
            out.setdefault(None, {})[key] = picked.count()
    steps = cases_selectors.entered_status_counts(cases.values("pk"), start, end, FLOW_STEPS,
                                                  by_committee=by_committee)
    for (pk, status), n in steps.items():
        out.setdefault(pk, {})[status] = n
    return out


def _flow_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    return _flow_counts(scope, cases, by_committee=False).get(None, {})


def _flow_counter_by_committee(scope: Scope, cases: QuerySet[Case]) -> dict[int, dict[str, int]]:
    return _flow_counts(scope, cases, by_committee=True)


def _open_cases(scope: Scope) -> QuerySet[Case]:
    return scope.cases().filter(status__in=OPEN_STATES)


def _backlog_buckets(scope: Scope) -> list[Bucket]:
    return [Bucket(s.value, s.label, Q(status=s.value)) for s in BACKLOG_STEPS]


def _backlog_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    return dict(cases.order_by().values_list("status").annotate(n=Count(Value(1))))


def _backlog_counter_by_committee(scope: Scope, cases: QuerySet[Case]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for pk, status, n in cases.order_by().values_list("committee_id", "status").annotate(n=Count(Value(1))):
        out.setdefault(pk, {})[status] = n
    return out


def _concluded(scope: Scope) -> QuerySet[Case]:
    return scope.cases().filter(concluded_on__range=scope.period)


def _limit_buckets(scope: Scope) -> list[Bucket]:
    return [
        Bucket("within_limit", _("within the statutory limit"), Q(concluded_on__lte=F("conclusion_due"))),
        Bucket("late", _("after the statutory limit"), Q(concluded_on__gt=F("conclusion_due"))),
        Bucket("no_limit", _("no statutory limit recorded"), Q(conclusion_due__isnull=True)),
    ]


def _target_buckets(scope: Scope) -> list[Bucket]:
    return [
        Bucket("within_target", _("within the service target"), Q(concluded_on__lte=F("target_due"))),
        Bucket("missed_target", _("after the service target"), Q(concluded_on__gt=F("target_due"))),
        Bucket("no_target", _("no service target for the mode"), Q(target_due__isnull=True)),
    ]


def _risk_buckets(scope: Scope) -> list[Bucket]:
    today = today_of(scope)
    by_days: dict[int, list[int]] = {}
    for pk, days in Committee.objects.filter(pk__in=scope.committee_ids).values_list("pk", "risk_warning_days"):
        by_days.setdefault(days, []).append(pk)
    warn = Q()
    for days, pks in sorted(by_days.items()):  # one condition per warning period, not per committee
        warn |= Q(committee_id__in=pks, next_due__lte=today + dt.timedelta(days=days))
    return [
        Bucket("overdue", _("overdue"), Q(next_due__lt=today)),
        Bucket("at_risk", _("due soon"), Q(next_due__gte=today) & warn),
    ]


def _mode_buckets(scope: Scope) -> list[Bucket]:
    return [Bucket(m.value, m.label, Q(pk__in=sittings_selectors.examined_case_ids(scope.first, scope.last,
                                                                                   mode=m.value)))
            for m in Mode]


def _mode_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    return sittings_selectors.examined_counts(_case_ids(scope, cases), scope.first, scope.last,
                                              committee_ids=scope.committee_ids)


def _grade_buckets(scope: Scope) -> list[Bucket]:
    ids = grading_selectors.approved_conclusion_case_ids
    return ([Bucket(str(g), _("grade %(grade)s") % {"grade": g}, Q(pk__in=ids(grade=g))) for g in GRADES]
            + [Bucket("none", _("no grade reached"), Q(pk__in=ids(grade__isnull=True)))])


def _grade_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    counts = grading_selectors.approved_conclusion_counts(cases.values("pk"), "grade")
    return {("none" if g is None else str(g)): n for g, n in counts.items()}


def _care_buckets(scope: Scope) -> list[Bucket]:
    ids = grading_selectors.approved_conclusion_case_ids
    return [Bucket(c.value, c.label, Q(pk__in=ids(care_level=c.value))) for c in CareLevel]


def _care_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    return {str(k): n for k, n in grading_selectors.approved_conclusion_counts(cases.values("pk"), "care_level").items()}


def _period_cases(scope: Scope) -> QuerySet[Case]:
    return _concluded(scope).filter(case_type__in=PERIOD_TYPES)


def _period_buckets(scope: Scope) -> list[Bucket]:
    return [Bucket(t.value, t.label, Q(case_type=t.value)) for t in PERIOD_TYPES]


def _flag_buckets(scope: Scope) -> list[Bucket]:
    start, end = day_bounds(scope)
    return [Bucket(r.value, r.label, Q(pk__in=crosscheck_selectors.flagged_case_ids(start, end, rule=r.value)))
            for r in crosscheck_selectors.FLAG_RULES]


def _flag_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    start, end = day_bounds(scope)
    return crosscheck_selectors.flag_counts(_case_ids(scope, cases), start, end, "rule",
                                            committee_ids=scope.committee_ids)


def _reappraisal_buckets(scope: Scope) -> list[Bucket]:
    ids = review_selectors.reappraisal_case_ids
    outcome = review_selectors.REAPPRAISAL_OUTCOMES
    return [
        Bucket("requested", _("re-appraisals requested"), Q(pk__in=ids(requested=scope.period))),
        Bucket("upheld", _("upheld by the province"), Q(pk__in=ids(decided=scope.period, outcome=outcome.UPHELD))),
        Bucket("changed", _("changed by the province"), Q(pk__in=ids(decided=scope.period, outcome=outcome.CHANGED))),
    ]


def _reappraisal_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    return review_selectors.reappraisal_counts(_case_ids(scope, cases), scope.period,
                                               committee_ids=scope.committee_ids)


def _band_key(lo: int, hi: int | None) -> str:
    return f"{lo}-" if hi is None else f"{lo}-{hi}"


def _cycle_band_buckets(scope: Scope) -> list[Bucket]:
    rows = []
    for lo, hi in CYCLE_BANDS:
        if hi is None:
            rows.append(Bucket(_band_key(lo, hi), _("%(lo)s working days or more") % {"lo": lo}, Q(workdays__gte=lo)))
        else:
            rows.append(Bucket(_band_key(lo, hi), _("%(lo)s–%(hi)s working days") % {"lo": lo, "hi": hi},
                               Q(workdays__gte=lo, workdays__lte=hi)))
    rows.append(Bucket("unknown", _("no working-day calendar for the dates"), Q(workdays__isnull=True)))
    return rows


def _workload_buckets(scope: Scope) -> list[Bucket]:
    def seats(user_id: int) -> Callable[[], Q]:
        return lambda: Q(pk__in=experts_selectors.panel_seat_case_ids(user_id))

    return [Bucket(str(e.user_id), f"{e.name} ({e.hospital.name})", seats(e.user_id))
            for e in experts_selectors.experts_with_accounts(scope.committee_ids)]


def _workload_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    return {str(k): n for k, n in experts_selectors.panel_seat_counts(cases.values("pk")).items()}


def sittings_held(scope: Scope) -> int:
    """Sittings with a worker of the scope examined in the period."""
    return sittings_selectors.sittings_held(_case_ids(scope, scope.cases()), scope.first, scope.last,
                                            committee_ids=scope.committee_ids)


def opinions_signed(scope: Scope) -> dict[str, int]:
    """Opinions each expert signed in the period on the scope's cases, keyed like the workload buckets."""
    start, end = day_bounds(scope)
    counts = grading_selectors.signed_opinion_counts(scope.cases().values("pk"), start, end)
    return {str(k): n for k, n in counts.items()}


def _cycle_cases(scope: Scope) -> QuerySet[Case]:
    """Cases concluded in the period, with their working days from application to conclusion."""
    workday_ordinals.ensure_current()
    return (_concluded(scope).filter(received_on__isnull=False)
            .annotate(workdays=F("concluded_ordinal__ordinal") - F("received_ordinal__ordinal")))


def _cycle_counter(scope: Scope, cases: QuerySet[Case]) -> dict[str, int]:
    """The bands from one GROUP BY on the working days (the annotation is not repeated per band)."""
    out: dict[str, int] = {}
    for workdays, n in cases.order_by().values_list("workdays").annotate(n=Count(Value(1))):
        band = _band_of(workdays)
        out[band] = out.get(band, 0) + n
    return out


def _band_of(workdays: int | None) -> str:
    for lo, hi in CYCLE_BANDS:
        if workdays is not None and workdays >= lo and (hi is None or workdays <= hi):
            return _band_key(lo, hi)
    return "unknown"  # no calendar for the dates (or a conclusion before its application)


FIGURES: dict[str, Figure] = {f.key: f for f in (
    Figure("flow", _("Applications and conclusions"), _received, _flow_buckets, _flow_counter,
           _flow_counter_by_committee, partition=False),
    Figure("backlog", _("Open cases by step"), _open_cases, _backlog_buckets, _backlog_counter,
           _backlog_counter_by_committee),
    Figure("modes", _("Person-times appraised by mode"), _received, _mode_buckets, _mode_counter, partition=False),
    Figure("limits", _("Conclusions and the statutory limit"), _concluded, _limit_buckets),
    Figure("targets", _("Conclusions and the service target"), _concluded, _target_buckets),
    Figure("risk", _("Open cases at risk now"), _open_cases, _risk_buckets),
    Figure("grades", _("Grades concluded"), _concluded, _grade_buckets, _grade_counter),
    Figure("care", _("Care dependency concluded"), _concluded, _care_buckets, _care_counter),
    Figure("periods", _("Leave and rehabilitation periods confirmed"), _period_cases, _period_buckets),
    Figure("flags", _("Cases with cross-check flags found"), _received, _flag_buckets, _flag_counter,
           partition=False),
    Figure("reappraisals", _("Re-appraisals at the province"), _received, _reappraisal_buckets,
           _reappraisal_counter, partition=False),
    Figure("cycle", _("Working days from application to conclusion"), _cycle_cases, _cycle_band_buckets,
           _cycle_counter),
    Figure("workload", _("Panel seats of each expert on the cases concluded"), _concluded, _workload_buckets,
           _workload_counter, partition=False),
)}


def figure(scope: Scope, key: str) -> FigureResult:
    """One figure's counts: a single aggregate query (or the figure's GROUP BY counter)."""
    fig = FIGURES[key]
    cases = fig.cases(scope)
    buckets = fig.buckets(scope)
    if fig.counter is not None:
        counts = fig.counter(scope, cases)
        values = {b.key: counts.get(b.key, 0) for b in buckets}
    else:
        values = cases.aggregate(**{f"b{i}": _counted(b.q) for i, b in enumerate(buckets)})
        values = {b.key: values[f"b{i}"] for i, b in enumerate(buckets)}
    return FigureResult(fig.key, fig.label, [Count_(b.key, b.label, values[b.key]) for b in buckets], fig.partition)


def figure_by_committee(scope: Scope, key: str) -> dict[int, FigureResult]:
    """A figure for each committee of the scope side by side, grouped by committee in the database."""
    fig = FIGURES[key]
    buckets = fig.buckets(scope)
    cases = fig.cases(scope)
    if fig.counter_by_committee is not None:
        by = fig.counter_by_committee(scope, cases)
    else:
        rows = (cases.order_by().values("committee_id")
                .annotate(**{f"b{i}": _counted(b.q) for i, b in enumerate(buckets)}))
        by = {r["committee_id"]: {b.key: r[f"b{i}"] for i, b in enumerate(buckets)} for r in rows}
    return {pk: FigureResult(fig.key, fig.label, [Count_(b.key, b.label, by.get(pk, {}).get(b.key, 0))
                                                  for b in buckets], fig.partition)
            for pk in scope.committee_ids}


def drill_with_label(scope: Scope, key: str, bucket: str) -> tuple[QuerySet[Case], Any]:
    """The cases behind one number of a figure and the number's label; KeyError for an unknown
    figure or bucket."""
    fig = FIGURES[key]
    found = next((b for b in fig.buckets(scope) if b.key == bucket), None)
    if found is None:
        raise KeyError(bucket)
    return fig.cases(scope).filter(found.q), found.label


def drill(scope: Scope, key: str, bucket: str) -> QuerySet[Case]:
    """The cases behind one number of a figure; KeyError for an unknown figure or bucket."""
    return drill_with_label(scope, key, bucket)[0]


# CYCLE TIME -------------------------------------------------------------------------------------

@dataclass
class CycleStats:
    """Cycle time of a group of concluded cases, from counts per number of days."""

    n: int
    median_workdays: int | None
    p90_workdays: int | None
    median_days: int | None
    p90_days: int | None
    without_calendar: int = 0
    fastest_workdays: int | None = None  # the seed's "as few as 10 working days"


def nearest_rank(counts: dict[int, int], share: float) -> int | None:
    """The nearest-rank percentile of a distribution given as {value: how many}: the smallest
    value with at least ``share`` of the cases at or below it (the median of 1, 2, 9 is 2, of
    1, 2, 3, 9 is 2; the 90th percentile of ten values is the 9th smallest)."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(share * n - 1e-9))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover - rank <= n


def _days(value: Any) -> int | None:
    if value is None:
        return None
    return value.days if isinstance(value, dt.timedelta) else int(value)


def cycle_rows(scope: Scope) -> list[dict[str, Any]]:
    """Counts of concluded cases by (mode, case type, working days, calendar days): one GROUP BY."""
    rows = (_cycle_cases(scope).annotate(calendar_days=F("concluded_on") - F("received_on"))
            .order_by().values("mode", "case_type", "workdays", "calendar_days").annotate(n=Count("pk")))
    return [{**r, "calendar_days": _days(r["calendar_days"])} for r in rows]


def cycle_stats(rows: list[dict[str, Any]], **match: str) -> CycleStats:
    """The cycle statistics of the ``rows`` matching ``match`` (e.g. ``mode="clinic"``)."""
    work: dict[int, int] = {}
    cal: dict[int, int] = {}
    n = missing = 0
    for r in rows:
        if any(r[k] != v for k, v in match.items()):
            continue
        n += r["n"]
        cal[r["calendar_days"]] = cal.get(r["calendar_days"], 0) + r["n"]
        if r["workdays"] is None:
            missing += r["n"]
        else:
            work[r["workdays"]] = work.get(r["workdays"], 0) + r["n"]
    return CycleStats(n=n, median_workdays=nearest_rank(work, 0.5), p90_workdays=nearest_rank(work, 0.9),
                      median_days=nearest_rank(cal, 0.5), p90_days=nearest_rank(cal, 0.9), without_calendar=missing,
                      fastest_workdays=min(work) if work else None)


@dataclass
class CycleTable:
    overall: CycleStats
    by_mode: list[tuple[Any, str, CycleStats]]
    by_type: list[tuple[Any, str, CycleStats]]


def cycle_table(scope: Scope) -> CycleTable:
    rows = cycle_rows(scope)
    return CycleTable(
        overall=cycle_stats(rows),
        by_mode=[(m.label, m.value, cycle_stats(rows, mode=m.value)) for m in Mode],
        by_type=[(t.label, t.value, cycle_stats(rows, case_type=t.value)) for t in CaseType],
    )


# THE DASHBOARD ----------------------------------------------------------------------------------

@dataclass
class Dashboard:
    scope: Scope
    figures: dict[str, FigureResult]
    cycle: CycleTable
    sittings_held: int
    committees: list[tuple[Committee, dict[str, FigureResult]]]
    workload: list[tuple[Count_, int]] = field(default_factory=list)
    # Leave and rehabilitation cases: per case type, (conclusions with months, mean months).
    period_months: dict[str, tuple[int, float]] = field(default_factory=dict)


    @property
    def within_limit(self) -> float | None:
        """Share of the period's conclusions made within the statutory limit (a conclusion without
        a limit recorded counts in the whole, not as in time)."""
        limits = self.figures["limits"]
        return share(limits.get("within_limit"), limits.total)

    @property
    def within_target(self) -> float | None:
        """Share within the service target of the conclusions that had one."""
        targets = self.figures["targets"]
        return share(targets.get("within_target"), targets.get("within_target") + targets.get("missed_target"))

    @property
    def reappraisal_rate(self) -> float | None:
        """Re-appraisals requested per conclusion of the period."""
        return share(self.figures["reappraisals"].get("requested"), self.figures["flow"].get("concluded"))

    @property
    def changed_share(self) -> float | None:
        """Of the re-appraisals the province decided in the period, the share it changed."""
        r = self.figures["reappraisals"]
        return share(r.get("changed"), r.get("changed") + r.get("upheld"))


def share(n: int, total: int) -> float | None:
    return n / total if total else None


SIDE_BY_SIDE = ("flow", "backlog", "limits", "risk")


def dashboard(scope: Scope) -> Dashboard:
    """Every figure of the dashboard for ``scope``; a scope of several committees (a province) also
    gets each committee's main figures side by side."""
    figures = {key: figure(scope, key) for key in FIGURES}
    committees: list[tuple[Committee, dict[str, FigureResult]]] = []
    if len(scope.committee_ids) > 1:
        per = {key: figure_by_committee(scope, key) for key in SIDE_BY_SIDE}
        for c in Committee.objects.filter(pk__in=scope.committee_ids).order_by("code"):
            committees.append((c, {key: per[key][c.pk] for key in SIDE_BY_SIDE}))
    signed = opinions_signed(scope)
    workload = sorted(((row, signed.get(row.key, 0)) for row in figures["workload"].rows if row.n or signed.get(row.key)),
                      key=lambda pair: (-pair[0].n, -pair[1], str(pair[0].label)))
    months = grading_selectors.approved_months_by_case_type(_period_cases(scope).values("pk"))
    period_months = {t: (n, round(total / n, 1)) for t, (n, total) in months.items() if n}
    return Dashboard(scope=scope, figures=figures, cycle=cycle_table(scope), workload=workload,
                     period_months=period_months,
                     sittings_held=sittings_held(scope),
                     committees=committees)
