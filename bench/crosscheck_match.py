"""Cross-checks: the matching engine against a plain Polars join of the same data, in the same run.

Usage (from the checkout)::

    .venv/bin/python bench/crosscheck_match.py [--rows 10000000] [--cases 100000] [--repeat 3]
                                               [--database sqlite|postgres|both] [--keep]

The parent creates a throwaway database (``harness``: SQLite in a temporary ``LAOJIAN_DATA_DIR`` by
default; PostgreSQL through ``BENCH_PG_ADMIN_URL``) and runs one child in it. The child migrates and
seeds, then measures in process and prints one JSON line; the parent prints a table and writes
everything to ``bench/results/crosscheck_match-<UTC time>.json``.

Data (deterministic: ``random.Random(42)`` for the database, Polars hashes of the row number for the
partner rows):

- ``--cases`` accepted cases (one committee), each with its worker, determination and claimed care:
  one hospital stay each, an outpatient visit for half of them and an examination for a third
  (``bulk_create``, batches of 5,000);
- ``--rows`` settlement rows in Parquet through ``store.write_chunk`` (chunks of 1,000,000 rows, one
  finished ``ImportRun``): 80 % of the claimed stays settled (some with other dates or another
  diagnosis), the rest random care of ten times as many people as there are cases (the case workers
  among them) in 300 hospitals over 2023–2026, 30 % inpatient;
- a licensed-hospital registry of the 300 hospitals (a few not licensed for inpatients).

What is timed, ``--repeat`` times in alternating order after a warm-up, median reported:

1. **engine**: ``matching.find(claimed, partner)``, the whole rule set over the claimed-care frame
   (already loaded) and the stored records of the finished imports (``store.records``: the scan,
   the de-duplication by row key, the cut to the cases' people, the six rules, the evidence);
2. **plain join**: ``pl.scan_parquet(the same files).join(claimed, on="id_number").collect()``, the
   same frames on the same key, nothing else. Goal (the issue): engine ≤ 2 × plain join.

Once each, for the whole picture: loading the claimed care from the database (one query), the first
nightly run through the service (``services.match_committee``: load, engine, every flag new and
written with bulk statements, timeline entries) and a re-run (nothing new: ``last_seen_at`` only).
Peak memory: the resident set's high-water mark of the child, reset (``/proc/self/clear_refs``)
before each measured part; goal < 4 GB. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import harness
from harness import RESULT_PREFIX

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RATIO_GOAL = 2.0
MEMORY_GOAL_MB = 4096
CHUNK_ROWS = 1_000_000
HOSPITALS = 300
ICD10 = ("S62.6", "S62.0", "S82.1", "S83.2", "S52.5", "S42.2", "S06.0", "S32.0", "S92.3", "T21.2", "M17.1",
         "M51.2", "I10", "I21.0", "E11.9", "J18.9", "K35.8", "N18.5", "C34.9", "Z96.6")


# PARENT -----------------------------------------------------------------------------------------------

def print_table(results: list[dict[str, Any]]) -> None:
    for res in results:
        d = res["data"]
        print()
        print(f"{res['database']}: {d['cases']:,} open cases, {d['claimed']:,} claimed care, "
              f"{d['settlement_rows']:,} settlement rows ({d['parquet_mb']:.0f} MB Parquet), "
              f"{d['licensed_rows']} registry rows; seeding {d['seed_seconds']:.0f} s")
        header = f"{'':<44} {'median s':>9} {'peak RSS MB':>12}"
        print(header)
        print("-" * len(header))
        t = res["timings"]
        rows = [
            ("engine: matching.find (6 rules, evidence)", t["engine_s"], t["engine_peak_mb"]),
            ("plain Polars join on id_number", t["join_s"], t["join_peak_mb"]),
            ("load claimed care (one query)", t["load_s"], None),
            ("nightly run, first (all flags new)", t["first_run_s"], t["first_run_peak_mb"]),
            ("nightly run, again (nothing new)", t["rerun_s"], t["rerun_peak_mb"]),
        ]
        for label, seconds, peak in rows:
            print(f"{label:<44} {seconds:>9.2f} {'' if peak is None else f'{peak:,.0f}':>12}")
        ok = "ok" if t["ratio"] <= RATIO_GOAL else "MISS"
        print(f"ratio engine / plain join: {t['ratio']:.2f} (goal ≤ {RATIO_GOAL}: {ok}); "
              f"nightly run / plain join: {t['first_run_s'] / t['join_s']:.2f}")
        peak = res["peak_rss_mb"]
        print(f"peak RSS of the child while measuring: {peak:,.0f} MB (goal < {MEMORY_GOAL_MB:,} MB: "
              f"{'ok' if peak < MEMORY_GOAL_MB else 'MISS'}); resident before the timed runs "
              f"{res['rss_before_timing_mb']:,.0f} MB (Django, the seeded data's leftovers, Polars' pools)")
        f = res["findings"]
        print(f"findings: {f['total']:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(f['by_rule'].items()))}); "
              f"plain join rows {f['join_rows']:,}; flags written {f['flags']:,}")
        print(f"{res['versions']['database']}, Polars {res['versions']['polars']}, Django {res['versions']['django']}; "
              f"total {res['wall_seconds']} s")


def parent(args: argparse.Namespace) -> None:
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        print(f"== {database}: {args.cases:,} cases, {args.rows:,} settlement rows, {args.repeat} runs each",
              file=sys.stderr)
        results.append(harness.run_child(__file__, database, ["--rows", str(args.rows), "--cases", str(args.cases),
                                                              "--repeat", str(args.repeat)], keep=args.keep))
    print_table(results)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"crosscheck_match-{stamp}.json"
    payload = {
        "benchmark": "bench/crosscheck_match.py", "started": stamp,
        "goal": {"ratio_max": RATIO_GOAL, "peak_rss_mb_max": MEMORY_GOAL_MB},
        "rows": args.rows, "cases": args.cases, "repeat": args.repeat,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {path.relative_to(PROJECT_DIR)}")


# CHILD: MEMORY ----------------------------------------------------------------------------------------

def _reset_peak() -> None:
    """Start a new resident-set high-water mark (Linux ≥ 4.0); harmless elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# CHILD: DATA ------------------------------------------------------------------------------------------

def _hospital(n: int) -> tuple[str, str]:
    return f"H37150{n:05d}", f"聊城测试医院{n}"


def seed_database(n_cases: int) -> dict[str, Any]:
    """Cases with workers, determinations and claimed care, bulk-created; returns what the partner
    data needs to know about them."""
    from laojian.cases.models import Case, CaseType, Employer, InjuryDetermination, Mode, Status, Worker
    from laojian.core.models import Committee, User
    from laojian.core.validators import build_credit_code, build_resident_id
    from laojian.crosscheck.models import ClaimedCare

    rng = random.Random(42)
    committee = Committee.objects.create(name="聊城市劳动能力鉴定委员会（测试）", short_name="聊城", code="371500",
                                         case_number_prefix="聊劳鉴")
    clerk = User.objects.create(username="bench-clerk", committee=committee, display_name="录入员")
    employers = Employer.objects.bulk_create(
        [Employer(credit_code=build_credit_code(f"9137150{n:010d}"), name=f"测试企业{n}") for n in range(1000)])
    batch = 5000
    stays: list[tuple[int, int, dt.date, dt.date, str]] = []  # (case index, hospital, start, end, icd10)
    claimed_total = 0
    for start in range(0, n_cases, batch):
        idx = range(start, min(start + batch, n_cases))
        workers = []
        for i in idx:
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=i % 12000)
            workers.append(Worker(id_number=build_resident_id("371502", birth, i // 12000), name=f"工人{i}",
                                  birth_date=birth, sex="M" if i % 2 else "F"))
        workers = Worker.objects.bulk_create(workers)
        injuries = [dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(800)) for _ in idx]
        determinations = InjuryDetermination.objects.bulk_create([
            InjuryDetermination(number=f"聊人社工伤认字〔2026〕{i:07d}号", worker=w, employer=employers[i % 1000],
                                injury_date=inj, determination_date=inj + dt.timedelta(days=40),
                                injured_parts="右手", diagnosis="右手外伤")
            for i, w, inj in zip(idx, workers, injuries, strict=True)])
        cases = Case.objects.bulk_create([
            Case(committee=committee, case_type=CaseType.INITIAL, applicant_kind="worker", mode=Mode.SITTING,
                 status=Status.ACCEPTED, worker=w, employer=d.employer, determination=d,
                 received_on=d.determination_date + dt.timedelta(days=30))
            for w, d in zip(workers, determinations, strict=True)])
        care = []
        for i, case, inj in zip(idx, cases, injuries, strict=True):
            hospital = rng.randrange(HOSPITALS)
            code, name = _hospital(hospital)
            begin = inj + dt.timedelta(days=rng.randrange(2))
            end = begin + dt.timedelta(days=rng.randrange(3, 30))
            icd = rng.choice(ICD10[:10])
            stays.append((i, hospital, begin, end, icd))
            care.append(ClaimedCare(case=case, kind="stay", hospital_name=name, hospital_code=code if i % 3 else "",
                                    started_on=begin, ended_on=end, icd10=icd, diagnosis="外伤",
                                    record_number=f"ZY{i:08d}", entered_by=clerk))
            if rng.random() < 0.5:
                visit = end + dt.timedelta(days=rng.randrange(5, 60))
                care.append(ClaimedCare(case=case, kind="outpatient", hospital_name=name, started_on=visit,
                                        icd10=icd, entered_by=clerk))
            if rng.random() < 0.33:
                care.append(ClaimedCare(case=case, kind="examination", hospital_name=_hospital(rng.randrange(HOSPITALS))[1],
                                        started_on=begin + dt.timedelta(days=1), entered_by=clerk))
        ClaimedCare.objects.bulk_create(care)
        claimed_total += len(care)
    ids = list(Worker.objects.order_by("id").values_list("id_number", flat=True))
    return {"committee": committee, "ids": ids, "stays": stays, "claimed": claimed_total}


def _chunk(start: int, count: int, people: Any, n_people: int, source_id: int, run_id: int) -> Any:
    """Random care rows ``start`` … ``start + count`` (the same rows for the same numbers, every time)."""
    import polars as pl

    i = pl.int_range(start, start + count, dtype=pl.UInt64, eager=True).alias("i")
    frame = pl.DataFrame(i).with_columns(
        p=(pl.col("i").hash(1) % n_people).cast(pl.Int64),
        h=(pl.col("i").hash(2) % HOSPITALS).cast(pl.Int64),
        s=(pl.col("i").hash(3) % 10).cast(pl.Int64),
        day=(pl.col("i").hash(4) % 1300).cast(pl.Int64),
        stay=(pl.col("i").hash(5) % 20).cast(pl.Int64),
        icd=(pl.col("i").hash(6) % len(ICD10)).cast(pl.Int64),
    ).join(people, on="p", how="left")
    service = pl.when(pl.col("s") < 3).then(pl.lit("inpatient")).when(pl.col("s") < 9).then(pl.lit("outpatient")) \
        .otherwise(pl.lit("examination"))
    admitted = pl.lit(dt.date(2023, 1, 1)) + pl.duration(days=pl.col("day"))
    return frame.select(
        row_key=pl.concat_str(pl.col("i").hash(7).cast(pl.String), pl.lit("-"), pl.col("i").cast(pl.String)),
        id_number="id_number", id_valid=pl.lit(True), person_name=pl.lit(""),
        hospital_code=pl.lit("H37150") + pl.col("h").cast(pl.String).str.zfill(5),
        hospital_name=pl.lit("聊城测试医院") + pl.col("h").cast(pl.String),
        service=service, admitted_on=admitted,
        discharged_on=pl.when(service == "inpatient").then(admitted + pl.duration(days=pl.col("stay")))
        .otherwise(pl.lit(None, dtype=pl.Date)),
        diagnosis=pl.lit(""), icd10=pl.col("icd").replace_strict(dict(enumerate(ICD10)), return_dtype=pl.String),
        record_number=pl.lit(""), source_id=pl.lit(source_id), run_id=pl.lit(run_id),
    )


def seed_partner_data(seeded: dict[str, Any], n_rows: int) -> dict[str, Any]:
    """Settlement rows and the registry in Parquet, as finished imports."""
    import polars as pl

    from laojian.crosscheck import store
    from laojian.crosscheck.models import ImportRun, Source

    committee = seeded["committee"]
    rng = random.Random(7)
    sources = {kind: Source.objects.create(committee=committee, kind=kind, name=f"bench {kind}")
               for kind in ("settlement", "licensed")}
    runs = {kind: ImportRun.objects.create(source=source, file_name=f"{kind}.csv", file_sha256=kind * 4,
                                           state=ImportRun.State.DONE, rows_total=0)
            for kind, source in sources.items()}
    settlement = runs["settlement"]
    # The settlements of the claimed stays: 80 % settled (a tenth with other dates, a tenth with another
    # diagnosis), 20 % not.
    settled = []
    for i, hospital, begin, end, icd in seeded["stays"]:
        roll = rng.random()
        if roll >= 0.8:
            continue
        code, name = _hospital(hospital)
        if roll < 0.08:
            end = end + dt.timedelta(days=rng.randrange(5, 15))
        elif roll < 0.16:
            icd = rng.choice(ICD10[10:])
        settled.append({"row_key": f"settled-{i}", "id_number": seeded["ids"][i], "id_valid": True, "person_name": "",
                        "hospital_code": code, "hospital_name": name, "service": "inpatient",
                        "admitted_on": begin, "discharged_on": end, "diagnosis": "", "icd10": icd,
                        "record_number": f"JS{i:08d}", "source_id": settlement.source_id, "run_id": settlement.pk})
    settled_frame = pl.DataFrame(settled, schema=store.CARE_SCHEMA)
    n_people = len(seeded["ids"]) * 10
    known = len(seeded["ids"])
    people = pl.concat([
        pl.DataFrame({"p": range(known), "id_number": seeded["ids"]}, schema={"p": pl.Int64, "id_number": pl.String}),
        pl.DataFrame({"p": pl.int_range(known, n_people, dtype=pl.Int64, eager=True)})
        .with_columns(id_number=pl.lit("9") + pl.col("p").cast(pl.String).str.zfill(17)),
    ])
    chunk = 0
    written = len(settled_frame)
    store.write_chunk(committee.pk, "settlement", settlement.pk, chunk, settled_frame)
    remaining = max(0, n_rows - written)
    start = 0
    while remaining:
        count = min(CHUNK_ROWS, remaining)
        chunk += 1
        store.write_chunk(committee.pk, "settlement", settlement.pk, chunk,
                          _chunk(start, count, people, n_people, settlement.source_id, settlement.pk))
        start += count
        remaining -= count
        written += count
    registry = []
    for n in range(HOSPITALS):
        code, name = _hospital(n)
        services = "outpatient|examination" if n % 50 == 7 else "inpatient|outpatient|examination"
        registry.append({"row_key": f"lic-{n}", "hospital_code": code, "hospital_name": name, "services": services,
                         "valid_from": dt.date(2015, 1, 1), "valid_until": None,
                         "source_id": runs["licensed"].source_id, "run_id": runs["licensed"].pk})
    store.write_chunk(committee.pk, "licensed", runs["licensed"].pk, 0,
                      pl.DataFrame(registry, schema=store.LICENSED_SCHEMA))
    ImportRun.objects.filter(pk=settlement.pk).update(rows_total=written, rows_done=written, rows_added=written)
    files = sorted(store.kind_dir(committee.pk, "settlement").glob("*.parquet"))
    return {"settlement_rows": written, "licensed_rows": len(registry), "files": files,
            "parquet_mb": sum(f.stat().st_size for f in files) / 2**20}


# CHILD: MEASURING -------------------------------------------------------------------------------------

def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def child(database: str, n_rows: int, n_cases: int, repeat: int) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()
    import polars as pl
    from django.core.management import call_command
    from django.db import connection

    from laojian.crosscheck import matching, services
    from laojian.crosscheck.models import Flag

    call_command("migrate", verbosity=0, interactive=False)
    t0 = time.monotonic()
    seeded = seed_database(n_cases)
    partner = seed_partner_data(seeded, n_rows)
    seed_seconds = time.monotonic() - t0
    committee = seeded["committee"]
    print(f"  seeded in {seed_seconds:.0f} s", file=sys.stderr)

    load_s, claimed = _timed(lambda: matching.claimed_frame(committee.pk))
    runs = matching.finished_runs(committee.pk)
    files = partner["files"]

    def engine() -> matching.Result:
        return matching.find(claimed, matching.people_frames(committee.pk, runs, claimed))

    def plain_join() -> pl.DataFrame:
        return pl.scan_parquet(files).join(claimed.lazy(), on="id_number", how="inner").collect()

    del seeded["stays"], seeded["ids"]
    engine()  # warm-up: file cache, Polars thread pool
    plain_join()
    gc.collect()
    engine_times, join_times, engine_peaks, join_peaks = [], [], [], []
    by_rule: dict[str, int] = {}
    findings_total = joined_rows = 0
    baseline_mb = _rss_mb()
    for n in range(repeat):
        order = [("engine", engine), ("join", plain_join)]
        for name, fn in (order if n % 2 == 0 else order[::-1]):
            gc.collect()
            _reset_peak()
            seconds, value = _timed(fn)
            peak = _peak_mb()
            if name == "engine":
                engine_times.append(seconds)
                engine_peaks.append(peak)
                findings_total, by_rule = len(value.findings), {}
                for finding in value.findings:
                    by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
                skipped = value.skipped
            else:
                join_times.append(seconds)
                join_peaks.append(peak)
                joined_rows = value.height
            del value
            print(f"  {name}: {seconds:.2f} s, peak {peak:,.0f} MB", file=sys.stderr)
    gc.collect()

    _reset_peak()
    first_run_s, first = _timed(lambda: services.match_committee(committee))
    first_peak = _peak_mb()
    _reset_peak()
    rerun_s, again = _timed(lambda: services.match_committee(committee))
    rerun_peak = _peak_mb()
    assert first.flags_found == again.flags_found and again.flags_raised == 0, "a re-run raised new flags"

    engine_s, join_s = statistics.median(engine_times), statistics.median(join_times)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SELECT version()")
        db_version = cursor.fetchone()[0]
    out = {
        "database": database,
        "versions": {"database": (f"SQLite {db_version}" if connection.vendor == "sqlite" else db_version.split(",")[0]),
                     "polars": pl.__version__, "django": django.get_version()},
        "data": {"cases": n_cases, "claimed": seeded["claimed"], "settlement_rows": partner["settlement_rows"],
                 "licensed_rows": partner["licensed_rows"], "parquet_mb": partner["parquet_mb"],
                 "seed_seconds": seed_seconds},
        "timings": {
            "engine_s": engine_s, "engine_runs_s": engine_times, "engine_peak_mb": max(engine_peaks),
            "join_s": join_s, "join_runs_s": join_times, "join_peak_mb": max(join_peaks),
            "ratio": engine_s / join_s, "load_s": load_s,
            "first_run_s": first_run_s, "first_run_peak_mb": first_peak,
            "rerun_s": rerun_s, "rerun_peak_mb": rerun_peak,
        },
        "findings": {"total": findings_total, "by_rule": by_rule, "join_rows": joined_rows,
                     "flags": Flag.objects.count(), "skipped": skipped},
        "rss_before_timing_mb": baseline_mb,
        "peak_rss_mb": max([*engine_peaks, *join_peaks, first_peak, rerun_peak]),
    }
    print(RESULT_PREFIX + json.dumps(out, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--rows", type=int, default=10_000_000, help="settlement rows (default 10,000,000)")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database for inspection")
    parser.add_argument("--child", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.cases, args.repeat)
    else:
        parent(args)


if __name__ == "__main__":
    main()
