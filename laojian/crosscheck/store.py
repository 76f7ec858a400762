"""Where partner records live: Parquet chunks, one directory per committee and kind.

``LAOJIAN_DATA_DIR/crosscheck/<committee id>/<kind>/run-<run id>-<chunk>.parquet``. A chunk is
written to a temporary name and renamed, so a crash never leaves half a chunk under the final
name. Readers see the chunks of finished runs only (and the chunks of the run being matched
in tests), deduplicated by ``row_key``. Nothing here touches the database.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from django.conf import settings

# The normalised columns every care record has (settlement and health-department stays).
CARE_SCHEMA: dict[str, pl.DataType] = {
    "row_key": pl.String,          # SHA-256 (hex, 32 chars kept) of the normalised row: dedup across files
    "id_number": pl.String,        # upper case; kept even when its check digit is wrong
    "id_valid": pl.Boolean,        # GB 11643 check digit and birth date
    "person_name": pl.String,
    "hospital_code": pl.String,
    "hospital_name": pl.String,
    "service": pl.String,          # "inpatient", "outpatient" or "examination"
    "admitted_on": pl.Date,
    "discharged_on": pl.Date,      # null for a visit or examination
    "diagnosis": pl.String,
    "icd10": pl.String,
    "record_number": pl.String,
    "source_id": pl.Int64,
    "run_id": pl.Int64,
}
# The licensed-hospital registry (health department).
LICENSED_SCHEMA: dict[str, pl.DataType] = {
    "row_key": pl.String,
    "hospital_code": pl.String,
    "hospital_name": pl.String,
    "services": pl.String,         # licensed services, "|"-separated (e.g. "inpatient|outpatient|examination")
    "valid_from": pl.Date,
    "valid_until": pl.Date,        # null: no end
    "source_id": pl.Int64,
    "run_id": pl.Int64,
}
CARE_KINDS = ("settlement", "health_stay")


def schema_for(kind: str) -> dict[str, pl.DataType]:
    return LICENSED_SCHEMA if kind == "licensed" else CARE_SCHEMA


def root() -> Path:
    return Path(settings.DATA_DIR) / "crosscheck"


def kind_dir(committee_id: int, kind: str) -> Path:
    return root() / str(committee_id) / kind


def chunk_path(committee_id: int, kind: str, run_id: int, chunk: int) -> Path:
    return kind_dir(committee_id, kind) / f"run-{run_id}-{chunk:06d}.parquet"


def write_chunk(committee_id: int, kind: str, run_id: int, chunk: int, frame: pl.DataFrame) -> Path:
    """Write one chunk atomically (temporary file, fsync, rename); rewriting the same chunk replaces it."""
    path = chunk_path(committee_id, kind, run_id, chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    # zstd level 1: as small as the default level 3 here (the random row keys dominate) for a third
    # less CPU, which counts when a month of settlements is imported.
    frame.select([pl.col(c).cast(t) for c, t in schema_for(kind).items()]).write_parquet(
        tmp, compression="zstd", compression_level=1)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def remove_run(committee_id: int, kind: str, run_id: int) -> int:
    """Delete a run's chunks (a failed import that will not be resumed); returns how many."""
    removed = 0
    for path in kind_dir(committee_id, kind).glob(f"run-{run_id}-*.parquet*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def records(committee_id: int, kind: str, run_ids: list[int]) -> pl.LazyFrame:
    """The stored rows of these runs (the finished ones, chosen by the caller from the import log),
    each row once. An empty frame of the right schema when there is nothing."""
    files = [p for run_id in sorted(set(run_ids))
             for p in sorted(kind_dir(committee_id, kind).glob(f"run-{run_id}-*.parquet"))]
    if not files:
        return pl.LazyFrame(schema=schema_for(kind))
    return pl.scan_parquet(files).unique(subset=["row_key"], keep="first", maintain_order=False)
