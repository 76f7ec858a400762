"""Excel (.xlsx) import and export of the expert pool: parsing and writing only, no saving.

The header row names the columns, in Chinese (as exported) or by their English keys; order is free.
Experts are identified by their expert number (专家编号), so importing the same file twice
changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from laojian.core.exports import xlsx_append
from laojian.experts.models import Expert

# (key, header as exported)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "专家编号"),
    ("name", "姓名"),
    ("hospital", "医院编码"),
    ("specialties", "科别编码"),
    ("title", "职称"),
    ("senior_title", "高级职称已核验"),
    ("term_start", "聘期开始"),
    ("term_end", "聘期结束"),
    ("status", "状态"),
    ("phone", "电话"),
)
_HEADERS = {header: key for key, header in COLUMNS} | {key: key for key, _h in COLUMNS}
_TRUE = {"是", "yes", "y", "true", "1", "√"}
_FALSE = {"否", "no", "n", "false", "0", ""}
_STATUS = {"在聘": "active", "暂停": "suspended", "解聘": "retired", **{s: s for s in Expert.Status.values}}
_STATUS_OUT = {"active": "在聘", "suspended": "暂停", "retired": "解聘"}


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]


@dataclass
class Parsed:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(_text(value).replace("/", "-"))
    except ValueError:
        return None


def parse(data: bytes) -> Parsed:
    """Read the workbook's first sheet; every problem becomes a RowError (row 1 is the header)."""
    parsed = Parsed()
    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except Exception:  # noqa: BLE001 - openpyxl raises many types for a file that is not .xlsx
        parsed.errors.append(RowError(0, "", _("The file is not an Excel (.xlsx) workbook.")))
        return parsed
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    keys: list[str | None] = []
    for cell in header:
        name = _text(cell)
        if not name:
            keys.append(None)
            continue
        key = _HEADERS.get(name)
        if key is None:
            parsed.errors.append(RowError(1, name, _("Unknown column “%(column)s”.") % {"column": name}))
        keys.append(key)
    for key, label in COLUMNS:
        if key not in keys:
            parsed.errors.append(RowError(1, label, _("Missing column “%(column)s”.") % {"column": label}))
    if parsed.errors:
        return parsed
    for number, values in enumerate(rows, start=2):
        raw = {k: v for k, v in zip(keys, values, strict=False) if k}
        if all(_text(v) == "" for v in raw.values()):
            continue
        parsed.rows.append(ParsedRow(number, _clean(number, raw, parsed.errors)))
    return parsed


def _clean(number: int, raw: dict[str, Any], errors: list[RowError]) -> dict[str, Any]:
    labels = dict(COLUMNS)
    out: dict[str, Any] = {}

    def err(key: str, message: str) -> None:
        errors.append(RowError(number, labels[key], message))

    for key in ("code", "name", "hospital", "title"):
        out[key] = _text(raw.get(key))
        if not out[key]:
            err(key, _("This cannot be left empty."))
    out["phone"] = _text(raw.get("phone"))
    out["specialties"] = sorted({s for s in re.split(r"[,，、;；\s]+", _text(raw.get("specialties"))) if s})
    if not out["specialties"]:
        err("specialties", _("Give at least one specialty code."))
    senior = _text(raw.get("senior_title")).lower()
    if senior in _TRUE:
        out["senior_title"] = True
    elif senior in _FALSE:
        out["senior_title"] = False
    else:
        err("senior_title", _("Write 是 or 否."))
    for key in ("term_start", "term_end"):
        out[key] = _date(raw.get(key))
        if out[key] is None:
            err(key, _("Write a date as 2026-01-31."))
    if out.get("term_start") and out.get("term_end") and out["term_end"] < out["term_start"]:
        err("term_end", _("The term cannot end before it starts."))
    status = _STATUS.get(_text(raw.get("status")) or "在聘")
    if status is None:
        err("status", _("Write 在聘, 暂停 or 解聘."))
    out["status"] = status
    return out


def export_experts(committee: Any) -> bytes:
    """The committee's experts as an .xlsx that ``parse`` reads back unchanged."""
    wb = Workbook()
    ws = wb.active
    ws.title = "专家库"
    xlsx_append(ws, [header for _k, header in COLUMNS])
    experts = (
        Expert.objects.filter(committee=committee).exclude(code="")
        .select_related("hospital").prefetch_related("specialties").order_by("code")
    )
    for e in experts:
        xlsx_append(ws, [
            e.code, e.name, e.hospital.code, "、".join(sorted(s.code for s in e.specialties.all())), e.title,
            "是" if e.senior_title else "否", e.term_start.isoformat(), e.term_end.isoformat(),
            _STATUS_OUT.get(e.status, e.status), e.phone,
        ])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
