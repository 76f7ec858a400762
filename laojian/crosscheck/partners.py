"""Partner data import: the sources a liaison maps once, and the engine that reads their files.

Medical-insurance settlement records and health-department records arrive as CSV (UTF-8, UTF-8 with
a BOM, or GBK/GB18030) or Excel, millions of rows a month, and through the push API. The engine
reads a file in chunks of ``CHUNK_ROWS`` rows with Polars (no ORM per row), normalises each chunk
(trimmed text, dates in several formats, upper-case ID numbers with their GB 11643 check), drops
rows already stored (by ``row_key``, a hash of the normalised fields), writes the rest as one
Parquet chunk (``store.write_chunk``) and then moves the run's checkpoint. A crash resumes from the
checkpoint: the chunk being written when it happened is written again, which replaces it.

Rejected rows (no ID number, no usable date, …) are reported with their line and reason: the first
``REJECTS_KEPT`` on the run, every one in a CSV report next to the upload. An ID number whose
check digit is wrong is kept, with ``id_valid`` false, and counted as "kept with a warning".

Memory stays flat whatever the file's size: Polars streams the CSV, a few chunks are in flight, and
the keys already stored or met are held as 16-byte integers (``KeyIndex``). Chunks go through a
pipeline (normalise, key in a thread, de-duplicate, write in a thread) so both cores work.

Sections: fields and reasons, sources (services and selectors), files (upload storage,
inspection, decoding), normalisation, the key index, the import run, the push API.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl
import polars_hash as plh
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laojian.core import audit
from laojian.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from laojian.core.exports import csv_safe, csv_safe_columns
from laojian.core.models import Committee, User
from laojian.core.tasks import current_attempt
from laojian.core.validators import ID_CHECK_CHARS, ID_WEIGHTS
from laojian.crosscheck import store
from laojian.crosscheck.models import ImportRun, Source

log = logging.getLogger(__name__)

CHUNK_ROWS = 200_000  # rows per Parquet chunk and per checkpoint
REJECTS_KEPT = 200  # rejected rows kept on the run (all of them are in the report file)
SAMPLE_ROWS = 5  # rows shown under the headers when the liaison maps the columns
HEAD_BYTES = 256 * 1024  # what inspection reads of a CSV file
DECODE_BLOCK = 4 * 1024 * 1024
MAX_PUSH_RECORDS = 10_000
MAX_PUSH_BYTES = 32 * 1024 * 1024
# A running import whose checkpoint has not moved for this long is taken for dead (its worker
# crashed) and may be resumed.
STALE_AFTER = dt.timedelta(minutes=30)
ROW = "_row"  # the row index column (0 = the first row after the header)
LINE = "line"  # the line in the file: the header is line 1
REASON = "_reason"
# Excel stores dates as days since 1899-12-30 (the 1900 leap-year bug included).
EXCEL_EPOCH = dt.date(1899, 12, 30)
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
SEPARATORS = (",", "\t", ";", "|")
KEY_SEPARATOR = "\x1f"


# FIELDS AND REASONS ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One of our fields a partner's column can be mapped to."""

    name: str
    label: Any  # lazy translation
    date: bool = False


CARE_FIELDS: tuple[Field, ...] = (
    Field("id_number", gettext_lazy("ID number")),
    Field("person_name", gettext_lazy("name")),
    Field("hospital_code", gettext_lazy("hospital code")),
    Field("hospital_name", gettext_lazy("hospital name")),
    Field("service", gettext_lazy("type of care (inpatient, outpatient, examination)")),
    Field("admitted_on", gettext_lazy("admitted on / date of the visit"), date=True),
    Field("discharged_on", gettext_lazy("discharged on"), date=True),
    Field("diagnosis", gettext_lazy("diagnosis")),
    Field("icd10", gettext_lazy("ICD-10 code")),
    Field("record_number", gettext_lazy("record or settlement number")),
)
LICENSED_FIELDS: tuple[Field, ...] = (
    Field("hospital_code", gettext_lazy("hospital code")),
    Field("hospital_name", gettext_lazy("hospital name")),
    Field("services", gettext_lazy("licensed services")),
    Field("valid_from", gettext_lazy("licensed from"), date=True),
    Field("valid_until", gettext_lazy("licensed until"), date=True),
)
# At least one field of each group must be mapped (and given in every row).
CARE_REQUIRED: tuple[tuple[str, ...], ...] = (("id_number",), ("hospital_name", "hospital_code"), ("admitted_on",))
LICENSED_REQUIRED: tuple[tuple[str, ...], ...] = (("hospital_code", "hospital_name"), ("services",))
# The fields the row key is made of, in this order (everything but the derived id_valid and the ids).
CARE_KEY = ("id_number", "person_name", "hospital_code", "hospital_name", "service", "admitted_on",
            "discharged_on", "diagnosis", "icd10", "record_number")
LICENSED_KEY = ("hospital_code", "hospital_name", "services", "valid_from", "valid_until")

REASONS: dict[str, Any] = {
    "empty": gettext_lazy("empty row"),
    "no_id": gettext_lazy("no ID number"),
    "no_hospital": gettext_lazy("neither a hospital name nor a hospital code"),
    "no_date": gettext_lazy("no admission or visit date"),
    "bad_date": gettext_lazy("the admission or visit date is not a date"),
    "bad_discharge": gettext_lazy("the discharge date is not a date"),
    "discharge_before_admission": gettext_lazy("discharged before admitted"),
    "no_services": gettext_lazy("no licensed services"),
    "bad_valid_from": gettext_lazy("the “licensed from” date is not a date"),
    "bad_valid_until": gettext_lazy("the “licensed until” date is not a date"),
    "valid_until_before_from": gettext_lazy("licence ends before it starts"),
}
# What partners write for a type of care, and our word for it (first match wins).
SERVICE_WORDS: tuple[tuple[str, str], ...] = (
    (r"住院|inpatient", "inpatient"),
    (r"门|急诊|outpatient", "outpatient"),
    (r"检|examination", "examination"),
)


# Headers partners commonly use, for the first guess on the mapping page (the liaison confirms it).
HEADER_HINTS: tuple[tuple[str, str], ...] = (
    ("id_number", r"身份证|证件号|id_?number|sfzh"),
    ("person_name", r"^姓名$|参保人姓名|患者姓名|^name$"),
    ("hospital_code", r"(机构|医院|医药机构).*(编码|代码|编号)|hospital_?code"),
    ("hospital_name", r"(机构|医院|医药机构).*名称|^医院$|hospital_?name"),
    ("service", r"医疗类别|就诊类型|就医类型|诊疗类型|service"),
    ("services", r"诊疗科目|执业范围|服务项目|services"),
    ("admitted_on", r"入院(日期|时间)|就诊(日期|时间)|admitted"),
    ("discharged_on", r"出院(日期|时间)|discharged"),
    ("icd10", r"(诊断|疾病).*(编码|代码)|icd"),
    ("diagnosis", r"(诊断|疾病)(名称)?$|diagnosis"),
    ("record_number", r"结算(单)?号|流水号|住院号|单据号|record_?number"),
    ("valid_from", r"发证日期|有效期(起|开始)|valid_from"),
    ("valid_until", r"有效期(至|止|截止)|valid_until"),
)
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "gb18030": "GBK/GB18030", "": "Excel"}


def suggest_mapping(kind: str, headers: Iterable[str]) -> dict[str, str]:
    """A first guess at the mapping from the file's headers: each field the first header its hint
    matches, each header used once."""
    names = {f.name for f in fields_for(kind)}
    remaining = list(headers)
    out: dict[str, str] = {}
    for name, pattern in HEADER_HINTS:
        if name not in names:
            continue
        header = next((h for h in remaining if re.search(pattern, h, flags=re.IGNORECASE)), None)
        if header is not None:
            out[name] = header
            remaining.remove(header)
    return out


def is_care(kind: str) -> bool:
    return kind in store.CARE_KINDS


def fields_for(kind: str) -> tuple[Field, ...]:
    return CARE_FIELDS if is_care(kind) else LICENSED_FIELDS


def required_for(kind: str) -> tuple[tuple[str, ...], ...]:
    return CARE_REQUIRED if is_care(kind) else LICENSED_REQUIRED


def reason_label(code: str) -> str:
    return str(REASONS.get(code, code))


def field_label(kind: str, name: str) -> str:
    return next((str(f.label) for f in fields_for(kind) if f.name == name), name)


def mapping_gaps(kind: str, mapping: dict[str, str]) -> list[str]:
    """The required fields (or groups, "a or b") the mapping leaves out, as labels."""
    gaps = []
    for group in required_for(kind):
        if not any(mapping.get(name) for name in group):
            gaps.append(_(" or ").join(field_label(kind, name) for name in group))
    return gaps


class ImportDataError(ApplicationError):
    """The file cannot be imported as it is (encoding, columns, structure): trying again will not help."""

    code = "import_data"
    default_message = gettext_lazy("The file cannot be imported.")


# SOURCES ---------------------------------------------------------------------------------------------

def _require_manager(actor: User | None) -> None:
    """``None`` is the console (an operator on the server), which may do anything."""
    if actor is not None and not actor.has_perm("crosscheck.manage_sources"):
        raise PermissionDeniedError()


def sources_for(user: User) -> QuerySet[Source]:
    """The sources of the user's committee (none for a user without one)."""
    return Source.objects.filter(committee_id=user.committee_id) if user.committee_id else Source.objects.none()


def source_get_for(user: User, pk: int) -> Source:
    """The source, if it belongs to the user's committee; else NotFoundError (missing and foreign alike)."""
    source = sources_for(user).filter(pk=pk).first()
    if source is None:
        raise NotFoundError(_("No such source."))
    return source


def run_get_for(user: User, pk: int) -> ImportRun:
    run = (ImportRun.objects.select_related("source", "started_by")
           .filter(pk=pk, source__committee_id=user.committee_id).first() if user.committee_id else None)
    if run is None:
        raise NotFoundError(_("No such import."))
    return run


def runs_of(source: Source) -> QuerySet[ImportRun]:
    return ImportRun.objects.filter(source=source).select_related("started_by").order_by("-created_at", "-id")


def finished_run_ids(committee_id: int, kind: str) -> list[int]:
    """The runs whose records count (state done), for ``store.records``."""
    return list(ImportRun.objects.filter(source__committee_id=committee_id, source__kind=kind,
                                         state=ImportRun.State.DONE).order_by("pk").values_list("pk", flat=True))


def source_create(committee: Committee, *, kind: str, name: str, department: str = "", actor: User) -> Source:
    """A new partner source; its columns are mapped after the first upload."""
    _require_manager(actor)
    name = name.strip()
    if kind not in Source.Kind.values:
        raise ValidationFailed(_("Choose the kind of records."), extra={"fields": {"kind": [_("Choose a kind.")]}})
    if not name:
        raise ValidationFailed(_("Give the source a name."), extra={"fields": {"name": [_("This is required.")]}})
    if Source.objects.filter(committee=committee, name=name).exists():
        message = _("There is already a source called %(name)s.") % {"name": name}
        raise ValidationFailed(message, extra={"fields": {"name": [message]}})
    with transaction.atomic():
        source = Source.objects.create(committee=committee, kind=kind, name=name, department=department.strip())
        audit.record("crosscheck.source_create", actor=actor, obj=source, committee=committee,
                     after={"kind": kind, "name": name, "department": source.department})
    return source


def _unfinished(source: Source) -> ImportRun | None:
    """A run of the source that has written chunks and is neither done nor discarded."""
    return (ImportRun.objects.filter(source=source, chunks_done__gt=0)
            .exclude(state=ImportRun.State.DONE).order_by("pk").first())


def source_map_columns(source: Source, mapping: dict[str, str], *, actor: User,
                       headers: Iterable[str] | None = None) -> Source:
    """Save which of the partner's columns holds each of our fields; reused for every later file.

    ``headers`` are the columns of the file the liaison mapped from: each mapped column must be one
    of them. Refused while an import of the source is half done: its remaining chunks would be
    read with another mapping than its first ones.
    """
    _require_manager(actor)
    known = {f.name for f in fields_for(source.kind)}
    clean = {name: str(header).strip() for name, header in mapping.items() if name in known and str(header or "").strip()}
    errors: dict[str, list[str]] = {}
    if headers is not None:
        available = set(headers)
        for name, header in clean.items():
            if header not in available:
                errors.setdefault(name, []).append(_("The file has no column %(column)s.") % {"column": header})
    used: dict[str, str] = {}
    for name, header in clean.items():
        if header in used:
            errors.setdefault(name, []).append(
                _("The column %(column)s is already used for %(field)s.")
                % {"column": header, "field": field_label(source.kind, used[header])})
        used.setdefault(header, name)
    gaps = mapping_gaps(source.kind, clean)
    if gaps:
        message = _("Map a column to each of: %(fields)s.") % {"fields": "; ".join(gaps)}
        raise ValidationFailed(message, code="mapping_incomplete", extra={"fields": errors, "gaps": gaps})
    if errors:
        raise ValidationFailed(_("Some columns cannot be used."), extra={"fields": errors})
    unfinished = _unfinished(source)
    if unfinished is not None:
        raise ConflictError(_("Import #%(run)s of this source is half done: resume or discard it before changing "
                              "the columns.") % {"run": unfinished.pk}, code="import_unfinished")
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        before = dict(locked.mapping)
        locked.mapping = clean
        locked.save(update_fields=["mapping", "updated_at"])
        audit.record("crosscheck.source_map", actor=actor, obj=locked, committee=locked.committee,
                     before={"mapping": before}, after={"mapping": clean})
    source.mapping = clean
    return source


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def source_token_new(source: Source, *, actor: User) -> str:
    """A new push API token for the source (the old one stops working); shown once, stored as SHA-256."""
    _require_manager(actor)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(api_token_hash=token_hash(token), updated_at=timezone.now())
        audit.record("crosscheck.source_token", actor=actor, obj=source, committee=source.committee,
                     after={"token": "new"})
    source.api_token_hash = token_hash(token)
    return token


def source_token_revoke(source: Source, *, actor: User) -> None:
    _require_manager(actor)
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(api_token_hash="", updated_at=timezone.now())
        audit.record("crosscheck.source_token", actor=actor, obj=source, committee=source.committee,
                     after={"token": "revoked"})
    source.api_token_hash = ""


def source_for_token(source_id: int, token: str) -> Source | None:
    """The active source the token opens, or None (wrong token, no token set, no such source)."""
    source = Source.objects.select_related("committee").filter(pk=source_id).first()
    if source is None or not source.active or not source.api_token_hash or not token:
        return None
    if not hmac.compare_digest(source.api_token_hash, token_hash(token)):
        return None
    return source


# FILES: WHERE UPLOADS LIVE ---------------------------------------------------------------------------

def uploads_root() -> Path:
    return store.root() / "uploads"


def incoming_path(suffix: str = "") -> Path:
    """A fresh name for a file being received (the upload handler writes there as it arrives)."""
    folder = uploads_root() / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}{suffix}.part"


def upload_path(run: ImportRun) -> Path:
    return store.root() / run.stored_file


def report_path(run: ImportRun) -> Path:
    """The CSV of every rejected row, next to the upload."""
    path = upload_path(run)
    return path.with_name(path.name + ".rejects.csv")


def _parts_dir(run: ImportRun) -> Path:
    path = upload_path(run)
    return path.with_name(path.name + ".rejects.d")


def _utf8_path(run: ImportRun) -> Path:
    path = upload_path(run)
    return path.with_name(path.name + ".utf8.csv")


def _suffix(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""


# FILES: INSPECTION -----------------------------------------------------------------------------------

@dataclass
class FileInfo:
    """What a file is, and what its first rows look like (for the mapping page)."""

    format: str  # "csv" or "excel"
    encoding: str  # "utf-8", "utf-8-sig" or "gb18030" for CSV; "" for Excel
    separator: str
    headers: list[str]
    sample: list[list[str]]
    # Nothing but ASCII in the part inspected: no evidence of the encoding yet.
    ascii_head: bool = False

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)


def unique_headers(names: Iterable[str]) -> list[str]:
    """Header names as the mapping uses them: trimmed, blanks named by position, repeats numbered."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        base = str(name or "").strip().lstrip("\ufeff").strip() or f"#{i}"
        candidate, n = base, 1
        while candidate in seen:
            n += 1
            candidate = f"{base}#{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _sniff_encoding(head: bytes, *, complete: bool) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValidationFailed(_("The file is UTF-16 text. Save it again as CSV in UTF-8 or GBK and upload it again."),
                               code="encoding")
    if b"\x00" in head:
        raise ValidationFailed(_("This is not a CSV text file. Upload a CSV file or an Excel (.xlsx) workbook."),
                               code="not_text")
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ValidationFailed(_("The file is neither UTF-8 nor GBK (GB18030) text. Save it again as CSV in UTF-8 or "
                             "GBK, or as Excel (.xlsx), and upload it again."), code="encoding")


def _sniff_separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _is_excel(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))


def inspect_file(path: Path) -> FileInfo:
    """Format, encoding, separator, header and first rows; ValidationFailed for what cannot be imported."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head.strip().lstrip(codecs.BOM_UTF8).strip():
        raise ValidationFailed(_("The file is empty."), code="empty")
    if _is_excel(head):
        return _inspect_excel(path)
    complete = size <= HEAD_BYTES
    encoding = _sniff_encoding(head, complete=complete)
    text = codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    if not complete:
        text = text[: text.rfind("\n") + 1]
    header_line = text.split("\n", 1)[0]
    separator = _sniff_separator(header_line)
    try:
        frame = pl.read_csv(text.encode("utf-8"), separator=separator, infer_schema=False, n_rows=SAMPLE_ROWS,
                            truncate_ragged_lines=True, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise ValidationFailed(_("The file cannot be read as CSV: %(error)s") % {"error": exc}, code="csv") from None
    headers = unique_headers(frame.columns)
    if not any(h and not h.startswith("#") for h in headers):
        raise ValidationFailed(_("The file is empty."), code="empty")
    if frame.height == 0:
        raise ValidationFailed(_("The file has a header line but no rows."), code="no_rows")
    sample = [["" if v is None else str(v) for v in row] for row in frame.rows()]
    return FileInfo("csv", encoding, separator, headers, sample, ascii_head=head.isascii())


def _read_excel(path: Path, *, n_rows: int | None = None) -> pl.DataFrame:
    """The first sheet, every cell as text (dates as ``2026-01-05 00:00:00``), blank rows kept."""
    try:
        frame = pl.read_excel(path, engine="calamine", infer_schema_length=0, drop_empty_rows=False,
                              drop_empty_cols=False, raise_if_empty=False,
                              read_options={"n_rows": n_rows} if n_rows else None)
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError, OSError) as exc:
        raise ValidationFailed(_("The Excel workbook cannot be read: %(error)s") % {"error": exc},
                               code="excel") from None
    assert isinstance(frame, pl.DataFrame)
    return frame.rename(dict(zip(frame.columns, unique_headers(frame.columns), strict=True)))


def _inspect_excel(path: Path) -> FileInfo:
    frame = _read_excel(path, n_rows=SAMPLE_ROWS)
    if not frame.columns:
        raise ValidationFailed(_("The file is empty."), code="empty")
    if frame.height == 0:
        raise ValidationFailed(_("The file has a header line but no rows."), code="no_rows")
    sample = [["" if v is None else str(v) for v in row] for row in frame.rows()]
    return FileInfo("excel", "", ",", list(frame.columns), sample)


def missing_columns(mapping: dict[str, str], headers: Iterable[str]) -> list[str]:
    """The mapped columns a file lacks, in the mapping's order."""
    present = set(headers)
    return [header for header in mapping.values() if header not in present]


# FILES: DECODING -------------------------------------------------------------------------------------

@dataclass
class _Decoded:
    lines: int
    bad_line: int | None = None


def _decode_pass(path: Path, encoding: str, out: Path | None) -> _Decoded:
    """Read the whole file in ``encoding`` (writing it to ``out`` as UTF-8 if given), counting lines.

    Stops at the first byte that is not ``encoding`` and says on which line it is.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    last = b"\n"
    with open(path, "rb") as src, (open(out, "wb") if out else contextlib.nullcontext()) as dst:
        while block := src.read(DECODE_BLOCK):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                return _Decoded(lines, bad_line=lines + block[: max(exc.start, 0)].count(b"\n") + 1)
            if dst is not None:
                dst.write(text.encode("utf-8"))
            lines += block.count(b"\n")
            last = block[-1:]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _Decoded(lines, bad_line=lines + 1)
    return _Decoded(lines + (0 if last == b"\n" else 1))


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with open(path, "rb") as src:
        while block := src.read(DECODE_BLOCK):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (0 if last == b"\n" else 1)


def _prepare_text(run: ImportRun, info: FileInfo, *, resumed: bool) -> tuple[Path, int | None]:
    """The UTF-8 file Polars reads (the upload itself, or a transcoded copy) and its row count (for
    the progress bar; exact unless a quoted value holds a line break).

    Polars reads UTF-8 only, and checks every value it reads: a UTF-8 file is read as it is. A GBK
    file is transcoded once to ``<upload>.utf8.csv``, kept until the run is done so that a resumed
    run does not transcode again.
    """
    path = upload_path(run)
    utf8 = _utf8_path(run)
    if (run.encoding or info.encoding) != "gb18030":
        if resumed and run.rows_total is not None:
            return path, run.rows_total
        return path, max(_count_lines(path) - 1, 0)
    if resumed and utf8.exists():
        return utf8, run.rows_total
    tmp = utf8.with_suffix(".tmp")
    decoded = _decode_pass(path, "gb18030", tmp)
    if decoded.bad_line is not None:
        tmp.unlink(missing_ok=True)
        raise _undecodable(decoded.bad_line, "gb18030")
    tmp.replace(utf8)
    return utf8, max(decoded.lines - 1, 0)


def _undecodable(line: int, encoding: str) -> ImportDataError:
    label = ENCODING_LABELS.get(encoding, encoding)
    return ImportDataError(_("Line %(line)s cannot be read as %(encoding)s: the file mixes encodings or is damaged. "
                             "Save it again as CSV in UTF-8 or GBK and upload it again.")
                           % {"line": line, "encoding": label}, code="encoding")


def _ragged(path: Path, separator: str) -> ImportDataError:
    """Polars met a line with more values than the header: find it for the report (a slow scan,
    on this failure only)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=separator)
        width = len(next(reader, []))
        line = next((reader.line_num for values in reader if len(values) > width), None)
    return ImportDataError(_("Line %(line)s has more values than the header line has columns. A value that "
                             "contains the separator must be in double quotes; fix the line and upload the file "
                             "again.") % {"line": line or "?"}, code="ragged")


class _ReadAsGB18030(Exception):
    """The file began in plain ASCII, so it was taken for UTF-8, but it is GBK further on."""


def _utf8_failure(run: ImportRun, info: FileInfo) -> Exception:
    """Polars met bytes that are not UTF-8: find the line for the report, or find that the file is GBK."""
    encoding = run.encoding or info.encoding
    decoded = _decode_pass(upload_path(run), encoding, None)
    if decoded.bad_line is None:  # not an encoding problem after all
        return ImportDataError(_("The file cannot be read: it is not valid CSV."), code="csv")
    if info.ascii_head and encoding == "utf-8" and _decode_pass(upload_path(run), "gb18030", None).bad_line is None:
        return _ReadAsGB18030()
    return _undecodable(decoded.bad_line, encoding)


def _csv_frames(path: Path, separator: str, headers: list[str], mapping: dict[str, str],
                start: int) -> Iterator[pl.DataFrame]:
    """The mapped columns of a UTF-8 CSV from data row ``start`` on, streamed in batches.

    The last column is read too, mapped or not: only then does Polars notice a line with more
    values than the header (an unquoted separator inside a value), which would otherwise shift the
    line's values into the wrong columns without a word.
    """
    lf = pl.scan_csv(path, separator=separator, infer_schema=False, row_index_name=ROW, row_index_offset=start,
                     skip_rows_after_header=start, with_column_names=unique_headers, encoding="utf8")
    lf = lf.select(pl.col(ROW), *[pl.col(header).alias(name) for name, header in mapping.items()],
                   pl.col(headers[-1]).alias("_last"))
    for batch in lf.collect_batches(chunk_size=CHUNK_ROWS):
        yield batch.drop("_last")


def _exact_chunks(frames: Iterable[pl.DataFrame], size: int) -> Iterator[pl.DataFrame]:
    """Re-cut batches into chunks of exactly ``size`` rows (the last one may be shorter): chunk ``n``
    always holds the same rows, which is what makes a resumed run write the same chunks."""
    parts: list[pl.DataFrame] = []
    held = 0
    for frame in frames:
        while frame.height:
            take = min(size - held, frame.height)
            parts.append(frame.slice(0, take))
            held += take
            frame = frame.slice(take)
            if held == size:
                yield pl.concat(parts)
                parts, held = [], 0
    if held:
        yield pl.concat(parts)


# NORMALISATION ---------------------------------------------------------------------------------------
# Most values arrive clean. Each cleaning step first finds, with one regex scan of the column (all
# columns scanned at once), the few values that need it, and applies itself to those only: Unicode
# normalisation or a regex replace over every value would cost more than everything else together.

# Characters NFKC changes that partners' files contain: full-width forms (ＡＢＣ１２３（）), the
# ideographic space, circled numbers, compatibility ideographs.
COMPAT = "\u2460-\u24ff\u3000\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
# What may need cleaning, per kind of column (anything else is left as it is).
DIRT = {
    "id": r"[^0-9X]",  # a clean ID number is digits and X
    "code": rf"[\s{COMPAT}a-z]",  # hospital codes, ICD-10 codes: no spaces, half-width, upper case
    "text": rf"[\s{COMPAT}]",  # names: no spaces, half-width
}
# 2026-1-5, 2026/01/05, 2026.1.5, 2026年1月5日, 20260105, each possibly followed by a time.
DATE_PATTERN = (r"^(\d{4})(?:\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{2})(\d{2}))"
                r"(?:[T\s].*)?$")
EXCEL_SERIAL = r"^(\d{5})(?:\.0+)?$"


def _present(expr: pl.Expr) -> pl.Expr:
    """Blank text becomes null."""
    return pl.when(expr.str.len_bytes() > 0).then(expr)


def _blank_to_null(values: pl.Series) -> pl.Series:
    return values.to_frame("v").select(_present(pl.col("v"))).to_series().alias(values.name)


def _clean_id(values: pl.Series) -> pl.Series:
    """Half-width, no spaces or hyphens, no spreadsheet text markers (' or ="…"), upper case."""
    return _blank_to_null(values.str.normalize("NFKC").str.replace_all(r"[\s\-'\"=]", "").str.to_uppercase())


def _clean_code(values: pl.Series) -> pl.Series:
    return _blank_to_null(values.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_uppercase())


def _clean_text(values: pl.Series) -> pl.Series:
    """张 三 → 张三, 聊城市 人民医院（东院） → 聊城市人民医院(东院)."""
    return _blank_to_null(values.str.normalize("NFKC").str.replace_all(r"\s+", ""))


CLEANERS: dict[str, Callable[[pl.Series], pl.Series]] = {"id": _clean_id, "code": _clean_code, "text": _clean_text}


def _cleaned(frame: pl.DataFrame, columns: dict[str, str]) -> list[pl.Series]:
    """The columns (name -> kind of column) with the values that need it cleaned."""
    dirty = frame.select([pl.col(name).str.contains(DIRT[kind]).fill_null(False).arg_true().implode().alias(name)
                          for name, kind in columns.items()])
    out = []
    for name, kind in columns.items():
        values = frame.get_column(name)
        rows = dirty.get_column(name)[0]
        if rows.len():
            values = values.clone().scatter(rows, CLEANERS[kind](values.gather(rows)))
        out.append(values)
    return out


def dates(text: pl.Series) -> pl.Series:
    """Text to dates: 2026-01-05, 2026/1/5, 2026.1.5, 20260105, 2026年1月5日, an Excel serial number
    (45292), any of them followed by a time; null when none fits or the year is before 1900 or
    after 2099. Day-first or two-digit-year dates are not guessed at.

    The usual form is parsed for every row; only the rows it did not fit go through the slower
    general pattern.
    """
    parsed = text.str.to_date("%Y-%m-%d", strict=False)
    rest = (parsed.is_null() & text.is_not_null()).arg_true()
    if rest.len():
        other = text.gather(rest).str.normalize("NFKC")
        found = other.str.replace(DATE_PATTERN, "$1-$2$4-$3$5").str.to_date("%Y-%m-%d", strict=False)
        serial = other.str.extract(EXCEL_SERIAL, 1).cast(pl.Int64)
        if serial.is_not_null().any():
            found = found.fill_null(serial.to_frame("n").select(
                (pl.lit(EXCEL_EPOCH) + pl.duration(days=pl.col("n"))).cast(pl.Date)).to_series())
        parsed = parsed.scatter(rest, found)
    return parsed.to_frame("d").select(pl.when(pl.col("d").is_between(EARLIEST_DATE, LATEST_DATE))
                                       .then(pl.col("d"))).to_series().alias(text.name)


def id_valid_expr(number: pl.Expr, today: dt.date) -> pl.Expr:
    """GB 11643: 17 digits and a check character (weighted sum mod 11), and a real birth date between
    1900 and today; the rule of ``core.validators.parse_resident_id``. Use in a lazy frame (the
    17 digits are taken from one integer, a sub-expression Polars then computes once)."""
    shape = number.str.contains(r"^\d{17}[\dX]$")
    first17 = number.str.slice(0, 17).cast(pl.Int64, strict=False)
    total = pl.sum_horizontal([(first17 // 10 ** (16 - i)) % 10 * weight for i, weight in enumerate(ID_WEIGHTS)])
    check = pl.lit(ID_CHECK_CHARS).str.slice(total % 11, 1)
    birth = number.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return (shape & (check == number.str.slice(17, 1)) & birth.is_between(EARLIEST_DATE, today)).fill_null(False)


def _service_of(text: str) -> str:
    lowered = text.lower()
    return next((word for pattern, word in SERVICE_WORDS if re.search(pattern, lowered)), lowered)


def _services_of(text: str) -> str | None:
    tokens = {_service_of(t) for t in re.split(r"[,，、;；|/\s]+", text) if t}
    return "|".join(sorted(tokens)) or None


def _by_value(frame: pl.DataFrame, column: str, fn: Callable[[str], str | None]) -> pl.Expr:
    """``fn`` applied to each distinct value (a type of care has a handful per file)."""
    values = [v for v in frame.get_column(column).unique().to_list() if v is not None]
    return pl.col(column).replace_strict({v: fn(v) for v in values}, default=None, return_dtype=pl.String)


def _care(text: pl.DataFrame, kind: str, today: dt.date) -> pl.DataFrame:
    text = text.with_columns(
        *_cleaned(text, {"id_number": "id", "person_name": "text", "hospital_code": "code", "hospital_name": "text",
                         "icd10": "code"}),
        dates(text["admitted_on"]), dates(text["discharged_on"]))
    default_service = (pl.lit("inpatient") if kind == "health_stay"
                       else pl.when(pl.col("discharged_on").is_not_null()).then(pl.lit("inpatient"))
                       .otherwise(pl.lit("outpatient")))
    fields = [f.name for f in CARE_FIELDS]
    reason = (pl.when(pl.all_horizontal([pl.col(f"_raw_{f}").is_null() for f in fields])).then(pl.lit("empty"))
              .when(pl.col("id_number").is_null()).then(pl.lit("no_id"))
              .when(pl.col("hospital_code").is_null() & pl.col("hospital_name").is_null()).then(pl.lit("no_hospital"))
              .when(pl.col("_raw_admitted_on").is_null()).then(pl.lit("no_date"))
              .when(pl.col("admitted_on").is_null()).then(pl.lit("bad_date"))
              .when(pl.col("_raw_discharged_on").is_not_null() & pl.col("discharged_on").is_null())
              .then(pl.lit("bad_discharge"))
              .when(pl.col("discharged_on") < pl.col("admitted_on")).then(pl.lit("discharge_before_admission"))
              .otherwise(None))
    return text.lazy().with_columns(
        pl.coalesce(_by_value(text, "service", _service_of), default_service).alias("service"),
        id_valid_expr(pl.col("id_number"), today).alias("id_valid"),
        reason.alias(REASON),
    ).collect()


def _licensed(text: pl.DataFrame) -> pl.DataFrame:
    text = text.with_columns(*_cleaned(text, {"hospital_code": "code", "hospital_name": "text"}),
                             dates(text["valid_from"]), dates(text["valid_until"]))
    fields = [f.name for f in LICENSED_FIELDS]
    reason = (pl.when(pl.all_horizontal([pl.col(f"_raw_{f}").is_null() for f in fields])).then(pl.lit("empty"))
              .when(pl.col("hospital_code").is_null() & pl.col("hospital_name").is_null()).then(pl.lit("no_hospital"))
              .when(pl.col("services").is_null()).then(pl.lit("no_services"))
              .when(pl.col("_raw_valid_from").is_not_null() & pl.col("valid_from").is_null())
              .then(pl.lit("bad_valid_from"))
              .when(pl.col("_raw_valid_until").is_not_null() & pl.col("valid_until").is_null())
              .then(pl.lit("bad_valid_until"))
              .when(pl.col("valid_until") < pl.col("valid_from")).then(pl.lit("valid_until_before_from"))
              .otherwise(None))
    return (text.lazy().with_columns(_by_value(text, "services", _services_of).alias("services"))
            .with_columns(reason.alias(REASON)).collect())


def normalise(frame: pl.DataFrame, kind: str, *, today: dt.date | None = None) -> pl.DataFrame:
    """Our columns, normalised, from a frame of text columns named after our fields (a missing one is
    taken as empty), plus ``REASON`` (null for a row that is kept) and, for care, ``id_valid``.

    The trimmed text of each field stays in ``_raw_<field>`` for the reject report.
    """
    today = today or timezone.localdate()
    names = [f.name for f in fields_for(kind)]
    text = frame.lazy().select(
        pl.col(ROW), *[(pl.col(name).cast(pl.String).str.strip_chars() if name in frame.columns
                        else pl.lit(None, dtype=pl.String)).alias(name) for name in names]).collect()
    # Empty cells are null already (the CSV reader's doing); only a cell of blanks is empty now.
    blank = text.select([(pl.col(name) == "").any().alias(name) for name in names]).row(0, named=True)
    text = text.with_columns([_present(pl.col(name)).alias(name) for name in names if blank[name]])
    text = text.with_columns([pl.col(name).alias(f"_raw_{name}") for name in names])
    return _care(text, kind, today) if is_care(kind) else _licensed(text)


def normalise_id_numbers(values: Iterable[str | None], *, today: dt.date | None = None) -> list[tuple[str | None, bool]]:
    """The engine's ID normalisation and check for a few values (tests; what a partner's value becomes)."""
    today = today or timezone.localdate()
    frame = pl.DataFrame({"v": list(values)}, schema={"v": pl.String}).with_columns(
        _present(pl.col("v").str.strip_chars()).alias("v"))
    [cleaned] = _cleaned(frame, {"v": "id"})
    out = cleaned.to_frame("n").lazy().with_columns(ok=id_valid_expr(pl.col("n"), today)).collect()
    return list(zip(out["n"].to_list(), out["ok"].to_list(), strict=True))


def parse_dates(values: Iterable[str | None]) -> list[dt.date | None]:
    """The engine's date parsing for a few values."""
    frame = pl.DataFrame({"v": list(values)}, schema={"v": pl.String}).with_columns(
        _present(pl.col("v").str.strip_chars()).alias("v"))
    return dates(frame["v"]).to_list()


def key_text(kind: str) -> pl.Expr:
    """What a row key is the hash of: the normalised key fields in a fixed order, unit-separated,
    nulls as empty text, dates as ISO text. Never change it: the stored keys are hashes of it."""
    columns = CARE_KEY if is_care(kind) else LICENSED_KEY
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in columns], separator=KEY_SEPARATOR)


def row_keys(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``row_key``: SHA-256 of ``key_text`` (UTF-8), 32 hex characters kept; and the same 128 bits
    as two integers ``hi`` and ``lo`` (for the key index).

    SHA-256, not Polars' own ``hash`` (which may change with any Polars version), so a key written
    this year still recognises the same record next year. Computed in Polars by the polars-hash
    plugin, column at a time and without the GIL; the result is byte for byte what ``hashlib``
    gives (a test holds it to that), so keys written before the plugin was used still match.
    """
    digest = plh.col("_text").chash.sha2_256().str.slice(0, 32)
    return (frame.lazy().select(key_text(kind).alias("_text"))
            .select(digest.alias("row_key"))
            .with_columns(_key_halves(pl.col("row_key"))).collect())


def _key_halves(keys: pl.Expr) -> list[pl.Expr]:
    return [keys.str.slice(0, 16).str.to_integer(base=16, dtype=pl.UInt64).alias("hi"),
            keys.str.slice(16, 16).str.to_integer(base=16, dtype=pl.UInt64).alias("lo")]


# THE KEY INDEX ---------------------------------------------------------------------------------------

class KeyIndex:
    """Row keys already stored or already met in this file, as 128-bit integers (16 bytes a key).

    Kept in a few runs sorted by their first 64 bits, whose sizes roughly double (merged like a
    binary counter, each merge linear): adding a chunk costs about O(n log n) over the whole file.
    A lookup sorts the chunk's keys once and walks each run with an as-of join (a merge, not a
    binary search per key, which at 10 million keys was a tenth of the import's time).
    """

    def __init__(self) -> None:
        self._runs: list[pl.DataFrame] = []

    def __len__(self) -> int:
        return sum(run.height for run in self._runs)

    def add(self, halves: pl.DataFrame) -> None:
        if halves.height == 0:
            return
        self._runs.append(halves.select("hi", "lo").sort("hi"))
        while len(self._runs) > 1 and self._runs[-2].height <= 2 * self._runs[-1].height:
            newer = self._runs.pop()
            older = self._runs.pop()
            self._runs.append(older.merge_sorted(newer, key="hi"))

    def contains(self, halves: pl.DataFrame) -> pl.Series:
        """Which of these keys (a frame of ``hi``, ``lo``) are in the index, in their order."""
        absent = pl.repeat(False, halves.height, dtype=pl.Boolean, eager=True).alias("found")
        if not self._runs or halves.height == 0:
            return absent
        queries = halves.select("hi", "lo").with_row_index("_at").sort("hi")
        found = pl.repeat(False, halves.height, dtype=pl.Boolean, eager=True)
        for run in self._runs:
            found = found | _in_sorted(run, queries)
        return absent.scatter(queries["_at"], found)


def _in_sorted(run: pl.DataFrame, queries: pl.DataFrame) -> pl.Series:
    """Which of the (hi, lo) pairs of ``queries`` are in ``run`` (both sorted by hi), in the order of
    ``queries``."""
    nearest = queries.join_asof(run.select("hi", pl.col("hi").alias("_hi"), pl.col("lo").alias("_lo")),
                                on="hi", strategy="backward")
    same_hi = (nearest["_hi"] == nearest["hi"]).fill_null(False)
    found = same_hi & (nearest["_lo"] == nearest["lo"]).fill_null(False)
    ties = (same_hi & ~found).arg_true()
    if ties.len():  # two keys share their first 64 bits: astronomically rare, checked exactly
        hi, lo = queries["hi"].gather(ties), queries["lo"].gather(ties)
        left = run["hi"].search_sorted(hi, side="left")
        right = run["hi"].search_sorted(hi, side="right")
        assert isinstance(left, pl.Series) and isinstance(right, pl.Series)
        exact = [value in set(run["lo"].slice(start, end - start).to_list())
                 for value, start, end in zip(lo.to_list(), left.to_list(), right.to_list(), strict=True)]
        found = found.scatter(ties, pl.Series(exact, dtype=pl.Boolean))
    return found


def _chunk_files(committee_id: int, kind: str, run_id: int) -> list[tuple[int, Path]]:
    out = []
    for path in store.kind_dir(committee_id, kind).glob(f"run-{run_id}-*.parquet"):
        match = re.fullmatch(rf"run-{run_id}-(\d+)\.parquet", path.name)
        if match:
            out.append((int(match.group(1)), path))
    return sorted(out)


def _stored_files(committee_id: int, kind: str, run_ids: Iterable[int]) -> list[Path]:
    return [path for run_id in sorted(set(run_ids)) for _n, path in _chunk_files(committee_id, kind, run_id)]


def _key_index(run: ImportRun) -> KeyIndex:
    """The keys of every finished run of the committee and kind, and of this run's chunks before
    its checkpoint (a resumed run must see the rows it already wrote)."""
    source = run.source
    files = _stored_files(source.committee_id, source.kind,
                          [pk for pk in finished_run_ids(source.committee_id, source.kind) if pk != run.pk])
    files += [path for n, path in _chunk_files(source.committee_id, source.kind, run.pk) if n < run.chunks_done]
    index = KeyIndex()
    if files:
        # Streaming: only the integers are held, never the whole column of hex keys (48 bytes a key).
        index.add(pl.scan_parquet(files).select(_key_halves(pl.col("row_key"))).collect(engine="streaming"))
    return index


def _stored_among(committee_id: int, kind: str, keys: pl.Series, *, exclude_run: int) -> set[str]:
    """Which of a few keys are stored by finished runs (a scan of the key column, for pushes)."""
    files = _stored_files(committee_id, kind, [pk for pk in finished_run_ids(committee_id, kind) if pk != exclude_run])
    if not files or keys.len() == 0:
        return set()
    found = (pl.scan_parquet(files).select("row_key").filter(pl.col("row_key").is_in(keys.implode())).unique()
             .collect(engine="streaming"))
    return set(found["row_key"].to_list())


# ONE CHUNK -------------------------------------------------------------------------------------------

@dataclass
class ChunkResult:
    kept: pl.DataFrame  # the store's schema
    rejected: pl.DataFrame  # line, reason and the raw fields
    rows: int
    duplicates: int
    flagged: int
    halves: pl.DataFrame  # hi, lo of the kept rows' keys


@dataclass
class Prepared:
    """A chunk normalised and split, waiting for its keys."""

    good: pl.DataFrame
    rejected: pl.DataFrame  # line, reason and the raw fields
    rows: int


def prepare_chunk(frame: pl.DataFrame, kind: str, *, today: dt.date) -> Prepared:
    """Normalise a chunk and split off the rejected rows.

    ``frame`` has ``ROW`` (the data row number) and text columns named after our fields.
    """
    out = normalise(frame, kind, today=today).with_columns((pl.col(ROW).cast(pl.Int64) + 2).alias(LINE))
    names = [f.name for f in fields_for(kind)]
    rejected = out.filter(pl.col(REASON).is_not_null()).select(
        pl.col(LINE), pl.col(REASON).alias("reason"), *[pl.col(f"_raw_{name}").alias(name) for name in names])
    good = out.filter(pl.col(REASON).is_null()).select(*[c for c in store.schema_for(kind) if c in out.columns])
    return Prepared(good, rejected, frame.height)


def finish_chunk(prepared: Prepared, keys: pl.DataFrame, kind: str, *, source_id: int, run_id: int,
                 seen: Callable[[pl.DataFrame], pl.Series]) -> ChunkResult:
    """Drop the rows already stored or met earlier in the file (``seen`` says which keys, given a
    frame of row_key, hi, lo), and those repeated within the chunk."""
    good = prepared.good.hstack(keys)
    duplicate = seen(good.select("row_key", "hi", "lo")) | ~good["row_key"].is_first_distinct()
    kept = good.filter(~duplicate).with_columns(source_id=pl.lit(source_id, pl.Int64), run_id=pl.lit(run_id, pl.Int64))
    flagged = int((~kept["id_valid"]).sum()) if is_care(kind) else 0
    return ChunkResult(kept=kept.select(list(store.schema_for(kind))), rejected=prepared.rejected,
                       rows=prepared.rows, duplicates=int(duplicate.sum()), flagged=flagged,
                       halves=kept.select("hi", "lo"))


def process_chunk(frame: pl.DataFrame, kind: str, *, source_id: int, run_id: int, today: dt.date,
                  seen: Callable[[pl.DataFrame], pl.Series]) -> ChunkResult:
    """Normalise a chunk, split off the rejected rows and the duplicates, key the rest (one go)."""
    prepared = prepare_chunk(frame, kind, today=today)
    return finish_chunk(prepared, row_keys(prepared.good, kind), kind, source_id=source_id, run_id=run_id, seen=seen)


# THE IMPORT RUN --------------------------------------------------------------------------------------

def _checkpoint_hook(run_id: int, chunk: int, stage: str) -> None:
    """Called after a chunk is written (``stage`` "written") and after its checkpoint is saved ("saved").

    Does nothing; tests replace it to simulate a crash at either moment.
    """


def run_create(source: Source, *, path: Path, file_name: str, sha256: str, size: int,
               actor: User | None, remap: bool = False) -> ImportRun:
    """Take a received file (``path``, hashed as it arrived) into the source's import log, queued.

    Refused, and the file deleted, when: the same file (same SHA-256) was already imported into the
    source, or is being imported; the file is empty, has no rows, is not text in UTF-8 or GBK, or
    lacks a column the source's mapping uses. A file that failed before is taken again (same run).
    The caller starts the run once the source's columns are mapped (``run_start``); ``remap``: the
    liaison maps the columns again from this file, so it need not have the old ones.
    """
    try:
        _require_manager(actor)
        existing = ImportRun.objects.filter(source=source, file_sha256=sha256).first()
        if existing is not None and existing.state == ImportRun.State.DONE:
            raise ConflictError(
                _("This file was already imported on %(date)s, import #%(run)s: importing it again would add "
                  "nothing.") % {"date": timezone.localtime(existing.finished_at or existing.created_at)
                                 .strftime("%Y-%m-%d %H:%M"), "run": existing.pk},
                code="already_imported", extra={"run_id": existing.pk})
        if existing is not None and existing.state in (ImportRun.State.QUEUED, ImportRun.State.RUNNING):
            raise ConflictError(_("This file is already in the import log as import #%(run)s.") % {"run": existing.pk},
                                code="already_queued", extra={"run_id": existing.pk})
        if existing is not None and existing.chunks_done:
            raise ConflictError(_("Import #%(run)s of this file is half done: resume or discard it.")
                                % {"run": existing.pk}, code="import_unfinished", extra={"run_id": existing.pk})
        info = inspect_file(path)
        if source.mapping and not remap:
            missing = missing_columns(source.mapping, info.headers)
            if missing:
                raise ValidationFailed(
                    _("The file lacks the columns %(columns)s that this source's mapping uses. Upload a file with "
                      "them, or map the columns again.") % {"columns": "、".join(missing)},
                    code="missing_columns", extra={"missing": missing})
    except ApplicationError:
        path.unlink(missing_ok=True)
        raise
    relative = Path("uploads") / str(source.committee_id) / str(source.pk) / f"{sha256}{_suffix(file_name)}"
    final = store.root() / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    path.replace(final)
    fields = {"file_name": file_name[:200], "stored_file": str(relative), "size": size, "encoding": info.encoding,
              "state": ImportRun.State.QUEUED, "rows_total": None, "rows_done": 0, "rows_added": 0,
              "rows_duplicate": 0, "rows_rejected": 0, "rows_flagged": 0, "chunks_done": 0, "rejects": [],
              "error": "", "started_by": actor, "started_at": None, "finished_at": None}
    if existing is not None:
        _discard_files(existing)
    with transaction.atomic():
        if existing is not None:
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            run = existing
        else:
            run = ImportRun.objects.create(source=source, file_sha256=sha256, **fields)
        audit.record("crosscheck.import_upload", actor=actor, obj=run, committee=source.committee,
                     after={"source": source.pk, "file_name": run.file_name, "sha256": sha256, "size": size,
                            "encoding": info.encoding})
    return run


def run_inspect(run: ImportRun) -> FileInfo:
    """Headers and first rows of the run's file (for the mapping page)."""
    path = upload_path(run)
    if not run.stored_file or not path.exists():
        raise NotFoundError(_("The uploaded file of import #%(run)s is no longer there.") % {"run": run.pk})
    return inspect_file(path)


def run_start(run: ImportRun, *, actor: User) -> None:
    """Queue the run's task (after the transaction commits); the source's columns must be mapped."""
    _require_manager(actor)
    gaps = mapping_gaps(run.source.kind, run.source.mapping)
    if gaps:
        raise ValidationFailed(_("Map the columns of the source first."), code="mapping_incomplete")
    if run.state != ImportRun.State.QUEUED:
        raise ConflictError(_("Import #%(run)s is not waiting to start.") % {"run": run.pk})
    _enqueue(run.pk)


def _enqueue(run_id: int) -> None:
    from laojian.crosscheck import tasks  # the task module imports this one

    transaction.on_commit(lambda: tasks.import_run.enqueue(run_id))


def run_is_stale(run: ImportRun) -> bool:
    return run.state == ImportRun.State.RUNNING and run.updated_at < timezone.now() - STALE_AFTER


def run_resume(run: ImportRun, *, actor: User | None, force: bool = False) -> ImportRun:
    """Queue a failed run, or a running one whose worker died (no checkpoint for ``STALE_AFTER``;
    ``force`` for the console), to go on from its checkpoint."""
    _require_manager(actor)
    allowed = [ImportRun.State.FAILED]
    if force or run_is_stale(run):
        allowed.append(ImportRun.State.RUNNING)
    if not run.stored_file or not upload_path(run).exists():
        raise ConflictError(_("The uploaded file of import #%(run)s is no longer there: upload it again.")
                            % {"run": run.pk}, code="upload_missing")
    with transaction.atomic():
        moved = ImportRun.objects.filter(pk=run.pk, state__in=allowed).update(
            state=ImportRun.State.QUEUED, error="", finished_at=None, updated_at=timezone.now())
        if not moved:
            raise ConflictError(_("Import #%(run)s cannot be resumed now.") % {"run": run.pk}, code="not_resumable")
        audit.record("crosscheck.import_resume", actor=actor, obj=run, committee=run.source.committee,
                     after={"chunks_done": run.chunks_done})
    run.refresh_from_db()
    return run


def run_discard(run: ImportRun, *, actor: User | None) -> ImportRun:
    """Give up a failed run: its chunks are removed, nothing of it is read, state stays failed."""
    _require_manager(actor)
    if run.state != ImportRun.State.FAILED and not run_is_stale(run):
        raise ConflictError(_("Only a failed import can be discarded."), code="not_failed")
    _discard_files(run)
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            state=ImportRun.State.FAILED, chunks_done=0, rows_done=0, rows_added=0, rows_duplicate=0,
            rows_rejected=0, rows_flagged=0, rejects=[], error=run.error or _("Discarded."), updated_at=timezone.now())
        audit.record("crosscheck.import_discard", actor=actor, obj=run, committee=run.source.committee,
                     after={"chunks_done": run.chunks_done, "rows_added": run.rows_added})
    run.refresh_from_db()
    return run


def _discard_files(run: ImportRun) -> None:
    store.remove_run(run.source.committee_id, run.source.kind, run.pk)
    if run.stored_file:
        shutil.rmtree(_parts_dir(run), ignore_errors=True)
        report_path(run).unlink(missing_ok=True)
        _utf8_path(run).unlink(missing_ok=True)
        _utf8_path(run).with_suffix(".tmp").unlink(missing_ok=True)


@dataclass
class _Tally:
    rows_done: int
    rows_added: int
    rows_duplicate: int
    rows_rejected: int
    rows_flagged: int
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, run: ImportRun) -> _Tally:
        return cls(run.rows_done, run.rows_added, run.rows_duplicate, run.rows_rejected, run.rows_flagged,
                   list(run.rejects or []))

    def add(self, result: ChunkResult) -> None:
        self.rows_done += result.rows
        self.rows_added += result.kept.height
        self.rows_duplicate += result.duplicates
        self.rows_rejected += result.rejected.height
        self.rows_flagged += result.flagged
        room = REJECTS_KEPT - len(self.rejects)
        if room > 0 and result.rejected.height:
            self.rejects += result.rejected.head(room).select(LINE, "reason").to_dicts()

    def fields(self) -> dict[str, Any]:
        return {"rows_done": self.rows_done, "rows_added": self.rows_added, "rows_duplicate": self.rows_duplicate,
                "rows_rejected": self.rows_rejected, "rows_flagged": self.rows_flagged, "rejects": self.rejects}


def run_import(run_id: int, *, progress: Callable[[ImportRun], None] | None = None) -> ImportRun:
    """Import a queued run, from its checkpoint on; safe to call twice (a run not queued is left alone).

    A problem with the file itself (encoding, columns, structure) fails the run and removes what it
    wrote: the stored records are as before. Any other error (disk full, the database gone) is
    recorded on the run and raised again; the run keeps its chunks and checkpoint and can be resumed.
    """
    attempt = current_attempt()
    # A retry also takes back a run its own earlier attempt left running: that attempt lost the
    # database before it could record its failure (SEC reference §2.7, scenario 5).
    claimable = [ImportRun.State.QUEUED] + ([ImportRun.State.RUNNING] if attempt and attempt.is_retry else [])
    claimed = ImportRun.objects.filter(pk=run_id, state__in=claimable).update(
        state=ImportRun.State.RUNNING, error="", updated_at=timezone.now())
    run = ImportRun.objects.select_related("source", "source__committee").get(pk=run_id)
    if not claimed:
        return run
    if run.started_at is None:
        run.started_at = timezone.now()
        ImportRun.objects.filter(pk=run.pk).update(started_at=run.started_at)
    try:
        try:
            _import(run, progress)
        except _ReadAsGB18030:
            _restart(run, encoding="gb18030")
            _import(run, progress)
    except ImportDataError as exc:
        _fail(run, exc.message, discard=True)
    except ValidationFailed as exc:  # the file changed under us, or inspection refuses it now
        _fail(run, exc.message, discard=True)
    except Exception as exc:
        # Record-and-raise (the worker's own log keeps the traceback): the run stays resumable. When
        # the task will try again (a lost database, a full disk), the run waits for it, queued.
        if not connection.is_usable():
            connection.close()  # the database went away: the next statement connects again
        retry = bool(attempt and attempt.will_retry)
        message = (_("The import stopped: %(error)s. It is tried again by itself, from where it stopped.") if retry
                   else _("The import stopped: %(error)s")) % {"error": exc}
        _fail(run, message, discard=False, retry=retry)
        raise
    run.refresh_from_db()
    return run


def _restart(run: ImportRun, *, encoding: str) -> None:
    """Start the run over, reading the file in another encoding."""
    _discard_files(run)
    ImportRun.objects.filter(pk=run.pk).update(encoding=encoding, chunks_done=0, rows_done=0, rows_added=0,
                                               rows_duplicate=0, rows_rejected=0, rows_flagged=0, rejects=[],
                                               rows_total=None, updated_at=timezone.now())
    run.refresh_from_db()


def _fail(run: ImportRun, message: str, *, discard: bool, retry: bool = False) -> None:
    """Record a failed run; ``retry``: the task tries again, so the run is queued for it, not failed."""
    log.warning("import run %s failed: %s%s", run.pk, message, " (to be tried again)" if retry else "")
    if discard:
        _discard_files(run)
    fields: dict[str, Any] = {"state": ImportRun.State.QUEUED if retry else ImportRun.State.FAILED,
                              "error": str(message)[:2000], "finished_at": None if retry else timezone.now(),
                              "updated_at": timezone.now()}
    if discard:
        fields.update(chunks_done=0, rows_done=0, rows_added=0, rows_duplicate=0, rows_rejected=0, rows_flagged=0)
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(**fields)
        audit.record("crosscheck.import_retry" if retry else "crosscheck.import_fail", actor=None, obj=run,
                     committee=run.source.committee,
                     after={"error": str(message)[:500], "discarded": discard, "chunks_done": run.chunks_done})


def _import(run: ImportRun, progress: Callable[[ImportRun], None] | None) -> None:
    source = run.source
    kind = source.kind
    path = upload_path(run)
    if not run.stored_file or not path.exists():
        raise ImportDataError(_("The uploaded file is no longer there: upload it again."))
    gaps = mapping_gaps(kind, source.mapping)
    if gaps:
        raise ImportDataError(_("Map a column to each of: %(fields)s.") % {"fields": "; ".join(gaps)})
    mapping = dict(source.mapping)
    info = inspect_file(path)
    missing = missing_columns(mapping, info.headers)
    if missing:
        raise ImportDataError(_("The file lacks the columns %(columns)s that this source's mapping uses.")
                              % {"columns": "、".join(missing)}, code="missing_columns")
    start = run.chunks_done * CHUNK_ROWS
    if info.format == "csv":
        text_path, rows_total = _prepare_text(run, info, resumed=run.chunks_done > 0)
        frames = _csv_frames(text_path, info.separator, info.headers, mapping, start)
    else:
        sheet = _read_excel(path)
        rows_total = sheet.height
        frames = iter([sheet.with_row_index(ROW).select(
            pl.col(ROW), *[pl.col(header).alias(name) for name, header in mapping.items()]).slice(start)])
    if rows_total != run.rows_total:
        run.rows_total = rows_total
        ImportRun.objects.filter(pk=run.pk).update(rows_total=rows_total)
    # Chunks past the checkpoint are from a crash: they are written again below.
    for n, stale in _chunk_files(source.committee_id, kind, run.pk):
        if n >= run.chunks_done:
            stale.unlink(missing_ok=True)
    index = _key_index(run)
    tally = _Tally.of(run)
    today = timezone.localdate()
    labels = {code: str(label) for code, label in REASONS.items()}

    def write(chunk: int, result: ChunkResult) -> None:
        if result.kept.height:
            store.write_chunk(source.committee_id, kind, run.pk, chunk, result.kept)
        _write_rejects_part(run, chunk, result.rejected, labels)

    def checkpoint(chunk: int, result: ChunkResult) -> None:
        _checkpoint_hook(run.pk, chunk, "written")
        tally.add(result)
        run.chunks_done = chunk + 1
        run.rows_done = tally.rows_done
        ImportRun.objects.filter(pk=run.pk).update(chunks_done=run.chunks_done, updated_at=timezone.now(),
                                                   **tally.fields())
        _checkpoint_hook(run.pk, chunk, "saved")
        if progress is not None:
            progress(run)

    # A pipeline of four steps, chunk after chunk: normalise (this thread), key (a thread), drop
    # duplicates (this thread, in file order), write (a thread). Every step is Polars work, which runs
    # without the GIL, so the steps of neighbouring chunks overlap on both cores. Chunk n's checkpoint
    # moves only once its file is in place.
    chunk = run.chunks_done
    keyed: tuple[int, Prepared, Future[pl.DataFrame]] | None = None
    written: tuple[int, ChunkResult, Future[None]] | None = None

    def advance(keyed: tuple[int, Prepared, Future[pl.DataFrame]],
                written: tuple[int, ChunkResult, Future[None]] | None) -> tuple[int, ChunkResult, Future[None]]:
        number, prepared, keys = keyed
        result = finish_chunk(prepared, keys.result(), kind, source_id=source.pk, run_id=run.pk, seen=index.contains)
        index.add(result.halves)
        submitted = writer.submit(write, number, result)
        if written is not None:
            written[2].result()
            checkpoint(written[0], written[1])
        return number, result, submitted

    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-keys") as hasher,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer):
        try:
            for frame in _exact_chunks(frames, CHUNK_ROWS):
                prepared = prepare_chunk(frame, kind, today=today)
                keys = hasher.submit(row_keys, prepared.good, kind)
                if keyed is not None:
                    written = advance(keyed, written)
                keyed = (chunk, prepared, keys)
                chunk += 1
            if keyed is not None:
                written = advance(keyed, written)
            if written is not None:
                written[2].result()
                checkpoint(written[0], written[1])
        except pl.exceptions.PolarsError as exc:
            if info.format == "csv" and "utf-8" in str(exc).lower():
                raise _utf8_failure(run, info) from None
            if info.format == "csv" and "more fields" in str(exc):
                raise _ragged(text_path, info.separator) from None
            raise ImportDataError(_("The file cannot be read after line %(line)s: %(error)s")
                                  % {"line": tally.rows_done + 1, "error": exc}, code="csv") from None
    if tally.rows_done == 0:
        raise ImportDataError(_("The file has a header line but no rows."), code="no_rows")
    _finish_report(run, mapping)
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            state=ImportRun.State.DONE, rows_total=tally.rows_done, finished_at=timezone.now(),
            updated_at=timezone.now(), **tally.fields())
        audit.record("crosscheck.import_done", actor=None, obj=run, committee=source.committee,
                     after={k: v for k, v in tally.fields().items() if k != "rejects"} | {"chunks": run.chunks_done})
    _utf8_path(run).unlink(missing_ok=True)


def _write_rejects_part(run: ImportRun, chunk: int, rejected: pl.DataFrame, labels: dict[str, str]) -> None:
    """This chunk's rejected rows, as a headerless CSV part (atomically, so a rewrite replaces it);
    ``labels`` are the reasons in words (translated by the caller: this runs in the writer thread)."""
    folder = _parts_dir(run)
    path = folder / f"{chunk:06d}.csv"
    if rejected.height == 0:
        path.unlink(missing_ok=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    report = (rejected.with_columns(pl.col("reason").replace_strict(labels, return_dtype=pl.String).alias("message"))
              .select(LINE, "reason", "message", *rejected.columns[2:]))
    csv_safe_columns(report, rejected.columns[2:]).write_csv(tmp, include_header=False)  # a partner's "=..." stays text
    tmp.replace(path)


def _finish_report(run: ImportRun, mapping: dict[str, str]) -> None:
    """Join the parts into the report (UTF-8 with a BOM, so Excel opens it in Chinese)."""
    folder = _parts_dir(run)
    target = report_path(run)
    parts = sorted(folder.glob("*.csv")) if folder.exists() else []
    if not parts:
        target.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        return
    names = [f.name for f in fields_for(run.source.kind)]
    header = [_("line"), _("reason code"), _("reason")] + [csv_safe(mapping.get(name) or name) for name in names]
    tmp = target.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.write(codecs.BOM_UTF8)
        out.write(pl.DataFrame(schema=dict.fromkeys(unique_headers(header), pl.String)).write_csv().encode("utf-8"))
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, DECODE_BLOCK)
    tmp.replace(target)
    shutil.rmtree(folder, ignore_errors=True)


def import_file(source: Source, file: Path, *, actor: User | None, file_name: str | None = None,
                progress: Callable[[ImportRun], None] | None = None) -> ImportRun:
    """Import a file from the disk in the foreground (the console command): copied into the uploads
    (hashed on the way), logged, and run to the end."""
    target = incoming_path()
    digest = hashlib.sha256()
    size = 0
    with open(file, "rb") as src, open(target, "wb") as dst:
        while block := src.read(DECODE_BLOCK):
            digest.update(block)
            dst.write(block)
            size += len(block)
    run = run_create(source, path=target, file_name=file_name or file.name, sha256=digest.hexdigest(), size=size,
                     actor=actor)
    gaps = mapping_gaps(source.kind, source.mapping)
    if gaps:
        raise ValidationFailed(_("Map the columns of source %(source)s on its page first (import #%(run)s is waiting "
                                 "for it).") % {"source": source.name, "run": run.pk}, code="mapping_incomplete")
    return run_import(run.pk, progress=progress)


# THE PUSH API ----------------------------------------------------------------------------------------

@dataclass
class PushResult:
    run: ImportRun
    already_imported: bool
    rejects: list[dict[str, Any]]  # index (0-based, in the records list), reason, message


def _encodable(text: str) -> bool:
    """JSON lets a string hold half of a surrogate pair (``"\\ud800"``), which no UTF-8 text can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: Any) -> str:
    """A field name as the answer can show it (a lone surrogate escaped)."""
    return str(name).encode("utf-8", "backslashreplace").decode("utf-8")


def _cell(value: Any, index: int, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("Record %(index)s: %(field)s must be text, a number or null.")
                               % {"index": index, "field": name}, code="bad_value")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and not value.isascii() and not _encodable(value):
        raise ValidationFailed(_("Record %(index)s: %(field)s is not valid text (it has a lone surrogate).")
                               % {"index": index, "field": name}, code="bad_value")
    if isinstance(value, str | int | float):
        return str(value)
    raise ValidationFailed(_("Record %(index)s: %(field)s must be text, a number or null.")
                           % {"index": index, "field": name}, code="bad_value")


def push_frame(kind: str, records: Any) -> pl.DataFrame:
    """The pushed records as the engine's text frame; ValidationFailed for a malformed request."""
    if not isinstance(records, list):
        raise ValidationFailed(_("The body must be a JSON object with a list called records."), code="bad_body")
    if len(records) > MAX_PUSH_RECORDS:
        raise ValidationFailed(_("At most %(n)s records can be pushed at once.") % {"n": MAX_PUSH_RECORDS},
                               code="too_many")
    names = [f.name for f in fields_for(kind)]
    known = set(names)
    columns: dict[str, list[str | None]] = {name: [] for name in names}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValidationFailed(_("Record %(index)s is not a JSON object.") % {"index": index}, code="bad_record")
        unknown = sorted(set(record) - known)
        if unknown:
            raise ValidationFailed(_("Record %(index)s has unknown fields: %(fields)s. Known fields: %(known)s.")
                                   % {"index": index, "fields": ", ".join(map(_shown, unknown)),
                                      "known": ", ".join(names)}, code="unknown_fields")
        for name in names:
            columns[name].append(_cell(record.get(name), index, name))
    frame = pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String))
    return frame.with_row_index(ROW)


def push_records(source: Source, body: bytes, records: Any) -> PushResult:
    """Import records pushed through the API, synchronously, as one run ("API push", SHA-256 of the
    body): the same body twice adds nothing (the second answer is the first run's)."""
    frame = push_frame(source.kind, records)
    if frame.height == 0:
        raise ValidationFailed(_("There are no records in the request."), code="no_records")
    sha256 = hashlib.sha256(body).hexdigest()
    existing = ImportRun.objects.filter(source=source, file_sha256=sha256).first()
    if existing is not None and existing.state == ImportRun.State.DONE:
        return PushResult(existing, True, [])
    fields = {"file_name": "API push", "size": len(body), "state": ImportRun.State.RUNNING,
              "rows_total": frame.height, "started_at": timezone.now(), "error": "", "finished_at": None}
    if existing is not None:  # a push of this body failed before (or is running right now)
        taken = ImportRun.objects.filter(pk=existing.pk, state=ImportRun.State.FAILED).update(**fields)
        if not taken:
            return PushResult(existing, True, [])
        run = ImportRun.objects.get(pk=existing.pk)
    else:
        try:
            with transaction.atomic():
                run = ImportRun.objects.create(source=source, file_sha256=sha256, **fields)
        except IntegrityError:  # the same body is being pushed right now
            return PushResult(ImportRun.objects.get(source=source, file_sha256=sha256), True, [])

    def seen(keys: pl.DataFrame) -> pl.Series:
        stored = _stored_among(source.committee_id, source.kind, keys["row_key"], exclude_run=run.pk)
        return keys["row_key"].is_in(pl.Series(list(stored), dtype=pl.String).implode())

    try:
        result = process_chunk(frame, source.kind, source_id=source.pk, run_id=run.pk,
                               today=timezone.localdate(), seen=seen)
        if result.kept.height:
            store.write_chunk(source.committee_id, source.kind, run.pk, 0, result.kept)
    except Exception as exc:
        # Record-and-raise: nothing of this push is kept, the run says why.
        store.remove_run(source.committee_id, source.kind, run.pk)
        ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.State.FAILED, error=str(exc)[:2000],
                                                   finished_at=timezone.now())
        raise
    tally = _Tally(0, 0, 0, 0, 0)
    tally.add(result)
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(state=ImportRun.State.DONE, chunks_done=1,
                                                   finished_at=timezone.now(), updated_at=timezone.now(),
                                                   **tally.fields())
        audit.record("crosscheck.records_push", actor=None, obj=run, committee=source.committee,
                     after={k: v for k, v in tally.fields().items() if k != "rejects"})
    run.refresh_from_db()
    rejects = [{"index": row[LINE] - 2, "reason": row["reason"], "message": reason_label(row["reason"])}
               for row in result.rejected.select(LINE, "reason").to_dicts()]
    return PushResult(run, False, rejects)
