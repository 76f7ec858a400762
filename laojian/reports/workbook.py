"""The dashboard (and the monthly or annual report) as an Excel workbook: a summary sheet, then one
sheet per table, titled in the active language.

Deterministic: the workbook's creator and dates are fixed (the period's last day at 00:00, never
"now") and so are the dates inside the zip, so the same figures for the same period give the same
bytes, however often and whenever the file is made. Every text cell is written as text, never as a
formula (``core.exports.xlsx_append``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from laojian.core.exports import xlsx_append
from laojian.core.models import Committee
from laojian.reports.selectors import Dashboard
from laojian.reports.tables import (
    COUNT,
    DAYS,
    SHARE,
    Column,
    KeyFigures,
    Table,
    dashboard_tables,
    key_figures,
)

CREATOR = "Laojian"
MAX_TITLE = 31
FORBIDDEN_IN_TITLE = re.compile(r"[\[\]:*?/\\]")
NUMBER_FORMATS = {COUNT: "#,##0", DAYS: "0", SHARE: "0.0%"}
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=13)
HEADER_FILL = PatternFill("solid", fgColor="E7ECF2")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
WRAP = Alignment(wrap_text=True, vertical="top")
MIN_WIDTH, MAX_WIDTH = 8, 48


def sheet_title(text: str, used: set[str]) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, no leading or trailing apostrophe, ≤ 31 characters."""
    base = FORBIDDEN_IN_TITLE.sub(" ", text).strip().strip("'").strip()[:MAX_TITLE] or "Sheet"
    title, n = base, 1
    while title.lower() in used:
        n += 1
        suffix = f" ({n})"
        title = base[:MAX_TITLE - len(suffix)] + suffix
    used.add(title.lower())
    return title


def display_width(value: Any) -> int:
    """How many columns a value needs: a Chinese character takes two."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def stamp_of(dashboard: Dashboard) -> dt.datetime:
    """The workbook's (and the report's) fixed timestamp: the period's last day at 00:00."""
    return dt.datetime.combine(dashboard.scope.last, dt.time())


def committee_names(dashboard: Dashboard) -> list[str]:
    return list(Committee.objects.filter(pk__in=dashboard.scope.committee_ids).order_by("code")
                .values_list("name", flat=True))


def period_text(first: dt.date, last: dt.date) -> str:
    return _("%(first)s to %(last)s") % {"first": first.isoformat(), "last": last.isoformat()}


def _format(cell: Any, kind: str) -> None:
    if kind in NUMBER_FORMATS and cell.value is not None:
        cell.number_format = NUMBER_FORMATS[kind]


def _widths(ws: Worksheet, widths: dict[int, int]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(MIN_WIDTH, min(MAX_WIDTH, width + 2))


def _measure(widths: dict[int, int], values: Sequence[Any], kinds: Sequence[str] | None = None) -> None:
    for i, value in enumerate(values, start=1):
        if kinds and kinds[i - 1] == SHARE and isinstance(value, float):
            value = f"{value:.1%}"
        widths[i] = max(widths.get(i, 0), display_width(value))


def _table_sheet(wb: Workbook, table: Table, used: set[str]) -> None:
    ws = wb.create_sheet(sheet_title(table.sheet, used))
    kinds = [c.kind for c in table.columns]
    widths: dict[int, int] = {}
    xlsx_append(ws, [table.title])
    ws.cell(1, 1).font = TITLE_FONT
    header = [c.label for c in table.columns]
    xlsx_append(ws, header)
    for cell in ws[2]:
        cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, HEADER_ALIGN
    _measure(widths, header)
    for row in table.rows:
        _append_row(ws, row, table.columns)
        _measure(widths, row, kinds)
    if table.total is not None:
        _append_row(ws, table.total, table.columns)
        for cell in ws[ws.max_row]:
            cell.font = BOLD
        _measure(widths, table.total, kinds)
    if table.note:
        ws.append([])
        xlsx_append(ws, [table.note])
    ws.freeze_panes = "A3"
    _widths(ws, widths)


def _append_row(ws: Worksheet, row: Sequence[Any], columns: Sequence[Column]) -> None:
    xlsx_append(ws, row)
    for cell, column in zip(ws[ws.max_row], columns, strict=False):
        _format(cell, column.kind)


def _summary_sheet(ws: Worksheet, *, title: str, names: list[str], period: str, figures: KeyFigures,
                   paragraphs: Iterable[str], tables: list[tuple[str, Table]]) -> None:
    ws.title = sheet_title(_("Summary"), set())
    xlsx_append(ws, [title])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    for label, value in ((_("Committee"), "、".join(names)), (_("Reporting period"), period)):
        xlsx_append(ws, [label, value])
        ws.cell(ws.max_row, 1).font = BOLD
    ws.append([])
    xlsx_append(ws, [_("Key figures"), _("How many")])
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    c = figures.cycle
    for label, value, kind in (
        (_("Applications received"), figures.received, COUNT),
        (_("Applications accepted"), figures.accepted, COUNT),
        (_("Conclusions made"), figures.concluded, COUNT),
        (_("Sittings held"), figures.sittings_held, COUNT),
        (_("Person-times appraised"), figures.person_times, COUNT),
        (_("Median cycle time (working days)"), c.median_workdays, DAYS),
        (_("90th percentile cycle time (working days)"), c.p90_workdays, DAYS),
        (_("Median cycle time (calendar days)"), c.median_days, DAYS),
        (_("Rate concluded within the statutory limit"), figures.within_limit_rate, SHARE),
        (_("Cases open when the report was made"), figures.open_now, COUNT),
        (_("Of which overdue"), figures.overdue_now, COUNT),
    ):
        xlsx_append(ws, [label, value])
        _format(ws.cell(ws.max_row, 2), kind)
    paragraphs = list(paragraphs)
    if paragraphs:
        ws.append([])
        for paragraph in paragraphs:
            xlsx_append(ws, [paragraph])
            ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=2)
            ws.cell(ws.max_row, 1).alignment = WRAP
            ws.row_dimensions[ws.max_row].height = 15 * max(1, -(-display_width(paragraph) // 90))
    ws.append([])
    xlsx_append(ws, [_("Sheet"), _("Table")])
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    for name, table in tables:
        xlsx_append(ws, [name, table.title])
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 60


def _save(wb: Workbook, stamp: dt.datetime) -> bytes:
    """The workbook's bytes, with every date in it (properties and zip entries) set to ``stamp``."""
    props = wb.properties
    props.creator = props.lastModifiedBy = CREATOR
    props.created = props.modified = stamp
    raw = io.BytesIO()
    # ExcelWriter rather than wb.save(): save() sets the modified date to now.
    ExcelWriter(wb, ZipFile(raw, "w", ZIP_DEFLATED, allowZip64=True)).save()
    out = io.BytesIO()
    with ZipFile(raw) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def dashboard_workbook(dashboard: Dashboard, *, title: str | None = None, paragraphs: Iterable[str] = ()) -> bytes:
    """The dashboard as .xlsx bytes: a summary sheet (committees, period, key figures, ``paragraphs``
    and a table of contents), then one sheet per table."""
    scope = dashboard.scope
    tables = dashboard_tables(dashboard)
    wb = Workbook()
    summary = wb.active
    used = {sheet_title(_("Summary"), set()).lower()}
    for table in tables:
        _table_sheet(wb, table, used)
    named = list(zip(wb.sheetnames[1:], tables, strict=True))
    _summary_sheet(summary, title=title or _("Statistics"), names=committee_names(dashboard),
                   period=period_text(scope.first, scope.last), figures=key_figures(dashboard),
                   paragraphs=paragraphs, tables=named)
    wb.properties.title = title or _("Statistics")
    return _save(wb, stamp_of(dashboard))
