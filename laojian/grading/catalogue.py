"""Loading the grading standard and the paid-leave catalogue from their CSV files.

The shipped edition (``data/gbt16180-2014.csv``) is loaded after every migrate if it is missing,
so a fresh database can grade at once; ``laojian grading import FILE`` loads a later edition.
File format (UTF-8 CSV): ``clause_id,grade,seq,categories,body_parts,criterion_zh``; a row
``5.{g}.1`` holds the grade principle, rows ``5.{g}.2({n})`` the clauses; categories (1–5) and
body parts are ``|``-separated.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from laojian.core.categories import Category
from laojian.core.errors import ValidationFailed
from laojian.grading.models import Clause, Edition, GradePrinciple, LeavePeriod

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_FILE = DATA / "gbt16180-2014.csv"
SHIPPED_EDITION = "GB/T 16180-2014"
SHIPPED_TITLE = "劳动能力鉴定 职工工伤与职业病致残等级"
SHIPPED_EFFECTIVE = dt.date(2015, 1, 1)
LEAVE_SAMPLE_FILE = DATA / "leave-periods-sample.csv"

CLAUSE_ID = re.compile(r"^5\.(10|[1-9])\.2\(([1-9]\d*)\)$")  # no leading zero: one spelling per clause
PRINCIPLE_ID = re.compile(r"^5\.(10|[1-9])\.1$")
COLUMNS = ("clause_id", "grade", "seq", "categories", "body_parts", "criterion_zh")
LEAVE_COLUMNS = ("icd10", "name_zh", "body_region", "max_months")
ICD10 = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")


@dataclass(frozen=True)
class Imported:
    edition: Edition
    clauses: int
    per_grade: dict[int, int]


def _read_rows(content: bytes, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The file is not UTF-8 text.")) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(_("The file lacks the columns: %(cols)s.") % {"cols": ", ".join(missing)})
    return list(reader)


def _pipe(values: list[str]) -> str:
    return "|" + "|".join(values) + "|"


def parse_edition(content: bytes) -> tuple[list[Clause], list[GradePrinciple]]:
    """Check every row of a standard file; the first bad row is named with its line number."""
    clauses: list[Clause] = []
    principles: list[GradePrinciple] = []
    seen: set[str] = set()
    lines: dict[str, int] = {}
    for line, row in enumerate(_read_rows(content, COLUMNS), start=2):
        number = (row["clause_id"] or "").strip()
        text = (row["criterion_zh"] or "").strip()

        def bad(message: str, line: int = line, number: str = number) -> ValidationFailed:
            return ValidationFailed(_("Line %(line)d (%(clause)s): %(message)s")
                                    % {"line": line, "clause": number or "—", "message": message})

        if number in seen:
            raise bad(_("the clause appears twice."))
        seen.add(number)
        if not text:
            raise bad(_("the criterion is empty."))
        if m := PRINCIPLE_ID.match(number):
            principles.append(GradePrinciple(grade=int(m.group(1)), text=text))
            continue
        m = CLAUSE_ID.match(number)
        if not m:
            raise bad(_("a clause is written 5.{grade}.2({n}), a grade principle 5.{grade}.1."))
        grade, seq = int(m.group(1)), int(m.group(2))
        if str(row["grade"]).strip() != str(grade) or str(row["seq"]).strip() != str(seq):
            raise bad(_("the grade and item columns contradict the clause number."))
        categories = sorted({c.strip() for c in (row["categories"] or "").split("|") if c.strip()})
        if not categories or any(c not in {str(v) for v in Category.values} for c in categories):
            raise bad(_("categories must be one or more of 1 to 5."))
        parts = [p.strip() for p in (row["body_parts"] or "").split("|") if p.strip()]
        if not parts:
            raise bad(_("name at least one body part."))
        clauses.append(Clause(number=number, grade=grade, seq=seq, categories=_pipe(categories),
                              body_parts=_pipe(parts), criterion=text))
        lines[number] = line
    if not clauses:
        raise ValidationFailed(_("The file holds no clauses."))
    for grade, items in _by_grade(clauses).items():
        expected = list(range(1, len(items) + 1))
        if sorted(items) != expected:
            # Name the first clause after the gap (items are unique here: a duplicate number was refused).
            missing, after = next((n, i) for n, i in zip(expected, sorted(items), strict=True) if n != i)
            number = f"5.{grade}.2({after})"
            raise ValidationFailed(_("Line %(line)d (%(clause)s): %(message)s")
                                   % {"line": lines[number], "clause": number,
                                      "message": _("clause %(missing)s is missing: the items of grade %(grade)d "
                                                   "are not numbered 1 to %(n)d without gaps.")
                                      % {"missing": f"5.{grade}.2({missing})", "grade": grade, "n": len(items)}})
    return clauses, principles


def _by_grade(clauses: list[Clause]) -> dict[int, list[int]]:
    grades: dict[int, list[int]] = {}
    for clause in clauses:
        grades.setdefault(clause.grade, []).append(clause.seq)
    return grades


def import_edition(content: bytes, *, code: str, title: str = "", effective_from: dt.date | None = None,
                   make_current: bool = True) -> Imported:
    """Load an edition of the standard, all or nothing. An edition already used is never replaced."""
    code = code.strip()
    if not code:
        raise ValidationFailed(_("Name the edition (e.g. GB/T 16180-2014)."))
    clauses, principles = parse_edition(content)
    with transaction.atomic():
        if Edition.objects.filter(code=code).exists():
            raise ValidationFailed(_("Edition %(code)s is already loaded; an edition in use is never replaced. "
                                     "Load a corrected file under a new edition name.") % {"code": code})
        if make_current:
            Edition.objects.filter(current=True).update(current=False)
        edition = Edition.objects.create(code=code, title=title, effective_from=effective_from, current=make_current,
                                         source_sha256=hashlib.sha256(content).hexdigest())
        for obj in (*clauses, *principles):
            obj.edition = edition
        Clause.objects.bulk_create(clauses)
        GradePrinciple.objects.bulk_create(principles)
    return Imported(edition, len(clauses), dict(sorted(Counter(c.grade for c in clauses).items())))


def ensure_shipped_edition() -> Edition | None:
    """Load the edition that ships with Laojian unless it is there (called after migrate)."""
    if not SHIPPED_FILE.exists() or Edition.objects.filter(code=SHIPPED_EDITION).exists():
        return None
    return import_edition(SHIPPED_FILE.read_bytes(), code=SHIPPED_EDITION, title=SHIPPED_TITLE,
                          effective_from=SHIPPED_EFFECTIVE,
                          make_current=not Edition.objects.filter(current=True).exists()).edition


def import_leave_periods(content: bytes) -> int:
    """Add or update paid-leave catalogue entries by ICD-10 code, all or nothing."""
    entries: dict[str, dict[str, object]] = {}
    for line, row in enumerate(_read_rows(content, LEAVE_COLUMNS), start=2):
        code = (row["icd10"] or "").strip().upper()
        if not ICD10.match(code):
            raise ValidationFailed(_("Line %(line)d: “%(code)s” is not an ICD-10 code such as S62.0.")
                                   % {"line": line, "code": code})
        try:
            months = int(row["max_months"])
        except (TypeError, ValueError):
            months = 0
        if not 1 <= months <= 24:
            raise ValidationFailed(_("Line %(line)d: the maximum must be 1 to 24 months.") % {"line": line})
        name = (row["name_zh"] or "").strip()
        if not name:
            raise ValidationFailed(_("Line %(line)d: the injury has no name.") % {"line": line})
        entries[code] = {"name": name, "body_region": (row.get("body_region") or "").strip(), "max_months": months,
                         "source": (row.get("source") or "").strip()[:300]}
    with transaction.atomic():
        for code, values in entries.items():
            LeavePeriod.objects.update_or_create(icd10=code, defaults=values)
    return len(entries)


def ensure_leave_sample() -> None:
    """Ship the sample catalogue on an empty table so the period checks have something to check."""
    if LEAVE_SAMPLE_FILE.exists() and not LeavePeriod.objects.exists():
        import_leave_periods(LEAVE_SAMPLE_FILE.read_bytes())


def load_after_migrate(sender, **kwargs) -> None:
    ensure_shipped_edition()
    ensure_leave_sample()
