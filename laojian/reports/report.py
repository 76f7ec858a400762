"""The committee's monthly and annual report: a summary in the committee's wording, then the tables
of the dashboard, as PDF (``report_pdf``) and as Excel (``workbook``).

The text is written in the active language (Simplified Chinese by default). The report is made
from the same ``selectors.dashboard`` as the statistics pages, over one calendar month or year (cut
at today while it is still running). Same figures, same period: same bytes, PDF and Excel alike.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from laojian.cases.models import Mode
from laojian.core.errors import ValidationFailed
from laojian.reports import report_pdf, selectors, workbook
from laojian.reports.scope import Scope
from laojian.reports.tables import KeyFigures, Table, dashboard_tables, key_figures

MONTH, YEAR = "month", "year"
KINDS = (MONTH, YEAR)
FIRST_YEAR = 2000
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
YEAR_RE = re.compile(r"^(\d{4})$")


class BadPeriod(ValidationFailed):
    code = "bad_period"


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date
    last: dt.date
    value: str  # as asked for: "2026-11" or "2026"
    running: bool = False  # the month or year is not over yet: cut at today


def parse_period(kind: str, value: str, today: dt.date) -> Period:
    """The month (``YYYY-MM``) or year (``YYYY``) asked for; ``BadPeriod`` with a message saying what
    is wrong otherwise (not a month, not begun yet, too early)."""
    value = (value or "").strip()
    if kind == MONTH:
        match = MONTH_RE.match(value)
        if not match or not 1 <= int(match[2]) <= 12:
            raise BadPeriod(_("Give the month as year and month, for example %(example)s.")
                            % {"example": f"{today.year}-{today.month:02d}"})
        year, month = int(match[1]), int(match[2])
    elif kind == YEAR:
        match = YEAR_RE.match(value)
        if not match:
            raise BadPeriod(_("Give the year in four digits, for example %(example)s.") % {"example": today.year})
        year, month = int(match[1]), 0
    else:
        raise BadPeriod(_("Choose a monthly or an annual report."))
    if year < FIRST_YEAR:
        raise BadPeriod(_("Reports start with the year %(year)s.") % {"year": FIRST_YEAR})
    if month:
        first = dt.date(year, month, 1)
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        value = f"{year}-{month:02d}"
    else:
        first, last, value = dt.date(year, 1, 1), dt.date(year, 12, 31), str(year)
    if first > today:
        raise BadPeriod(_("That period has not begun yet."))
    return Period(kind=kind, first=first, last=min(last, today), value=value, running=last > today)


def scope_for(committee_ids: tuple[int, ...], period: Period) -> Scope:
    return Scope(committee_ids=committee_ids, first=period.first, last=period.last)


@dataclass(frozen=True)
class Report:
    """What the report prints: heading, summary paragraphs, tables (and the figures behind them)."""

    title: str
    committees: tuple[str, ...]
    period: Period
    period_label: str
    paragraphs: tuple[str, ...]
    tables: tuple[Table, ...]
    figures: KeyFigures
    dashboard: selectors.Dashboard

    @property
    def period_line(self) -> str:
        return workbook.period_text(self.period.first, self.period.last)


def period_label(period: Period) -> str:
    if period.kind == MONTH:
        return _("%(year)s, month %(month)s") % {"year": period.first.year, "month": period.first.month}
    return _("the year %(year)s") % {"year": period.first.year}


def report_title(period: Period) -> str:
    if period.kind == MONTH:
        return _("Labour-capacity appraisal: monthly report for %(period)s") % {"period": period_label(period)}
    return _("Labour-capacity appraisal: annual report for %(period)s") % {"period": period_label(period)}


def _days(n: int | None) -> str:
    return "—" if n is None else str(n)


def summary_paragraphs(figures: KeyFigures, period: Period) -> list[str]:
    """The summary in the committee's wording, one paragraph per subject."""
    paragraphs = []
    if period.running:
        paragraphs.append(_("The period is not over yet: the figures run to %(last)s.")
                          % {"last": period.last.isoformat()})
    modes = figures.by_mode
    paragraphs.append(
        _("In this period the committee received %(received)s applications for appraisal, accepted "
          "%(accepted)s and made %(concluded)s conclusions; it held %(sittings)s sittings and appraised "
          "%(person_times)s person-times (sitting %(sitting)s, clinic %(clinic)s, home visit %(home)s, "
          "remote %(remote)s).")
        % {"received": figures.received, "accepted": figures.accepted, "concluded": figures.concluded,
           "sittings": figures.sittings_held, "person_times": figures.person_times,
           "sitting": modes.get(Mode.SITTING, 0), "clinic": modes.get(Mode.CLINIC, 0),
           "home": modes.get(Mode.HOME, 0), "remote": modes.get(Mode.REMOTE, 0)})
    cycle = figures.cycle
    if cycle.n == 0:
        paragraphs.append(_("No case with a recorded application date was concluded in this period."))
    elif cycle.median_workdays is None:
        paragraphs.append(
            _("Of the %(n)s cases concluded, the median time from application to conclusion was %(median_days)s "
              "calendar days (the working-day calendar does not cover these dates).")
            % {"n": cycle.n, "median_days": _days(cycle.median_days)})
    else:
        paragraphs.append(
            _("Of the %(n)s cases concluded, the median time from application to conclusion was %(median)s "
              "working days (%(median_days)s calendar days); nine in ten were concluded within %(p90)s "
              "working days.")
            % {"n": cycle.n, "median": cycle.median_workdays, "median_days": _days(cycle.median_days),
               "p90": _days(cycle.p90_workdays)})
    rate = figures.within_limit_rate
    if rate is not None:
        paragraphs.append(
            _("%(rate)s%% were concluded within the statutory limit (%(within)s of %(total)s conclusions).")
            % {"rate": f"{rate * 100:.1f}", "within": figures.within_limit, "total": figures.limit_total})
    paragraphs.append(_("When the report was made, %(open)s cases were open, %(overdue)s of them overdue.")
                      % {"open": figures.open_now, "overdue": figures.overdue_now})
    return paragraphs


def period_report(committee_ids: tuple[int, ...], period: Period) -> Report:
    """The report of ``period`` over the committees (already authorised by the caller)."""
    dashboard = selectors.dashboard(scope_for(committee_ids, period))
    figures = key_figures(dashboard)
    return Report(
        title=report_title(period), committees=tuple(workbook.committee_names(dashboard)), period=period,
        period_label=period_label(period), paragraphs=tuple(summary_paragraphs(figures, period)),
        tables=tuple(dashboard_tables(dashboard)), figures=figures, dashboard=dashboard,
    )


def report_xlsx(report: Report) -> bytes:
    return workbook.dashboard_workbook(report.dashboard, title=report.title, paragraphs=report.paragraphs)


def report_as_pdf(report: Report) -> bytes:
    return report_pdf.render(report_pdf.Document(
        title=report.title, committees=report.committees, period=report.period_line,
        paragraphs=report.paragraphs, tables=report.tables,
        created=workbook.stamp_of(report.dashboard),
    ))


def file_name(report: Report, extension: str, committee_short_name: str = "") -> str:
    """The download's file name, e.g. "聊城-2026-11月报.pdf" (sent in UTF-8 by RFC 5987)."""
    if report.period.kind == MONTH:
        name = _("%(period)s monthly report") % {"period": report.period.value}
    else:
        name = _("%(period)s annual report") % {"period": report.period.value}
    if committee_short_name:
        name = f"{committee_short_name}-{name}"
    name = re.sub(r'[\\/:*?"<>|\s]+', "-", name).strip("-")
    return f"{name}.{extension}"
