"""The matching engine: claimed care against partner records, in Polars, in one batch.

For the open cases of a committee (or one case) the claimed care comes from the database in one
``values_list`` query, with the worker's ID number and the injury date; the partner records come
from the Parquet store (finished imports only), cut down to the people of those cases by a semi
join before anything else. Every rule is a few joins and filters over these frames; nothing is
matched row by row. The result is a list of ``Finding`` (rule, what it is about, evidence); the
service (``services.match_committee`` / ``match_case``) turns them into flags.

Hospitals are the same when both sides give an institution code and the codes agree, or, when one
side has no code, when the names agree after normalising (spaces, full-width brackets, case).
Dates agree within ``LAOJIAN_CROSSCHECK_DATE_TOLERANCE_DAYS`` (default 3).
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings

from laojian.cases.models import Status
from laojian.crosscheck import store
from laojian.crosscheck.models import ClaimedCare, Flag, ImportRun

Rule = Flag.Rule

# Cases the engine checks: filed and not yet concluded (drafts are not the committee's yet).
MATCHED_STATES = frozenset({Status.SUBMITTED, Status.CORRECTION_REQUESTED, Status.ACCEPTED, Status.REVIEWED,
                            Status.SCHEDULED, Status.EXAMINED, Status.DIFFICULT})

DEFAULT_TOLERANCE_DAYS = 3
# How much each rule adds to a case's risk score (settings.LAOJIAN_CROSSCHECK_RULE_WEIGHTS overrides).
DEFAULT_WEIGHTS: dict[str, int] = {
    Rule.NO_SETTLEMENT: 5,
    Rule.DATES_DISAGREE: 2,
    Rule.OTHER_BODY_SYSTEM: 3,
    Rule.NOT_LICENSED: 4,
    Rule.PRE_EXISTING: 4,
    Rule.OVERLAPPING_STAYS: 5,
}
# The partner data each rule reads; a rule runs when at least one of its kinds has a finished import.
CARE = ("settlement", "health_stay")
NEEDS: dict[str, tuple[str, ...]] = {
    Rule.NO_SETTLEMENT: ("settlement",),
    Rule.DATES_DISAGREE: CARE,
    Rule.OTHER_BODY_SYSTEM: CARE,
    Rule.NOT_LICENSED: ("licensed",),
    Rule.PRE_EXISTING: CARE,
    Rule.OVERLAPPING_STAYS: (),  # two claimed stays can overlap without any partner data
}
# The licensed service a kind of claimed care needs.
SERVICE_OF_KIND = {ClaimedCare.Kind.STAY: "inpatient", ClaimedCare.Kind.OUTPATIENT: "outpatient",
                   ClaimedCare.Kind.EXAMINATION: "examination"}
# Partner rows kept in a flag's evidence, at most (``partner_total`` says how many there were; the
# liaison sees the rest in the partner's own system or asks for them by letter).
MAX_EVIDENCE_ROWS = 10
# For a stay with no settlement, settlement rows of the person this many days around it are shown.
NEARBY_DAYS = 30

# Blanks a typed or imported code may carry (also the full-width space of Chinese input methods).
_BLANKS = "[ \t\r\n\u3000]"
ICD10_RE = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9]{1,4})?$")

# ICD-10 chapters by the first code of each (letter, two digits); a code belongs to the last chapter
# starting at or before it.
CHAPTERS: tuple[tuple[str, str], ...] = (
    ("A00", "I"), ("C00", "II"), ("D50", "III"), ("E00", "IV"), ("F00", "V"), ("G00", "VI"), ("H00", "VII"),
    ("H60", "VIII"), ("I00", "IX"), ("J00", "X"), ("K00", "XI"), ("L00", "XII"), ("M00", "XIII"),
    ("N00", "XIV"), ("O00", "XV"), ("P00", "XVI"), ("Q00", "XVII"), ("R00", "XVIII"), ("S00", "XIX"),
    ("U00", "XXII"), ("V01", "XX"), ("Z00", "XXI"),
)
# Body regions of chapter XIX (injuries), by first code; the same idea as the chapters.
INJURY_REGIONS: tuple[tuple[str, str], ...] = (
    ("S00", "head"), ("S10", "neck"), ("S20", "thorax"), ("S30", "abdomen_back_pelvis"),
    ("S40", "shoulder_upper_arm"), ("S50", "elbow_forearm"), ("S60", "wrist_hand"), ("S70", "hip_thigh"),
    ("S80", "knee_lower_leg"), ("S90", "ankle_foot"), ("T00", "multiple_regions"), ("T08", "unspecified_region"),
    ("T15", "foreign_body"), ("T20", "burns"), ("T33", "frostbite"), ("T36", "poisoning"),
    ("T66", "other_external"), ("T79", "complications"), ("T90", "sequelae"),
)
# Degenerative conditions of a joint or the spine that an injury claim of the same region may hide.
MUSCULOSKELETAL_REGIONS: dict[str, str] = {
    "M16": "hip_thigh", "M17": "knee_lower_leg", "M22": "knee_lower_leg", "M23": "knee_lower_leg",
    "M75": "shoulder_upper_arm", "M50": "neck", "M51": "abdomen_back_pelvis",
}


def tolerance_days() -> int:
    return int(getattr(settings, "LAOJIAN_CROSSCHECK_DATE_TOLERANCE_DAYS", DEFAULT_TOLERANCE_DAYS))


def rule_weights() -> dict[str, int]:
    return {**DEFAULT_WEIGHTS, **getattr(settings, "LAOJIAN_CROSSCHECK_RULE_WEIGHTS", {})}


# ICD-10 ------------------------------------------------------------------------------------------

def normalize_icd10(code: str) -> str:
    """Upper case, no spaces, the dot put back (``s626`` -> ``S62.6``); not validated."""
    code = re.sub(_BLANKS, "", code or "").upper()
    if len(code) > 3 and "." not in code:
        code = f"{code[:3]}.{code[3:]}"
    return code


def _code_number(code: str) -> int | None:
    """A00 -> 0, B99 -> 199, S62 -> 1862: the order of ICD-10 categories as one integer."""
    match = re.match(r"^([A-Z])([0-9]{2})", re.sub(_BLANKS, "", code or "").upper())
    if not match:
        return None
    return (ord(match.group(1)) - ord("A")) * 100 + int(match.group(2))


_CHAPTER_STARTS = [(_code_number(start), chapter) for start, chapter in CHAPTERS]
_REGION_STARTS = [(_code_number(start), region) for start, region in INJURY_REGIONS]
_INJURY_FIRST, _INJURY_LAST = _code_number("S00"), _code_number("T98")


def icd10_chapter(code: str) -> str | None:
    """The ICD-10 chapter (Roman numeral) of a code by its letter and number, or None."""
    number = _code_number(code)
    if number is None:
        return None
    chapter = None
    for start, name in _CHAPTER_STARTS:
        if number >= start:
            chapter = name
    return chapter


def icd10_region(code: str) -> str | None:
    """What "the same body part" means for pre-existing treatment: the body region for an injury
    (chapter XIX) or a degenerative joint/spine condition, else the chapter."""
    number = _code_number(code)
    if number is None:
        return None
    region = MUSCULOSKELETAL_REGIONS.get(re.sub(_BLANKS, "", code).upper()[:3])
    if region:
        return region
    if _INJURY_FIRST <= number <= _INJURY_LAST:
        found = None
        for start, name in _REGION_STARTS:
            if number >= start:
                found = name
        return found
    return f"chapter:{icd10_chapter(code)}"


def icd10_table(codes: pl.Series) -> pl.DataFrame:
    """Chapter and region of each distinct code of a column: computed once per code (a few
    thousand at most), then joined, which is far cheaper than string expressions on every row."""
    values = codes.drop_nulls().unique().to_list()
    return pl.DataFrame({"code": values, "chapter": [icd10_chapter(v) for v in values],
                         "region": [icd10_region(v) for v in values]},
                        schema={"code": pl.String, "chapter": pl.String, "region": pl.String})


def _with_icd10(frame: pl.DataFrame, code: str, chapter: str, region: str) -> pl.DataFrame:
    table = icd10_table(frame[code]).rename({"code": code, "chapter": chapter, "region": region})
    return frame.join(table, on=code, how="left", maintain_order="left")


# FRAMES ------------------------------------------------------------------------------------------

CLAIMED_SCHEMA: dict[str, pl.DataType] = {
    "claim_id": pl.Int64, "case_id": pl.Int64, "c_kind": pl.String, "c_hospital": pl.String, "c_code": pl.String,
    "c_start": pl.Date, "c_ended": pl.Date, "c_icd10": pl.String, "c_diagnosis": pl.String, "c_record": pl.String,
    "id_number": pl.String, "injury_date": pl.Date,
}
_CLAIMED_FIELDS = ("id", "case_id", "kind", "hospital_name", "hospital_code", "started_on", "ended_on", "icd10",
                   "diagnosis", "record_number", "case__worker__id_number", "case__determination__injury_date")


def normalize_hospital(name: str | None) -> str:
    """A hospital's name as compared: no blanks, half-width brackets, upper case."""
    return re.sub(r"\s", "", name or "").replace("（", "(").replace("）", ")").upper()


def _with_hospital(frame: pl.DataFrame, name: str, out: str) -> pl.DataFrame:
    """Add the normalised name: computed once per distinct name (a few hundred hospitals), joined."""
    values = frame[name].unique().to_list()
    table = pl.DataFrame({name: values, out: [normalize_hospital(v) for v in values]},
                         schema={name: pl.String, out: pl.String})
    return frame.join(table, on=name, how="left", maintain_order="left", nulls_equal=True)


def _code_expr(col: str) -> pl.Expr:
    return pl.col(col).fill_null("").str.strip_chars().str.to_uppercase()


def claimed_frame(committee_id: int, *, case_id: int | None = None) -> pl.DataFrame:
    """The claimed care of the committee's open cases (or of one case) with each worker's ID number
    and injury date: one query, however many cases."""
    qs = ClaimedCare.objects.filter(case__committee_id=committee_id)
    qs = qs.filter(case_id=case_id) if case_id is not None else qs.filter(case__status__in=MATCHED_STATES)
    rows = list(qs.order_by().values_list(*_CLAIMED_FIELDS))
    return prepare_claimed(pl.DataFrame(rows, schema=CLAIMED_SCHEMA, orient="row"))


def prepare_claimed(frame: pl.DataFrame) -> pl.DataFrame:
    """Add what the rules compare on: normalised hospital, the end of each item, chapter and region."""
    frame = frame.with_columns(c_code=_code_expr("c_code"), c_end=pl.coalesce("c_ended", "c_start"))
    return _with_icd10(_with_hospital(frame, "c_hospital", "c_hosp_n"), "c_icd10", "c_chapter", "c_region")


def finished_runs(committee_id: int) -> dict[str, list[int]]:
    """The finished imports of the committee, by kind of data: the only rows the engine reads."""
    runs: dict[str, list[int]] = {}
    for kind, run_id in (ImportRun.objects.filter(source__committee_id=committee_id, state=ImportRun.State.DONE)
                         .order_by("id").values_list("source__kind", "id")):
        runs.setdefault(kind, []).append(run_id)
    return runs


def partner_frames(committee_id: int, runs: dict[str, list[int]]) -> dict[str, pl.LazyFrame]:
    """The stored records of each kind that has a finished import (lazy: nothing read yet)."""
    return {kind: store.records(committee_id, kind, run_ids) for kind, run_ids in runs.items() if run_ids}


def people_records(committee_id: int, kind: str, run_ids: list[int], people: pl.DataFrame) -> pl.LazyFrame:
    """``store.records`` of these people only, cut *before* the de-duplication by row key.

    The same rows as ``store.records(...)`` filtered to the people (two rows with one row key are
    the same row, so which copy is kept does not matter), but Polars cannot push a filter below a
    ``unique``: de-duplicating millions of rows to keep a few thousand costs 5–10 times the plain
    join. Here the ``is_in`` filter goes down into the Parquet reader, and ``is_first_distinct``
    is also several times faster than ``unique`` on wide rows.
    """
    files = [path for run_id in sorted(set(run_ids))
             for path in sorted(store.kind_dir(committee_id, kind).glob(f"run-{run_id}-*.parquet"))]
    if not files:
        return pl.LazyFrame(schema=store.schema_for(kind))
    return (pl.scan_parquet(files).filter(pl.col("id_number").is_in(people["id_number"].implode()))
            .filter(pl.col("row_key").is_first_distinct()))


def _partner_care(partner: dict[str, pl.LazyFrame]) -> pl.DataFrame:
    """Settlement and health-department rows, renamed for the rules; an empty frame of the same
    columns when there are none. Cut to the cases' people beforehand (``people_frames``), they are
    few; uncut (``partner_frames``) the result is the same, the joins on the ID number below keep
    only those people, but everything is read."""
    sources = [(kind, partner[kind]) for kind in CARE if kind in partner] or [("", pl.LazyFrame(schema=store.CARE_SCHEMA))]
    parts = [
        frame.select(
            pl.lit(kind).alias("p_src"), "row_key", "id_number", pl.col("id_valid").alias("p_id_valid"),
            pl.col("hospital_name").alias("p_hospital"), _code_expr("hospital_code").alias("p_code"),
            pl.col("service").alias("p_service"),
            pl.col("admitted_on").alias("p_start"), pl.col("discharged_on").alias("p_discharged"),
            pl.coalesce("discharged_on", "admitted_on").alias("p_end"),
            pl.col("icd10").alias("p_icd10"), pl.col("diagnosis").alias("p_diagnosis"),
            pl.col("record_number").alias("p_record"),
        )
        for kind, frame in sources
    ]
    care = pl.concat(parts).collect()
    return _with_icd10(_with_hospital(care, "p_hospital", "p_hosp_n"), "p_icd10", "p_chapter", "p_region")


# RULES -------------------------------------------------------------------------------------------

def _same_hospital(left_code: str, left_name: str, right_code: str, right_name: str) -> pl.Expr:
    """Codes decide when both sides have one; otherwise the normalised names."""
    return (pl.when((pl.col(left_code) != "") & (pl.col(right_code) != ""))
            .then(pl.col(left_code) == pl.col(right_code))
            .otherwise(pl.col(left_name) == pl.col(right_name)))


def _days(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_days()


_INPATIENT = pl.col("p_service").is_null() | (pl.col("p_service") == "") | (pl.col("p_service") == "inpatient")

PARTNER_FIELDS = {"p_src": "kind", "row_key": "row_key", "p_hospital": "hospital_name", "p_code": "hospital_code",
                  "p_service": "service", "p_start": "admitted_on", "p_discharged": "discharged_on",
                  "p_icd10": "icd10", "p_diagnosis": "diagnosis", "p_record": "record_number",
                  "p_id_valid": "id_valid"}


_DATES = {"p_start", "p_discharged"}


def _partner_struct() -> pl.Expr:
    """A partner row as the evidence keeps it (dates as ISO strings: the evidence is JSON)."""
    return pl.struct([(pl.col(c).cast(pl.String) if c in _DATES else pl.col(c)).alias(name)
                      for c, name in PARTNER_FIELDS.items()])


def _rows(frame: pl.DataFrame, by: list[str], order: str = "p_start") -> pl.DataFrame:
    """The partner rows of each group as a list of structs, oldest first, at most MAX_EVIDENCE_ROWS,
    and how many there are."""
    return (frame.sort([*by, order, "row_key"])
            .group_by(by, maintain_order=True)
            .agg(_partner_struct().head(MAX_EVIDENCE_ROWS).alias("partner"), pl.len().alias("partner_total")))


def _no_settlement(claimed: pl.DataFrame, pairs: pl.DataFrame, matched: pl.DataFrame) -> pl.DataFrame:
    """A claimed stay with no settlement row of that person at that hospital within the dates."""
    stays = claimed.filter(pl.col("c_kind") == ClaimedCare.Kind.STAY)
    settled = matched.filter((pl.col("p_src") == "settlement") & _INPATIENT).select("claim_id").unique()
    missing = stays.join(settled, on="claim_id", how="anti").select("claim_id", "case_id", "c_hospital")
    if missing.is_empty():
        return missing
    window = pl.duration(days=NEARBY_DAYS)
    nearby = pairs.join(missing.select("claim_id"), on="claim_id", how="semi").filter(
        (pl.col("p_src") == "settlement")
        & (pl.col("same_hospital") | ((pl.col("p_start") <= pl.col("c_end") + window)
                                      & (pl.col("p_end") >= pl.col("c_start") - window))))
    return missing.join(_rows(nearby, ["claim_id"]), on="claim_id", how="left").with_columns(
        key=pl.col("claim_id").cast(pl.String))


def _dates_disagree(matched: pl.DataFrame, tol: int) -> pl.DataFrame:
    """The closest matching stay of a claimed stay has admission or discharge off by more than tol."""
    candidates = matched.filter((pl.col("c_kind") == ClaimedCare.Kind.STAY) & _INPATIENT).with_columns(
        d_adm=_days("p_start", "c_start").abs(),
        d_dis=pl.when(pl.col("p_discharged").is_null() | pl.col("c_ended").is_null()).then(0)
        .otherwise(_days("p_discharged", "c_ended").abs()),
    )
    best = (candidates.with_columns(d=pl.col("d_adm") + pl.col("d_dis"))
            .sort(["claim_id", "d", "row_key"]).unique(subset=["claim_id"], keep="first", maintain_order=True))
    wrong = best.filter((pl.col("d_adm") > tol) | (pl.col("d_dis") > tol))
    return wrong.select(
        "claim_id", "case_id", "c_hospital", pl.concat_list(_partner_struct()).alias("partner"),
        key=pl.col("claim_id").cast(pl.String),
        extra=pl.struct(admitted_diff_days=_days("p_start", "c_start"),
                        discharged_diff_days=pl.when(pl.col("p_discharged").is_null() | pl.col("c_ended").is_null())
                        .then(None).otherwise(_days("p_discharged", "c_ended"))),
    )


def _other_body_system(matched: pl.DataFrame) -> pl.DataFrame:
    """Every matching partner row with a diagnosis code names another ICD-10 chapter than the claim."""
    candidates = matched.filter(pl.col("c_chapter").is_not_null() & pl.col("p_chapter").is_not_null())
    verdict = candidates.group_by("claim_id").agg(same=(pl.col("p_chapter") == pl.col("c_chapter")).any())
    other = candidates.join(verdict.filter(~pl.col("same")), on="claim_id", how="semi")
    if other.is_empty():
        return other.select("claim_id", "case_id", "c_hospital")
    chapters = other.group_by("claim_id").agg(
        pl.first("case_id"), pl.first("c_hospital"), pl.first("c_chapter"),
        pl.col("p_chapter").unique().sort().alias("partner_chapters"))
    return chapters.join(_rows(other, ["claim_id"]), on="claim_id").select(
        "claim_id", "case_id", "c_hospital", "partner", key=pl.col("claim_id").cast(pl.String),
        extra=pl.struct(claimed_chapter="c_chapter", partner_chapters="partner_chapters"))


def _pre_existing(pairs: pl.DataFrame) -> pl.DataFrame:
    """Partner rows of the person from before the injury date, for the same body region as a claim."""
    before = pairs.filter(pl.col("c_region").is_not_null() & (pl.col("p_region") == pl.col("c_region"))
                          & (pl.col("p_start") < pl.col("injury_date")))
    if before.is_empty():
        return before.select("claim_id", "case_id", "c_hospital")
    by = ["case_id", "c_region"]
    claims = before.group_by(by).agg(
        pl.col("claim_id").min(), pl.col("claim_id").unique().sort().alias("claim_ids"), pl.first("injury_date"))
    rows = _rows(before.unique(subset=[*by, "row_key"]), by)
    return claims.join(rows, on=by).join(
        before.select("claim_id", "c_hospital").unique(subset=["claim_id"]), on="claim_id").select(
        "claim_id", "case_id", "c_hospital", "partner", "claim_ids", key=pl.col("c_region"),
        extra=pl.struct(region="c_region", injury_date=pl.col("injury_date").cast(pl.String)))


def _overlapping_stays(claimed: pl.DataFrame, care: pl.DataFrame) -> list[pl.DataFrame]:
    """A claimed stay overlapping (by at least a night) another stay of the person at another hospital:
    another claimed stay of the case, or a partner's inpatient row."""
    stays = claimed.filter(pl.col("c_kind") == ClaimedCare.Kind.STAY).select(
        "claim_id", "case_id", "id_number", "c_hospital", "c_code", "c_hosp_n", "c_start", "c_end")
    overlap = pl.struct(overlap_from=pl.max_horizontal("c_start", "r_start").cast(pl.String),
                        overlap_until=pl.min_horizontal("c_end", "r_end").cast(pl.String))
    other = stays.select("id_number", pl.col("case_id").alias("r_case"), pl.col("claim_id").alias("r_claim"),
                         pl.col("c_code").alias("r_code"), pl.col("c_hosp_n").alias("r_hosp_n"),
                         pl.col("c_start").alias("r_start"), pl.col("c_end").alias("r_end"))
    both_claimed = stays.join(other, on="id_number").filter(
        (pl.col("r_case") == pl.col("case_id")) & (pl.col("r_claim") > pl.col("claim_id"))
        & ~_same_hospital("c_code", "c_hosp_n", "r_code", "r_hosp_n")
        & (pl.col("r_start") < pl.col("c_end")) & (pl.col("c_start") < pl.col("r_end"))
    ).select("claim_id", "case_id", "c_hospital", pl.concat_list("claim_id", "r_claim").alias("claim_ids"),
             key=pl.format("{}|claimed:{}", "claim_id", "r_claim"), extra=overlap)
    inpatient = care.filter(_INPATIENT & pl.col("p_discharged").is_not_null()).with_columns(
        r_start=pl.col("p_start"), r_end=pl.col("p_end"))
    with_partner = stays.join(inpatient, on="id_number").filter(
        ~_same_hospital("c_code", "c_hosp_n", "p_code", "p_hosp_n")
        & (pl.col("r_start") < pl.col("c_end")) & (pl.col("c_start") < pl.col("r_end"))
    ).select("claim_id", "case_id", "c_hospital", pl.concat_list(_partner_struct()).alias("partner"),
             key=pl.format("{}|partner:{}", "claim_id", "row_key"), extra=overlap)
    return [both_claimed, with_partner]


def _not_licensed(claimed: pl.DataFrame, registry: pl.DataFrame) -> pl.DataFrame:
    """The hospital is not in the licensed registry on the day of the care, or not for that service."""
    needed = claimed.with_columns(
        service=pl.col("c_kind").replace_strict(SERVICE_OF_KIND, default="inpatient", return_dtype=pl.String))
    registry = _with_hospital(registry, "hospital_name", "l_hosp_n").select(
        pl.col("row_key").alias("l_row_key"), pl.col("hospital_name").alias("l_hospital"),
        _code_expr("hospital_code").alias("l_code"), "l_hosp_n",
        pl.col("services").alias("l_services"), pl.col("valid_from").alias("l_from"),
        pl.col("valid_until").alias("l_until"))
    by_code = needed.filter(pl.col("c_code") != "").join(registry.filter(pl.col("l_code") != ""),
                                                          left_on="c_code", right_on="l_code", coalesce=False)
    by_name = needed.join(registry, left_on="c_hosp_n", right_on="l_hosp_n", coalesce=False)
    entries = (pl.concat([by_code, by_name], how="vertical_relaxed")
               .filter(_same_hospital("c_code", "c_hosp_n", "l_code", "l_hosp_n"))
               .unique(subset=["claim_id", "l_row_key"]))
    valid = entries.filter((pl.col("l_from").is_null() | (pl.col("l_from") <= pl.col("c_start")))
                           & (pl.col("l_until").is_null() | (pl.col("l_until") >= pl.col("c_start"))))
    licensed = valid.filter(pl.col("l_services").fill_null("").str.split("|").list.contains(pl.col("service")))
    refused = needed.join(licensed.select("claim_id").unique(), on="claim_id", how="anti")
    if refused.is_empty():
        return refused.select("claim_id", "case_id", "c_hospital")
    in_registry = valid.select("claim_id").unique().with_columns(registered=pl.lit(True))
    shown = (entries.join(refused.select("claim_id"), on="claim_id", how="semi")
             .sort(["claim_id", "l_from", "l_row_key"], nulls_last=False)
             .group_by("claim_id", maintain_order=True)
             .agg(pl.struct(pl.lit("licensed").alias("kind"), pl.col("l_row_key").alias("row_key"),
                            pl.col("l_hospital").alias("hospital_name"), pl.col("l_code").alias("hospital_code"),
                            pl.col("l_services").alias("services"), pl.col("l_from").cast(pl.String).alias("valid_from"),
                            pl.col("l_until").cast(pl.String).alias("valid_until"))
                  .head(MAX_EVIDENCE_ROWS).alias("partner")))
    return (refused.join(in_registry, on="claim_id", how="left").join(shown, on="claim_id", how="left")
            .select("claim_id", "case_id", "c_hospital", "partner", key=pl.col("claim_id").cast(pl.String),
                    extra=pl.struct(reason=pl.when(pl.col("registered").fill_null(False))
                                    .then(pl.lit("service_not_licensed")).otherwise(pl.lit("not_in_registry")),
                                    service="service")))


# THE RUN -----------------------------------------------------------------------------------------

@dataclass
class Finding:
    """One doubt: which rule, about what (``key``, stable across runs), and the evidence."""

    case_id: int
    rule: str
    key: str
    claimed_id: int | None
    hospital_name: str
    evidence: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.rule}|{self.key}".encode()).hexdigest()


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)


# A claimed item in the evidence: its fields, named as on the model, from the claimed-care frame.
CLAIMED_EVIDENCE = {"id": "claim_id", "kind": "c_kind", "hospital_name": "c_hospital", "hospital_code": "c_code",
                    "started_on": "c_start", "ended_on": "c_ended", "icd10": "c_icd10", "diagnosis": "c_diagnosis",
                    "record_number": "c_record"}


def find(claimed: pl.DataFrame, partner: dict[str, pl.LazyFrame], *, tolerance: int | None = None,
         rules: Iterable[str] | None = None) -> Result:
    """Run the rules over prepared claimed care (``prepare_claimed``) and the partner frames that
    have data; rules whose data is missing are reported in ``skipped``, not run."""
    tol = tolerance_days() if tolerance is None else tolerance
    wanted = list(rules) if rules is not None else list(Rule.values)
    result = Result()
    runnable = []
    for rule in wanted:
        if NEEDS[rule] and not any(kind in partner for kind in NEEDS[rule]):
            result.skipped[rule] = list(NEEDS[rule])
        else:
            runnable.append(rule)
    if claimed.is_empty() or not runnable:
        return result

    care = _partner_care(partner)
    tolerance_window = pl.duration(days=tol)
    # Every claim with every care record of the same person; "matched": same hospital, dates close.
    pairs = claimed.drop("c_diagnosis", "c_record", "c_icd10").join(care, on="id_number").with_columns(
        same_hospital=_same_hospital("c_code", "c_hosp_n", "p_code", "p_hosp_n"))
    matched = pairs.filter(pl.col("same_hospital")
                           & (pl.col("p_start") <= pl.col("c_end") + tolerance_window)
                           & (pl.col("p_end") >= pl.col("c_start") - tolerance_window))
    frames: list[tuple[str, pl.DataFrame]] = []
    if Rule.NO_SETTLEMENT in runnable:
        frames.append((Rule.NO_SETTLEMENT, _no_settlement(claimed, pairs, matched)))
    if Rule.DATES_DISAGREE in runnable:
        frames.append((Rule.DATES_DISAGREE, _dates_disagree(matched, tol)))
    if Rule.OTHER_BODY_SYSTEM in runnable:
        frames.append((Rule.OTHER_BODY_SYSTEM, _other_body_system(matched)))
    if Rule.PRE_EXISTING in runnable:
        frames.append((Rule.PRE_EXISTING, _pre_existing(pairs)))
    if Rule.NOT_LICENSED in runnable:
        frames.append((Rule.NOT_LICENSED, _not_licensed(claimed, partner["licensed"].collect())))
    if Rule.OVERLAPPING_STAYS in runnable:
        frames.extend((Rule.OVERLAPPING_STAYS, frame) for frame in _overlapping_stays(claimed, care))

    frames = [(rule, frame) for rule, frame in frames if not frame.is_empty()]
    referenced: set[int] = set()
    for _rule, frame in frames:
        referenced.update(frame["claim_id"].to_list())
        if "claim_ids" in frame.columns:
            for ids in frame["claim_ids"].to_list():
                referenced.update(ids)
    with _no_gc():  # tens of thousands of small dicts: the cyclic collector only slows this down
        claims = {row[0]: dict(zip(CLAIMED_EVIDENCE, row, strict=True)) for row in claimed.filter(
            pl.col("claim_id").is_in(sorted(referenced))).select(
            *CLAIMED_EVIDENCE.values()).with_columns(pl.col("c_start", "c_ended").cast(pl.String)).iter_rows()}
        for rule, frame in frames:
            for row in frame.to_dicts():
                claim_ids = row.get("claim_ids") or [row["claim_id"]]
                evidence: dict[str, Any] = {
                    "claimed": [claims[i] for i in claim_ids if i in claims],
                    "partner": row.get("partner") or [],
                    "tolerance_days": tol,
                }
                if (row.get("partner_total") or 0) > len(evidence["partner"]):
                    evidence["partner_total"] = row["partner_total"]
                if row.get("extra"):
                    evidence.update(row["extra"])
                result.findings.append(Finding(
                    case_id=row["case_id"], rule=rule, key=row["key"], claimed_id=row["claim_id"],
                    hospital_name=(row.get("c_hospital") or "")[:100], evidence=evidence))
    return result


@contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_for(committee_id: int, *, case_id: int | None = None, rules: Iterable[str] | None = None) -> Result:
    """Load the committee's claimed care (or one case's) and finished partner data, and run the rules."""
    claimed = claimed_frame(committee_id, case_id=case_id)
    return find(claimed, people_frames(committee_id, finished_runs(committee_id), claimed), rules=rules)


def people_frames(committee_id: int, runs: dict[str, list[int]], claimed: pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """Like ``partner_frames``, with the care records cut to the people of ``claimed`` before their
    de-duplication (``people_records``); the registry is small and read whole."""
    people = claimed.select("id_number").unique()
    return {kind: (people_records(committee_id, kind, run_ids, people) if kind in CARE
                   else store.records(committee_id, kind, run_ids))
            for kind, run_ids in runs.items() if run_ids}
