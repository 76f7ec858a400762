"""The dashboard as plain tables: one per figure, the cycle-time tables and the committees side by
side, each with typed columns (text, a count, a share, days). The Excel workbook and the PDF report
are both drawn from these, so the two always show the same numbers in the same order.

Pure: reads only the ``Dashboard`` it is given (the committees' names aside, which the dashboard
already carries for a province).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laojian.reports.selectors import CycleStats, Dashboard, FigureResult, share

# Column kinds: how a value is written and formatted.
TEXT, COUNT, SHARE, DAYS = "text", "count", "share", "days"

# Short titles (a sheet name is at most 31 characters) of the figures, by figure key. A figure the
# lead adds later without a title here gets its own label, shortened.
SHEET_TITLES: dict[str, Any] = {
    "flow": gettext_lazy("Applications and conclusions"),
    "backlog": gettext_lazy("Open cases by step"),
    "modes": gettext_lazy("Appraisal modes"),
    "limits": gettext_lazy("Statutory limit"),
    "targets": gettext_lazy("Service target"),
    "risk": gettext_lazy("Deadline warnings"),
    "grades": gettext_lazy("Disability grades"),
    "care": gettext_lazy("Care dependency levels"),
    "periods": gettext_lazy("Leave and rehab periods"),
    "flags": gettext_lazy("Cross-check flags"),
    "reappraisals": gettext_lazy("Provincial re-appraisals"),
    "cycle": gettext_lazy("Cycle time bands"),
}
# Figures that describe the cases open now, whatever the period.
SNAPSHOTS = frozenset({"backlog", "risk"})


@dataclass(frozen=True)
class Column:
    label: str
    kind: str


@dataclass(frozen=True)
class Table:
    """One table: ``rows`` and ``total`` hold a value per column (None: nothing to show)."""

    key: str
    sheet: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    total: tuple[Any, ...] | None = None
    note: str = ""


@dataclass(frozen=True)
class KeyFigures:
    """The numbers the report's summary is written from."""

    received: int
    accepted: int
    concluded: int
    sittings_held: int
    person_times: int
    by_mode: dict[str, int]
    cycle: CycleStats
    within_limit: int
    limit_total: int  # every conclusion of the period, with a limit recorded or not
    open_now: int
    overdue_now: int

    @property
    def within_limit_rate(self) -> float | None:
        """Share of the period's conclusions made within the statutory limit (as on the dashboard:
        a conclusion without a limit recorded counts in the whole, not as in time)."""
        return share(self.within_limit, self.limit_total)


def key_figures(dashboard: Dashboard) -> KeyFigures:
    f = dashboard.figures
    modes = f["modes"]
    return KeyFigures(
        received=f["flow"].get("received"), accepted=f["flow"].get("accepted"),
        concluded=f["flow"].get("concluded"), sittings_held=dashboard.sittings_held,
        person_times=modes.total, by_mode={r.key: r.n for r in modes.rows}, cycle=dashboard.cycle.overall,
        within_limit=f["limits"].get("within_limit"), limit_total=f["limits"].total,
        open_now=f["backlog"].total, overdue_now=f["risk"].get("overdue"),
    )


def _figure_table(result: FigureResult) -> Table:
    sheet = str(SHEET_TITLES.get(result.key, result.label))
    note = _("Cases open when the report was made, whatever the period.") if result.key in SNAPSHOTS else ""
    if result.partition:
        total = result.total
        return Table(
            key=result.key, sheet=sheet, title=str(result.label),
            columns=(Column(_("Item"), TEXT), Column(_("How many"), COUNT), Column(_("Share"), SHARE)),
            rows=tuple((str(r.label), r.n, share(r.n, total)) for r in result.rows),
            total=(_("Total"), total, share(total, total)), note=note,
        )
    return Table(key=result.key, sheet=sheet, title=str(result.label),
                 columns=(Column(_("Item"), TEXT), Column(_("How many"), COUNT)),
                 rows=tuple((str(r.label), r.n) for r in result.rows), note=note)


def _cycle_columns(first: str) -> tuple[Column, ...]:
    return (
        Column(first, TEXT),
        Column(_("Cases concluded"), COUNT),
        Column(_("Median (working days)"), DAYS),
        Column(_("90th percentile (working days)"), DAYS),
        Column(_("Median (calendar days)"), DAYS),
        Column(_("90th percentile (calendar days)"), DAYS),
        Column(_("Without a working-day calendar"), COUNT),
    )


def _cycle_row(label: Any, stats: CycleStats) -> tuple[Any, ...]:
    return (str(label), stats.n, stats.median_workdays, stats.p90_workdays, stats.median_days, stats.p90_days,
            stats.without_calendar)


def _cycle_table(key: str, sheet: str, title: str, first: str,
                 groups: Iterable[tuple[Any, str, CycleStats]], overall: CycleStats) -> Table:
    return Table(key=key, sheet=sheet, title=title, columns=_cycle_columns(first),
                 rows=tuple(_cycle_row(label, stats) for label, _value, stats in groups),
                 total=_cycle_row(_("All cases concluded"), overall))


def _committee_table(dashboard: Dashboard) -> Table:
    columns = (
        Column(_("Committee"), TEXT),
        Column(_("Applications received"), COUNT),
        Column(_("Accepted"), COUNT),
        Column(_("Concluded"), COUNT),
        Column(_("Within the statutory limit"), COUNT),
        Column(_("After the statutory limit"), COUNT),
        Column(_("Rate within the limit"), SHARE),
        Column(_("Open now"), COUNT),
        Column(_("Overdue now"), COUNT),
        Column(_("Due soon"), COUNT),
    )

    def row(label: str, figures: dict[str, FigureResult]) -> tuple[Any, ...]:
        flow, limits, risk = figures["flow"], figures["limits"], figures["risk"]
        within, late = limits.get("within_limit"), limits.get("late")
        return (label, flow.get("received"), flow.get("accepted"), flow.get("concluded"), within, late,
                share(within, limits.total), figures["backlog"].total, risk.get("overdue"), risk.get("at_risk"))

    return Table(key="committees", sheet=_("By committee"), title=_("Each committee side by side"),
                 columns=columns, rows=tuple(row(c.name, figs) for c, figs in dashboard.committees),
                 total=row(_("Total"), dashboard.figures),
                 note=_("Open cases and warnings are counted when the report was made."))


def _workload_table(dashboard: Dashboard) -> Table:
    """The experts' panel seats, from the dashboard's list (experts with a seat or an opinion only)."""
    result = dashboard.figures["workload"]
    return Table(key="workload", sheet=_("Expert workload"), title=str(result.label),
                 columns=(Column(_("Expert"), TEXT), Column(_("Panel seats"), COUNT),
                          Column(_("Opinions signed in the period"), COUNT)),
                 rows=tuple((str(row.label), row.n, signed) for row, signed in dashboard.workload))


def dashboard_tables(dashboard: Dashboard) -> list[Table]:
    """Every table of the dashboard, in the order the report shows them."""
    tables = [_workload_table(dashboard) if key == "workload" else _figure_table(result)
              for key, result in dashboard.figures.items()]
    cycle = dashboard.cycle
    tables.append(_cycle_table("cycle_mode", _("Cycle time by mode"),
                               _("Time from application to conclusion, by appraisal mode"), _("Appraisal mode"),
                               cycle.by_mode, cycle.overall))
    tables.append(_cycle_table("cycle_type", _("Cycle time by case type"),
                               _("Time from application to conclusion, by case type"), _("Case type"),
                               cycle.by_type, cycle.overall))
    if dashboard.committees:
        tables.append(_committee_table(dashboard))
    return tables
