"""Spreadsheets we hand out never run what a user or a partner typed (issue 10, CSV/formula injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel and
WPS as a formula (``=HYPERLINK(...)``, ``=cmd|...``). In a CSV such text gets a leading apostrophe
(OWASP's advice: the spreadsheet shows it as text; the apostrophe is the visible cost). In an
.xlsx, openpyxl would store a string starting with ``=`` as a formula: it is stored as a string
cell instead, so the text comes back unchanged when the file is read again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = r"^[=+\-@\t\r]"


def csv_safe(value: Any) -> Any:
    """A CSV cell's value, with text that a spreadsheet would run as a formula quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe_columns(frame: pl.DataFrame, columns: Iterable[str] | None = None) -> pl.DataFrame:
    """The same for the text columns of a Polars frame (vectorised)."""
    names = [c for c in (columns or frame.columns) if frame.schema[c] == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_RE)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in names)


def xlsx_append(ws: Any, values: Iterable[Any]) -> None:
    """``ws.append(values)``, with every text cell kept as text (never a formula).

    A write-only sheet (large exports) has no cells to fix afterwards: its formula-like text goes
    in as string cells made beforehand.
    """
    if isinstance(ws, WriteOnlyWorksheet):
        ws.append([_text_cell(ws, v) if isinstance(v, str) and v.startswith("=") else v for v in values])
        return
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"


def _text_cell(ws: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell
