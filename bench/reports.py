"""Statistics (issue 11): every dashboard query through our code against hand-written SQL, same run.

Usage (from the checkout)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lj_bench_reports .venv/bin/python bench/reports.py
    DATABASE_URL=postgres://… .venv/bin/python bench/reports.py --cases 20000      # a quick run
    .venv/bin/python bench/reports.py                                             # SQLite, 200 000 cases

``DATABASE_URL`` names a scratch database this benchmark may own (PostgreSQL: create it first with
``psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE lj_bench_reports'``). Without it the benchmark
uses SQLite in ``LAOJIAN_DATA_DIR``, by default ``bench/results/reports-sqlite/`` (git-ignored).
The script migrates, seeds and records what it seeded in the table ``bench_reports_seed``; a later
run with the same ``--cases`` (and the same seed version) reuses the data, because seeding a
million cases takes minutes. A different ``--cases`` (or ``--reseed``) wipes the database it seeded
(PostgreSQL: ``DROP SCHEMA public CASCADE``; SQLite: the file) and seeds again. A database with
cases but no marker is refused, never wiped.

Data (``random.Random(42)``): a province over a decade (2017-01-01 to "today" = 2026-12-07), one
provincial committee (its own cases are re-appraisals, ~1.5 %) and 17 city committees of unequal
size. Cases are received in date order (ids follow time), with realistic mixes of case type
(initial 62 %, review 10 %, four period types 28 %), mode (sitting 78 %, clinic 14 %, home 5 %,
remote 3 %) and fate: rejected 3 %, withdrawn 2.5 %, terminated 1.5 %, the rest accepted and
concluded 15-65 days later (clinic 4-16; 5 % late, half of those with the 30-day extension), then
delivered and archived; the cases of the last months are open at every step. Dates: received,
accepted, concluded, delivered; ``conclusion_due`` (2 % missing), ``target_due`` (clinic only),
``next_due`` for open cases (2 % missing). Per case about three timeline entries (submitted,
accepted, concluded, and the rejection / withdrawal / termination, a few just after local
midnight); an approved conclusion for every concluded case (grades 1-10 skewed to 9-10, a quarter
ungraded, care levels for the severe grades, months for the period types) and drafts for some open
ones; an examined appointment per examined case (sittings for the sitting mode, a few re-examinations
and second modes, some absences); cross-check flags on ~5 % of accepted cases (found at night,
local time); re-appraisals of ~2.5 % of delivered graded city cases with the province's outcome.
Loaded with ``COPY`` on PostgreSQL (secondary indexes dropped during the load and rebuilt, foreign
key triggers off in the loading session) and ``executemany`` on SQLite, then ``VACUUM ANALYZE`` /
``ANALYZE``.

Scenarios: the provincial committee's one-year scope over all 18 committees (the big one) and the
largest city's one-year scope (``--year``, default 2025). For each, timed in rotating order after a
warm-up, median of ``--repeat`` runs:

- **ours**: ``selectors.figure(scope, key)`` for every key of ``selectors.FIGURES``,
  ``selectors.cycle_rows(scope)``, ``sittings_selectors.sittings_held``, for the province also
  ``figure_by_committee`` for each key of ``selectors.SIDE_BY_SIDE``, and the whole
  ``selectors.dashboard(scope)``;
- **our SQL**: the statements ours sent, replayed through a cursor (``harness.replay``): what is
  the database's work and what is Python's;
- **hand SQL**: the query a DBA would write for the same numbers: index range counts per date,
  ``GROUP BY`` instead of one ``FILTER`` per bucket, the event tables that carry their case's
  committee (appointments, flags, re-appraisals) selected by their own (committee, …) index, the
  others joined to the cases, the working-day calendar joined rather than looked up per row.

The numbers of ours and of the hand SQL must be equal (the script exits non-zero otherwise).
Goal (issue 11): ratio ours / hand SQL <= 1.5 and ours <= 1 s on PostgreSQL. Results, with the
SQL and on PostgreSQL the ``EXPLAIN (ANALYZE, BUFFERS)`` of both sides, go to
``bench/results/reports-<UTC time>.json`` and ``…-explain.txt``.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SQLITE_DIR = RESULTS_DIR / "reports-sqlite"

SEED_VERSION = "reports-2"
MARKER = "bench_reports_seed"
TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
FIRST_DAY = dt.date(2017, 1, 1)
TODAY = dt.date(2026, 12, 7)
STAMP = dt.datetime(2026, 12, 7, 9, 0, tzinfo=TZ)
RATIO_GOAL = 1.5
SECONDS_GOAL = 1.0
CHUNK = 50_000

# Shandong's 16 cities and the former Laiwu, weighted roughly by population.
CITIES = (("370100", "济南", 9), ("370200", "青岛", 10), ("370300", "淄博", 5), ("370400", "枣庄", 4),
          ("370500", "东营", 2), ("370600", "烟台", 7), ("370700", "潍坊", 9), ("370800", "济宁", 8),
          ("370900", "泰安", 5.5), ("371000", "威海", 3), ("371100", "日照", 3), ("371200", "莱芜", 1.5),
          ("371300", "临沂", 11), ("371400", "德州", 6), ("371500", "聊城", 6), ("371600", "滨州", 4),
          ("371700", "菏泽", 9))
PROVINCE_SHARE = 0.015

OPEN = ("submitted", "correction_requested", "accepted", "reviewed", "scheduled", "examined", "difficult",
        "concluded", "delivered")
# The cases that hold their injury: one of a type at a time (the database's REL-21 constraint).
IN_PROGRESS = frozenset(OPEN) - {"concluded", "delivered"}
PERIOD_TYPES = ("leave_confirmation", "leave_extension", "rehab_confirmation", "rehab_extension")
GRADED_TYPES = ("initial", "review", "reappraisal")
CITY_TYPES = (("initial", 62), ("review", 10), ("leave_confirmation", 10), ("leave_extension", 6),
              ("rehab_confirmation", 7), ("rehab_extension", 5))
MODES = (("sitting", 78), ("clinic", 14), ("home", 5), ("remote", 3))
GRADE_WEIGHTS = (0.5, 0.8, 1.2, 2, 3, 5, 9, 14, 22, 30)
FLAG_RULES = (("no_settlement", 30), ("dates_disagree", 25), ("other_body_system", 15), ("not_licensed", 10),
              ("pre_existing", 12), ("overlapping_stays", 8))
FLAG_STATES = (("open", 30), ("letter_sent", 15), ("cleared", 45), ("confirmed", 10))
CYCLE_BANDS = ((0, 10), (11, 20), (21, 40), (41, 60), (61, None))


def _chooser(rng: random.Random, pairs: tuple) -> Callable[[], Any]:
    values = [v for v, _w in pairs]
    cum = []
    total = 0.0
    for _v, w in pairs:
        total += w
        cum.append(total)

    def choose() -> Any:
        return values[bisect.bisect_right(cum, rng.random() * total)]
    return choose


# SETTING UP -------------------------------------------------------------------------------------------

def setup_django() -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    os.environ.setdefault("LAOJIAN_DEBUG", "0")        # production-like: no debug cursor
    os.environ.setdefault("LAOJIAN_LOG_LEVEL", "ERROR")
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("LAOJIAN_DATA_DIR", str(SQLITE_DIR))
        Path(os.environ["LAOJIAN_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def marker() -> dict[str, Any] | None:
    from django.db import connection

    if MARKER not in connection.introspection.table_names():
        return None
    with connection.cursor() as cur:
        cur.execute(f"SELECT cases, version, seed_seconds, seeded_at FROM {MARKER}")
        row = cur.fetchone()
    return None if row is None else {"cases": row[0], "version": row[1], "seed_seconds": row[2], "seeded_at": row[3]}


def wipe() -> None:
    """Empty the database this benchmark seeded (only called when its marker is there)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
        return
    name = Path(connection.settings_dict["NAME"])
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{name}{suffix}").unlink(missing_ok=True)


# LOADING ----------------------------------------------------------------------------------------------

class Table:
    """Rows of one model's table, given by some attnames; every other column gets the field's
    default (computed once), so a new NOT NULL column with a default never breaks the seed."""

    def __init__(self, model: Any, attnames: list[str], pg: bool):
        from django.db import models

        concrete = {f.attname: f for f in model._meta.concrete_fields}
        given = [concrete[a] for a in attnames]
        rest = []
        for f in model._meta.concrete_fields:
            if f.attname in attnames or (f.primary_key and isinstance(f, models.AutoField)):
                continue
            value = f.get_default()
            if value is None and not f.null:
                if isinstance(f, models.DateTimeField):
                    value = STAMP
                else:
                    raise SystemExit(f"{model._meta.db_table}.{f.column}: NOT NULL without a default, seed it")
            rest.append((f, value))
        self.pg = pg
        self.name = model._meta.db_table
        self.columns = [f.column for f in given] + [f.column for f, _v in rest]
        self.datetimes = [i for i, f in enumerate(given) if isinstance(f, models.DateTimeField)]
        self.rows: list[tuple] = []
        self.count = 0
        if pg:
            self.suffix = "".join("\t" + _pg_default(v) for _f, v in rest)
        else:
            self.sqlite_rest = tuple(_sqlite_value(v) for _f, v in rest)

    def add(self, *row: Any) -> None:
        self.rows.append(row)

    def flush(self, connection: Any) -> None:
        if not self.rows:
            return
        self.count += len(self.rows)
        cols = ", ".join(f'"{c}"' for c in self.columns)
        if self.pg:
            suffix = self.suffix
            lines = ["\t".join(["\\N" if v is None else str(v) for v in row]) + suffix for row in self.rows]
            with connection.connection.cursor() as cur, cur.copy(f'COPY "{self.name}" ({cols}) FROM STDIN') as cp:
                for i in range(0, len(lines), 20_000):
                    cp.write("\n".join(lines[i:i + 20_000]) + "\n")
        else:
            rest = self.sqlite_rest
            pos = self.datetimes
            marks = ", ".join("?" * len(self.columns))
            rows = []
            for row in self.rows:
                if pos:
                    row = list(row)
                    for i in pos:
                        if row[i] is not None:
                            row[i] = row[i].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
                rows.append(tuple(v if v is None or isinstance(v, int | str) else str(v) for v in row) + rest)
            connection.connection.executemany(f'INSERT INTO "{self.name}" ({cols}) VALUES ({marks})', rows)
        self.rows = []


def _pg_default(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, dict | list):
        v = json.dumps(v, ensure_ascii=False)
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dt.datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _at(day: dt.date, minute_of_day: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=TZ)


def _secondary_indexes(cur: Any, tables: list[str]) -> list[tuple[str, str]]:
    """PostgreSQL: indexes of ``tables`` that back no constraint (dropped for the load, rebuilt)."""
    cur.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""", [tables])
    return cur.fetchall()


def seed(n_cases: int) -> dict[str, Any]:
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from laojian.cases.models import (
        Case,
        CaseAssignment,
        Employer,
        InjuryDetermination,
        TimelineEntry,
        Worker,
    )
    from laojian.core.models import Committee, User
    from laojian.crosscheck.models import Flag
    from laojian.experts.models import Expert, Hospital
    from laojian.grading.models import Conclusion, Edition
    from laojian.review.models import Reappraisal
    from laojian.sittings.models import Appointment, Sitting, Venue

    started = time.monotonic()
    pg = connection.vendor == "postgresql"
    rng = random.Random(42)

    province = Committee.objects.create(name="山东省劳动能力鉴定委员会（测试）", short_name="山东省", code="370000",
                                        level=Committee.Level.PROVINCE, case_number_prefix="鲁劳鉴")
    committees = [province] + [
        Committee.objects.create(name=f"{short}市劳动能力鉴定委员会（测试）", short_name=short, code=code,
                                 province=province, case_number_prefix=f"{short}劳鉴")
        for code, short, _w in CITIES]
    users = [User.objects.create(username=f"bench-{c.code}", committee=c, display_name=f"{c.short_name}统计",
                                 is_superuser=c.pk == province.pk, is_staff=c.pk == province.pk)
             for c in committees]
    venues = [Venue.objects.create(committee=c, name="鉴定中心", address=f"{c.short_name}市人民路1号")
              for c in committees]
    # Experts who sign in: 40 a city (30 at the province) in 5 hospitals each.
    experts: list[list[int]] = []
    for c in committees:
        hospitals = [Hospital.objects.create(committee=c, code=f"H{c.code}{h}", name=f"{c.short_name}第{h}医院")
                     for h in range(1, 6)]
        n_exp = 30 if c.pk == province.pk else 40
        accounts = User.objects.bulk_create([User(username=f"bench-expert-{c.code}-{e}", committee=c,
                                                  display_name=f"专家{e}") for e in range(n_exp)])
        Expert.objects.bulk_create([Expert(committee=c, user=u, name=f"{c.short_name}专家{e:02d}",
                                           hospital=hospitals[e % 5], title="主任医师",
                                           term_start=FIRST_DAY, term_end=dt.date(2029, 12, 31))
                                    for e, u in enumerate(accounts)])
        experts.append([u.pk for u in accounts])
    edition = Edition.objects.order_by("pk").first()
    if edition is None:
        raise SystemExit("no grading edition after migrate")

    tables = {
        "employer": Table(Employer, ["id", "credit_code", "name", "created_at", "updated_at"], pg),
        "worker": Table(Worker, ["id", "id_number", "id_number_index", "name", "birth_date", "sex", "county",
                                 "created_at", "updated_at"], pg),
        "determination": Table(InjuryDetermination, ["id", "number", "worker_id", "employer_id", "injury_date",
                                                     "determination_date", "injured_parts", "diagnosis",
                                                     "created_at", "updated_at"], pg),
        "case": Table(Case, ["id", "committee_id", "number", "year", "seq", "case_type", "applicant_kind", "mode",
                             "status", "worker_id", "employer_id", "determination_id", "received_on",
                             "correction_requested_on", "accepted_on", "concluded_on", "delivered_on",
                             "extension_days", "conclusion_due", "target_due", "next_due", "created_at",
                             "updated_at"], pg),
        "assignment": Table(CaseAssignment, ["case_id", "user_id", "role", "active", "created_at", "updated_at"], pg),
        "timeline": Table(TimelineEntry, ["case_id", "at", "action", "from_status", "to_status"], pg),
        "conclusion": Table(Conclusion, ["case_id", "committee_id", "state", "source", "edition_id", "grade",
                                         "care_level", "months", "number", "approved_at", "created_at",
                                         "updated_at"], pg),
        "sitting": Table(Sitting, ["id", "committee_id", "date", "venue_id", "starts_at", "ends_at", "state",
                                   "screen_token", "created_by_id", "created_at", "updated_at"], pg),
        "appointment": Table(Appointment, ["case_id", "committee_id", "mode", "state", "starts_at", "ends_at",
                                           "place", "sitting_id", "created_by_id", "created_at",
                                           "updated_at"], pg),
        "flag": Table(Flag, ["case_id", "committee_id", "rule", "fingerprint", "state", "found_at",
                             "last_seen_at", "created_at", "updated_at"], pg),
        "reappraisal": Table(Reappraisal, ["case_id", "committee_id", "requested_on", "party", "requester_name",
                                           "grounds", "recorded_by_id", "outcome", "provincial_concluded_on",
                                           "provincial_grade", "created_at", "updated_at"], pg),
    }
    T = tables
    models = [Employer, Worker, InjuryDetermination, Case, CaseAssignment, TimelineEntry, Conclusion, Sitting, Appointment, Flag,
              Reappraisal]
    db_tables = [m._meta.db_table for m in models]

    pick_city = _chooser(rng, tuple((i + 1, w) for i, (_c, _s, w) in enumerate(CITIES)))
    pick_city_type = _chooser(rng, CITY_TYPES)
    pick_mode = _chooser(rng, MODES)
    pick_kind = _chooser(rng, (("worker", 70), ("employer", 25), ("relative", 3), ("agency", 2)))
    pick_grade = _chooser(rng, tuple(zip(range(1, 11), GRADE_WEIGHTS, strict=True)))
    pick_rule = _chooser(rng, FLAG_RULES)
    pick_flag_state = _chooser(rng, FLAG_STATES)
    span = (TODAY - FIRST_DAY).days
    # Received days in order (ids follow time), a little more work in later years.
    days = sorted(int(span * rng.random() ** 0.85) for _ in range(n_cases))
    n_employers = max(100, n_cases // 20)
    seq: dict[tuple[int, int], int] = {}
    sittings: dict[tuple[int, dt.date], int] = {}
    owners: list[tuple[int, int, int]] = []  # (worker id, determination id, employer id)
    counts: dict[str, Any] = {"drafts": 0, "in_progress": set()}  # (determination, type) of cases in progress

    if not pg:
        with connection.cursor() as cur:
            cur.execute("PRAGMA foreign_keys = OFF")  # outside the transaction, or SQLite ignores it
            cur.execute("PRAGMA synchronous = OFF")
    with transaction.atomic():
        with connection.cursor() as cur:
            dropped: list[tuple[str, str]] = []
            if pg:
                cur.execute("SET LOCAL session_replication_role = replica")  # no FK triggers while loading
                cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
                dropped = _secondary_indexes(cur, db_tables)
                for name, _sql in dropped:
                    cur.execute(f"DROP INDEX {name}")
        for e in range(1, n_employers + 1):
            T["employer"].add(e, f"91370{e:013d}", f"测试企业{e}", STAMP, STAMP)
        T["employer"].flush(connection)

        day_of = [FIRST_DAY + dt.timedelta(days=d) for d in range(span + 400)]
        for start in range(0, n_cases, CHUNK):
            for i in range(start, min(start + CHUNK, n_cases)):
                _one_case(i + 1, day_of[days[i]], rng, T, committees, users, experts, venues, edition.pk, seq,
                          sittings,
                          owners, counts, n_employers, pick_city, pick_city_type, pick_mode, pick_kind,
                          pick_grade, pick_rule, pick_flag_state)
            for table in T.values():
                table.flush(connection)
            print(f"  seeded {min(start + CHUNK, n_cases):,} cases ({time.monotonic() - started:.0f} s)",
                  file=sys.stderr, flush=True)

        with connection.cursor() as cur:
            for name, sql in dropped:
                t0 = time.monotonic()
                cur.execute(sql)
                print(f"  index {name} rebuilt ({time.monotonic() - t0:.1f} s)", file=sys.stderr, flush=True)
            for sql in connection.ops.sequence_reset_sql(no_style(), [Employer, Worker, InjuryDetermination, Case,
                                                                      Sitting]):
                cur.execute(sql)
    loaded = time.monotonic() - started
    if not pg:
        with connection.cursor() as cur:
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA synchronous = FULL")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE" if pg else "ANALYZE")
        if not pg:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.monotonic() - started
    rows = {name: t.count for name, t in T.items()}
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE {MARKER} (cases integer, version varchar(40), seed_seconds real, "
                    "seeded_at varchar(40), rows_json text)")
        cur.execute(f"INSERT INTO {MARKER} VALUES (%s, %s, %s, %s, %s)",
                    [n_cases, SEED_VERSION, seconds, dt.datetime.now(UTC).isoformat(), json.dumps(rows)])
    print(f"  loaded in {loaded:.0f} s, {'VACUUM ANALYZE' if pg else 'ANALYZE'} done at {seconds:.0f} s",
          file=sys.stderr)
    counts.pop("in_progress")
    return {"cases": n_cases, "seed_seconds": round(seconds, 1), "rows": rows, **counts}


def _one_case(cid: int, received: dt.date, rng: random.Random, T: dict[str, Table], committees: list,
              users: list, experts: list, venues: list, edition_id: int, seq: dict, sittings: dict, owners: list, counts: dict,
              n_employers: int, pick_city: Callable, pick_city_type: Callable, pick_mode: Callable,
              pick_kind: Callable, pick_grade: Callable, pick_rule: Callable, pick_flag_state: Callable) -> None:
    from laojian.cases.models import Worker

    id_field = Worker._meta.get_field("id_number")  # sealed as the application seals it
    r = rng.random
    ri = rng.randint
    ci = 0 if r() < PROVINCE_SHARE else pick_city()
    committee = committees[ci]
    k_id = committee.pk
    user_id = users[ci].pk
    ctype = "reappraisal" if ci == 0 else pick_city_type()
    mode = pick_mode()
    age = (TODAY - received).days

    # The worker, the employer and the injury determination: new for initial appraisals, an
    # earlier case's for reviews and periods.
    in_progress = counts["in_progress"]
    pick = None
    if ctype not in ("initial", "reappraisal") and len(owners) >= 100:
        for _ in range(20):  # one case in progress per injury and type (REL-21)
            candidate = owners[-1 - int(r() * min(len(owners), 20000))]
            if (candidate[1], ctype) not in in_progress:
                pick = candidate
                break
    if pick is None:
        emp = ri(1, n_employers)
        birth = dt.date(1965, 1, 1) + dt.timedelta(days=ri(0, 12000))
        id_number = f"3701{cid:014d}"
        T["worker"].add(cid, id_field.get_prep_value(id_number), Worker.index_of(id_number), f"工人{cid}", birth, "M" if r() < 0.7 else "F",
                        f"{committee.short_name}{ri(1, 9)}区", STAMP, STAMP)
        injury = received - dt.timedelta(days=ri(60, 400))
        T["determination"].add(cid, f"工伤认字{cid:09d}号", cid, emp, injury, injury + dt.timedelta(days=ri(20, 60)),
                               "右手", "右手外伤", STAMP, STAMP)
        owners.append((cid, cid, emp))
        worker_id, det_id, emp = cid, cid, emp
    else:
        worker_id, det_id, emp = pick

    status = None
    accepted = concluded = delivered = correction = None
    ended: tuple[str, dt.date] | None = None
    examined = None
    if age < 25 and r() < 0.04:
        status, received = "draft", None
        counts["drafts"] += 1
    else:
        fate = r()
        corr = r() < 0.10
        acc = received + dt.timedelta(days=ri(0, 5) + (ri(10, 30) if corr else 0))
        if mode == "clinic":
            con_delay = ri(4, 16)
        elif r() < 0.05:
            con_delay = ri(61, 95)
        else:
            con_delay = 15 + int(r() ** 1.5 * 50)
        con = acc + dt.timedelta(days=con_delay)
        exa = acc + dt.timedelta(days=max(1, con_delay - ri(1, 7)))
        dlv = con + dt.timedelta(days=ri(1, 12))
        arc = dlv + dt.timedelta(days=ri(10, 60))
        if corr and received + dt.timedelta(days=2) <= TODAY:
            correction = received + dt.timedelta(days=2)
        if fate < 0.03:
            rej = received + dt.timedelta(days=ri(2, 15))
            if rej <= TODAY:
                status, ended = "rejected", ("rejected", rej)
            else:
                status = "correction_requested" if correction else "submitted"
        elif acc > TODAY:
            status = "correction_requested" if correction else "submitted"
        else:
            accepted = acc
            end = acc + dt.timedelta(days=ri(1, con_delay))
            if fate < 0.07 and end <= TODAY:
                kind = "withdrawn" if fate < 0.055 else "terminated"
                status, ended = kind, (kind, end)
                if end > exa and r() < 0.5:
                    examined = exa
            elif con > TODAY:
                if exa <= TODAY:
                    status = "difficult" if r() < 0.1 else "examined"
                    examined = exa
                else:
                    elapsed = (TODAY - acc).days / max(1, (exa - acc).days)
                    status = "accepted" if elapsed < 0.3 else "reviewed" if elapsed < 0.6 else "scheduled"
            else:
                concluded, examined = con, exa
                if dlv > TODAY:
                    status = "concluded"
                else:
                    delivered = dlv
                    status = "delivered" if arc > TODAY else "archived"

    if status in IN_PROGRESS:
        in_progress.add((det_id, ctype))
    number = year = s = None
    if received is not None:
        year = received.year
        s = seq[(k_id, year)] = seq.get((k_id, year), 0) + 1
        number = f"{committee.case_number_prefix}〔{year}〕{s:05d}号"
    extension = 30 if concluded and (concluded - accepted).days > 60 and r() < 0.5 else 0
    conclusion_due = accepted + dt.timedelta(days=60 + extension) if accepted and r() >= 0.02 else None
    target_due = received + dt.timedelta(days=14) if mode == "clinic" and received else None
    next_due = None
    if status in ("submitted", "correction_requested"):
        next_due = (correction or received) + dt.timedelta(days=7 if not correction else 30)
    elif status in ("accepted", "reviewed", "scheduled", "examined", "difficult"):
        next_due = min(d for d in (conclusion_due, target_due, accepted + dt.timedelta(days=60)) if d)
    elif status == "concluded":
        next_due = concluded + dt.timedelta(days=20)
    elif status == "delivered":
        next_due = delivered + dt.timedelta(days=15)
    if next_due is not None and r() < 0.02:
        next_due = None
    created = _at(received or TODAY, 540)
    T["case"].add(cid, k_id, number, year, s, ctype, pick_kind(), mode, status, worker_id, emp, det_id, received,
                  correction, accepted, concluded, delivered, extension, conclusion_due, target_due, next_due,
                  created, created)

    tl = T["timeline"]
    if received is not None:
        tl.add(cid, _at(received, ri(480, 1050)), "submit", "draft", "submitted")
    if correction is not None:
        tl.add(cid, _at(correction, ri(480, 1050)), "request_correction", "submitted", "correction_requested")
    if accepted is not None:
        tl.add(cid, _at(accepted, ri(480, 1050)), "accept", "submitted", "accepted")
    if concluded is not None:
        tl.add(cid, _at(concluded, ri(480, 1050)), "conclude", "examined", "concluded")
    if ended is not None:
        minute = ri(5, 55) if r() < 0.05 else ri(480, 1050)  # a few just after local midnight
        action = {"rejected": "reject", "withdrawn": "withdraw", "terminated": "terminate"}[ended[0]]
        tl.add(cid, _at(ended[1], minute), action, "accepted" if accepted else "submitted", ended[0])

    # Appointments: the examination, now and then an absence before it, a re-examination or a
    # second mode; a booked one for scheduled cases.
    ap = T["appointment"]

    def appointment(day: dt.date, m: str, state: str) -> None:
        sitting_id = None
        start = ri(510, 690)
        if m == "sitting":
            key = (k_id, day)
            sitting_id = sittings.get(key)
            if sitting_id is None:
                sitting_id = sittings[key] = len(sittings) + 1
                T["sitting"].add(sitting_id, k_id, day, venues[ci].pk, "08:30:00", "17:00:00",
                                 "held" if day <= TODAY else "planned", f"bench{sitting_id:09d}", user_id,
                                 STAMP, STAMP)
        ap.add(cid, k_id, m, state, _at(day, start), _at(day, start + 20), "鉴定中心", sitting_id, user_id,
               STAMP, STAMP)

    if examined is not None:
        if r() < 0.06:
            appointment(examined - dt.timedelta(days=7), mode, "absent" if r() < 0.5 else "rescheduled")
        appointment(examined, mode, "examined")
        x = r()
        if x < 0.01:
            appointment(examined + dt.timedelta(days=1), mode, "examined")
        elif x < 0.04:
            appointment(examined + dt.timedelta(days=1), "home" if mode != "home" else "sitting", "examined")
    elif status == "scheduled":
        appointment(TODAY + dt.timedelta(days=ri(1, 20)), mode, "booked")

    # Assignments: the clerk on every application; the panel once examined (three at a sitting),
    # now and then a second-opinion panel of three others.
    asg = T["assignment"]
    if received is not None:
        asg.add(cid, user_id, "clerk", True, STAMP, STAMP)
    if examined is not None:
        seats = rng.sample(experts[ci], 6)
        for u in seats[:{"sitting": 3, "clinic": 1}.get(mode, 2)]:
            asg.add(cid, u, "expert", True, STAMP, STAMP)
        if concluded is not None and r() < 0.03:
            for u in seats[3:]:
                asg.add(cid, u, "second_expert", True, STAMP, STAMP)

    if concluded is not None or (status in ("examined", "difficult") and r() < 0.4):
        graded = ctype in GRADED_TYPES
        grade = None
        care = "none"
        months = None
        if graded:
            if r() >= 0.25:
                grade = pick_grade()
                if grade <= 4 and r() < 0.6:
                    care = ("partial", "most", "complete")[ri(0, 2)]
        else:
            months = ri(1, 12)
        approved = concluded is not None
        T["conclusion"].add(cid, k_id, "approved" if approved else "draft", "discussion" if r() < 0.05 else "panel",
                            edition_id, grade, care, months, f"{k_id}-{cid}" if approved else None,
                            _at(concluded, 600) if approved else None, STAMP, STAMP)

    if accepted is not None and r() < 0.05:
        rules = {"x"}
        for k in range(2 if r() < 0.2 else 1):
            rule = pick_rule()
            if rule in rules:
                continue
            rules.add(rule)
            found = _at(accepted + dt.timedelta(days=ri(1, 20)), ri(60, 240))  # the nightly run
            T["flag"].add(cid, k_id, rule, f"fp{cid}-{k}", pick_flag_state(), found, found, STAMP, STAMP)

    if delivered is not None and ci != 0 and ctype in GRADED_TYPES and r() < 0.025:
        requested = delivered + dt.timedelta(days=ri(1, 15))
        if requested <= TODAY:
            decided = requested + dt.timedelta(days=ri(30, 75))
            if decided > TODAY:
                outcome, decided, pgrade = "pending", None, None
            else:
                outcome = "upheld" if r() < 0.7 else "changed"
                pgrade = ri(1, 10)
            T["reappraisal"].add(cid, k_id, requested, "worker" if r() < 0.8 else "employer", f"申请人{cid}",
                                 "对鉴定结论不服", user_id, outcome, decided, pgrade, STAMP, STAMP)


# HAND-WRITTEN SQL -------------------------------------------------------------------------------------

class Hand:
    """The query a DBA would write for each figure, parameterised, straight through a cursor.

    Where an event table carries the committee of its case and an index on it (appointments:
    ``sittings.services`` books with ``committee=case.committee``; flags: written per committee by
    ``crosscheck.services``; re-appraisals: ``committee=case.committee``), the query selects by that
    column, as a DBA would; elsewhere it joins the cases. The scenarios have no extra filters
    (county, mode, …), so the scope's cases are exactly its committees' cases."""

    def __init__(self, scope: Any, connection: Any):
        self.connection = connection
        self.pg = connection.vendor == "postgresql"
        ops = connection.ops
        self.ids = list(scope.committee_ids)
        self.inc = ", ".join(["%s"] * len(self.ids))
        self.first = ops.adapt_datefield_value(scope.first)
        self.last = ops.adapt_datefield_value(scope.last)
        start = dt.datetime.combine(scope.first, dt.time(), tzinfo=TZ)
        end = dt.datetime.combine(scope.last + dt.timedelta(days=1), dt.time(), tzinfo=TZ)
        self.start = ops.adapt_datetimefield_value(start)
        self.end = ops.adapt_datetimefield_value(end)
        self.today = ops.adapt_datefield_value(scope.today)
        self.last_sql: dict[str, tuple[str, list]] = {}

    def run(self, name: str, sql: str, params: list) -> list[tuple]:
        self.last_sql[name] = (sql, params)
        with self.connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def _period(self) -> list:
        return [*self.ids, self.first, self.last]

    def _days_sql(self) -> str:
        if self.pg:
            return "c.concluded_on - c.received_on"
        return "CAST(julianday(c.concluded_on) - julianday(c.received_on) AS INTEGER)"

    # Figures ------------------------------------------------------------------------------------------

    def flow(self, by_committee: bool = False) -> Any:
        k = "committee_id, " if by_committee else ""
        kc = "c.committee_id, " if by_committee else ""
        g = " GROUP BY committee_id" if by_committee else ""
        parts = [f"SELECT {k}'{label}', COUNT(*) FROM cases_case WHERE committee_id IN ({self.inc}) "
                 f"AND {col} BETWEEN %s AND %s{g}"
                 for label, col in (("received", "received_on"), ("accepted", "accepted_on"),
                                    ("concluded", "concluded_on"))]
        parts.append(f"SELECT {kc}t.to_status, COUNT(DISTINCT t.case_id) FROM cases_timelineentry t "
                     "JOIN cases_case c ON c.id = t.case_id "
                     "WHERE t.to_status IN ('terminated', 'rejected', 'withdrawn') AND t.at >= %s AND t.at < %s "
                     f"AND c.committee_id IN ({self.inc}) GROUP BY {kc}t.to_status")
        params = self._period() * 3 + [self.start, self.end, *self.ids]
        rows = self.run("flow" + (" by committee" if by_committee else ""), "\nUNION ALL ".join(parts), params)
        keys = ("received", "accepted", "concluded", "terminated", "rejected", "withdrawn")
        return self._shape(rows, keys, by_committee)

    def backlog(self, by_committee: bool = False) -> Any:
        k = "committee_id, " if by_committee else ""
        sql = (f"SELECT {k}status, COUNT(*) FROM cases_case WHERE committee_id IN ({self.inc}) "
               f"AND status IN ({', '.join(['%s'] * len(OPEN))}) GROUP BY {k}status")
        rows = self.run("backlog" + (" by committee" if by_committee else ""), sql, [*self.ids, *OPEN])
        return self._shape(rows, OPEN, by_committee)

    def modes(self) -> Any:
        sql = ("SELECT mode, COUNT(DISTINCT case_id) FROM sittings_appointment "
               f"WHERE committee_id IN ({self.inc}) AND state = 'examined' AND starts_at >= %s AND starts_at < %s "
               "GROUP BY mode")
        rows = self.run("modes", sql, [*self.ids, self.start, self.end])
        return self._shape(rows, ("sitting", "clinic", "home", "remote"), False)

    def _due(self, name: str, due: str, keys: tuple, by_committee: bool = False) -> Any:
        k = "committee_id, " if by_committee else ""
        sql = (f"SELECT {k}COUNT(*) FILTER (WHERE concluded_on <= {due}), "
               f"COUNT(*) FILTER (WHERE concluded_on > {due}), COUNT(*) FILTER (WHERE {due} IS NULL) "
               f"FROM cases_case WHERE committee_id IN ({self.inc}) AND concluded_on BETWEEN %s AND %s"
               + (" GROUP BY committee_id" if by_committee else ""))
        rows = self.run(name + (" by committee" if by_committee else ""), sql, self._period())
        return self._wide(rows, keys, by_committee)

    def limits(self, by_committee: bool = False) -> Any:
        return self._due("limits", "conclusion_due", ("within_limit", "late", "no_limit"), by_committee)

    def targets(self) -> Any:
        return self._due("targets", "target_due", ("within_target", "missed_target", "no_target"))

    def risk(self, by_committee: bool = False) -> Any:
        k = "c.committee_id, " if by_committee else ""
        warn = ("%s::date + k.risk_warning_days" if self.pg else "date(%s, '+' || k.risk_warning_days || ' days')")
        sql = (f"SELECT {k}COUNT(*) FILTER (WHERE c.next_due < %s), "
               f"COUNT(*) FILTER (WHERE c.next_due >= %s AND c.next_due <= {warn}) "
               "FROM cases_case c JOIN core_committee k ON k.id = c.committee_id "
               f"WHERE c.committee_id IN ({self.inc}) AND c.status IN ({', '.join(['%s'] * len(OPEN))})"
               + (" GROUP BY c.committee_id" if by_committee else ""))
        rows = self.run("risk" + (" by committee" if by_committee else ""), sql,
                        [self.today, self.today, self.today, *self.ids, *OPEN])
        return self._wide(rows, ("overdue", "at_risk"), by_committee)

    def _conclusions(self, name: str, column: str) -> list[tuple]:
        sql = (f"SELECT g.{column}, COUNT(*) FROM grading_conclusion g JOIN cases_case c ON c.id = g.case_id "
               f"WHERE g.state = 'approved' AND c.committee_id IN ({self.inc}) "
               f"AND c.concluded_on BETWEEN %s AND %s GROUP BY g.{column}")
        return self.run(name, sql, self._period())

    def grades(self) -> Any:
        rows = [("none" if g is None else str(g), n) for g, n in self._conclusions("grades", "grade")]
        return self._shape(rows, (*(str(g) for g in range(1, 11)), "none"), False)

    def care(self) -> Any:
        return self._shape(self._conclusions("care", "care_level"), ("none", "partial", "most", "complete"), False)

    def periods(self) -> Any:
        sql = (f"SELECT case_type, COUNT(*) FROM cases_case WHERE committee_id IN ({self.inc}) "
               f"AND concluded_on BETWEEN %s AND %s AND case_type IN ({', '.join(['%s'] * len(PERIOD_TYPES))}) "
               "GROUP BY case_type")
        return self._shape(self.run("periods", sql, [*self._period(), *PERIOD_TYPES]), PERIOD_TYPES, False)

    def flags(self) -> Any:
        sql = ("SELECT rule, COUNT(DISTINCT case_id) FROM crosscheck_flag "
               f"WHERE committee_id IN ({self.inc}) AND found_at >= %s AND found_at < %s GROUP BY rule")
        rows = self.run("flags", sql, [*self.ids, self.start, self.end])
        return self._shape(rows, tuple(r for r, _w in FLAG_RULES), False)

    def reappraisals(self) -> Any:
        decided = "r.provincial_concluded_on BETWEEN %s AND %s"
        sql = ("SELECT COUNT(*) FILTER (WHERE r.requested_on BETWEEN %s AND %s), "
               f"COUNT(*) FILTER (WHERE {decided} AND r.outcome = 'upheld'), "
               f"COUNT(*) FILTER (WHERE {decided} AND r.outcome = 'changed') "
               f"FROM review_reappraisal r WHERE r.committee_id IN ({self.inc}) "
               "AND (r.requested_on BETWEEN %s AND %s OR r.provincial_concluded_on BETWEEN %s AND %s)")
        p = [self.first, self.last]
        rows = self.run("reappraisals", sql, p * 3 + self.ids + p * 2)
        return self._wide(rows, ("requested", "upheld", "changed"), False)

    def workload(self) -> Any:
        sql = ("SELECT e.user_id, COUNT(DISTINCT s.case_id) FROM experts_expert e LEFT JOIN ("
               "SELECT a.user_id, a.case_id FROM cases_caseassignment a JOIN cases_case c ON c.id = a.case_id "
               f"WHERE a.role IN ('expert', 'second_expert') AND c.committee_id IN ({self.inc}) "
               "AND c.concluded_on BETWEEN %s AND %s) s ON s.user_id = e.user_id "
               f"WHERE e.committee_id IN ({self.inc}) AND e.user_id IS NOT NULL GROUP BY e.user_id")
        rows = self.run("workload", sql, [*self._period(), *self.ids])
        return {str(u): n for u, n in rows}

    def opinions_signed(self) -> Any:
        sql = ("SELECT o.author_id, COUNT(*) FROM grading_opinion o JOIN cases_case c ON c.id = o.case_id "
               "WHERE o.state = 'signed' AND o.signed_at >= %s AND o.signed_at < %s "
               f"AND c.committee_id IN ({self.inc}) GROUP BY o.author_id")
        return {str(u): n for u, n in self.run("opinions_signed", sql, [self.start, self.end, *self.ids])}

    def _cycle_from(self) -> str:
        return ("FROM cases_case c "
                "LEFT JOIN core_workdayordinal oc ON oc.date = c.concluded_on "
                "LEFT JOIN core_workdayordinal orc ON orc.date = c.received_on "
                f"WHERE c.committee_id IN ({self.inc}) AND c.concluded_on BETWEEN %s AND %s "
                "AND c.received_on IS NOT NULL")

    def cycle(self) -> Any:
        bands = [f"COUNT(*) FILTER (WHERE w >= {lo})" if hi is None else
                 f"COUNT(*) FILTER (WHERE w BETWEEN {lo} AND {hi})" for lo, hi in CYCLE_BANDS]
        sql = (f"SELECT {', '.join(bands)}, COUNT(*) FILTER (WHERE w IS NULL) "
               f"FROM (SELECT oc.ordinal - orc.ordinal AS w {self._cycle_from()}) s")
        keys = tuple(f"{lo}-" if hi is None else f"{lo}-{hi}" for lo, hi in CYCLE_BANDS) + ("unknown",)
        return self._wide(self.run("cycle", sql, self._period()), keys, False)

    def cycle_rows(self) -> Any:
        sql = (f"SELECT c.mode, c.case_type, oc.ordinal - orc.ordinal, {self._days_sql()}, COUNT(*) "
               f"{self._cycle_from()} GROUP BY 1, 2, 3, 4")
        return sorted((tuple(r) for r in self.run("cycle_rows", sql, self._period())), key=_sort_key)

    def sittings_held(self) -> int:
        sql = ("SELECT COUNT(DISTINCT sitting_id) FROM sittings_appointment "
               f"WHERE committee_id IN ({self.inc}) AND state = 'examined' AND starts_at >= %s AND starts_at < %s "
               "AND sitting_id IS NOT NULL")
        return self.run("sittings_held", sql, [*self.ids, self.start, self.end])[0][0]

    # Shapes -------------------------------------------------------------------------------------------

    def _shape(self, rows: list[tuple], keys: tuple, by_committee: bool) -> Any:
        """Rows of (key, n) or (committee, key, n) as {key: n} or {committee: {key: n}}, zeros filled."""
        if not by_committee:
            got = {str(k): n for k, n in rows}
            return {k: got.get(k, 0) for k in keys}
        out = {pk: dict.fromkeys(keys, 0) for pk in self.ids}
        for pk, k, n in rows:
            if k in out[pk]:
                out[pk][k] = n
        return out

    def _wide(self, rows: list[tuple], keys: tuple, by_committee: bool) -> Any:
        """Rows of counts in ``keys`` order (after the committee when ``by_committee``)."""
        if not by_committee:
            return dict(zip(keys, rows[0], strict=True))
        out = {pk: dict.fromkeys(keys, 0) for pk in self.ids}
        for pk, *ns in rows:
            out[pk] = dict(zip(keys, ns, strict=True))
        return out


# MEASURING --------------------------------------------------------------------------------------------

def _median_and_p95(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def time_rotating(fns: list[Callable[[], Any]], repeat: int, warmup: int) -> list[list[float]]:
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for i in range(repeat):
        for k in range(len(fns)):
            j = (i + k) % len(fns)
            t0 = time.perf_counter()
            fns[j]()
            samples[j].append(time.perf_counter() - t0)
    return samples


def _figure_values(res: Any) -> dict[str, int]:
    return {r.key: r.n for r in res.rows}


def _sort_key(row: tuple) -> tuple:
    return tuple("" if v is None else str(v) for v in row)


def _cycle_norm(rows: list[dict]) -> list[tuple]:
    return sorted(((r["mode"], r["case_type"], r["workdays"], r["calendar_days"], r["n"]) for r in rows),
                  key=_sort_key)


def _slowest(sent: list) -> tuple:
    """The statement of ``sent`` that takes longest when sent again alone (the one to EXPLAIN)."""
    from django.db import connection

    timed = []
    with connection.cursor() as cur:
        for sql, params, many in sent:
            if many or not sql.lstrip().upper().startswith("SELECT"):
                continue
            t0 = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            timed.append((time.perf_counter() - t0, sql, params))
    _t, sql, params = max(timed, key=lambda t: t[0])
    return sql, params


def explain(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(" ".join(str(c) for c in row) for row in cur.fetchall())


def measure_scope(name: str, scope: Any, repeat: int, warmup: int, only: set[str] | None) -> list[dict[str, Any]]:
    import harness
    from django.db import connection

    from laojian.reports import selectors

    hand = Hand(scope, connection)
    items: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[Any], Any], str]] = []
    for key in selectors.FIGURES:
        if not hasattr(hand, key):
            print(f"  !! figure {key!r} has no hand-written SQL in this benchmark: not measured", file=sys.stderr)
            continue
        items.append((f"figure {key}", lambda key=key: selectors.figure(scope, key), getattr(hand, key),
                      _figure_values, key))
    items.append(("cycle_rows", lambda: selectors.cycle_rows(scope), hand.cycle_rows, _cycle_norm, "cycle_rows"))
    items.append(("sittings_held", lambda: selectors.sittings_held(scope), hand.sittings_held, lambda n: n,
                  "sittings_held"))
    if hasattr(selectors, "opinions_signed"):
        items.append(("opinions_signed", lambda: selectors.opinions_signed(scope), hand.opinions_signed,
                      lambda d: d, "opinions_signed"))
    if len(scope.committee_ids) > 1:
        for key in selectors.SIDE_BY_SIDE:
            items.append((f"by committee {key}", lambda key=key: selectors.figure_by_committee(scope, key),
                          lambda key=key: getattr(hand, key)(by_committee=True),
                          lambda res: {pk: _figure_values(f) for pk, f in res.items()}, f"{key} by committee"))

    results = []
    for label, ours, theirs, norm, hand_name in items:
        if only and not any(o in label for o in only):
            continue
        got, sent, _elapsed = harness.capture(ours)
        expected = theirs()
        same = norm(got) == expected
        if not same:
            print(f"  !! {name} {label}: ours {norm(got)!r}\n     hand SQL {expected!r}", file=sys.stderr)
        o, rp, h = time_rotating([ours, lambda sent=sent: harness.replay(sent), theirs], repeat, warmup)
        om, op = _median_and_p95(o)
        hm, hp = _median_and_p95(h)
        main = _slowest(sent)  # the aggregate, not the small look-ups around it
        hsql, hparams = hand.last_sql[hand_name]
        res = {"scenario": name, "measurement": label, "ours_s": om, "ours_p95_s": op,
               "our_sql_s": statistics.median(rp), "hand_s": hm, "hand_p95_s": hp, "ratio": om / hm if hm else None,
               "same": same, "statements": len(sent), "our_sql": [s[0] for s in sent], "hand_sql": hsql,
               "ours_value": _jsonable(norm(got)), "hand_value": _jsonable(expected)}
        res["explain_ours"] = explain(main[0], main[1])
        res["explain_hand"] = explain(hsql, hparams)
        results.append(res)
        _print_row(res)

    if not only or any("dashboard" in o for o in only):
        def hand_all() -> None:
            for key in selectors.FIGURES:
                if hasattr(hand, key):
                    getattr(hand, key)()
            hand.opinions_signed()
            if len(scope.committee_ids) > 1:
                for key in selectors.SIDE_BY_SIDE:
                    getattr(hand, key)(by_committee=True)
            hand.cycle_rows()
            hand.sittings_held()

        def ours_all() -> None:
            selectors.dashboard(scope)

        _res, sent, _e = harness.capture(ours_all)
        o, rp, h = time_rotating([ours_all, lambda: harness.replay(sent), hand_all], max(3, repeat // 2), 1)
        res = {"scenario": name, "measurement": "dashboard (all)", "ours_s": statistics.median(o),
               "ours_p95_s": max(o), "our_sql_s": statistics.median(rp), "hand_s": statistics.median(h),
               "hand_p95_s": max(h), "same": True, "statements": len(sent)}
        res["ratio"] = res["ours_s"] / res["hand_s"]
        results.append(res)
        _print_row(res)
    return results


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [list(x) if isinstance(x, tuple) else x for x in v[:50]]
    return v


HEADER = f"{'scenario':<9} {'measurement':<26} {'ours s':>8} {'our SQL s':>10} {'hand s':>8} {'ratio':>6}  verdict"


def _verdict(r: dict[str, Any]) -> str:
    bad = []
    if r["ratio"] is not None and r["ratio"] > RATIO_GOAL:
        bad.append(f"ratio>{RATIO_GOAL}")
    if r["ours_s"] > SECONDS_GOAL:
        bad.append(f">{SECONDS_GOAL:g}s")
    out = "MISS " + ", ".join(bad) if bad else "ok"
    return out + ("" if r["same"] else "  NUMBERS DIFFER")


def _print_row(r: dict[str, Any]) -> None:
    print(f"{r['scenario']:<9} {r['measurement']:<26} {r['ours_s']:>8.4f} {r['our_sql_s']:>10.4f} "
          f"{r['hand_s']:>8.4f} {r['ratio']:>6.2f}  {_verdict(r)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=None,
                        help="cases to seed (default 1,000,000 on PostgreSQL, 200,000 on SQLite)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up runs of each side (default 1)")
    parser.add_argument("--year", type=int, default=2025, help="the one-year period measured (default 2025)")
    parser.add_argument("--reseed", action="store_true", help="wipe and seed again even if the marker matches")
    parser.add_argument("--only", action="append", help="measure only measurements containing this text")
    parser.add_argument("--seed-only", action="store_true", help="seed (or check the seed) and stop")
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    pg = connection.vendor == "postgresql"
    n = args.cases or (1_000_000 if pg else 200_000)
    migrate()
    seeded = marker()
    from laojian.cases.models import Case

    if seeded and seeded["cases"] == n and seeded["version"] == SEED_VERSION and not args.reseed:
        print(f"reusing the seeded database: {n:,} cases (seeded {seeded['seeded_at']}, "
              f"{seeded['seed_seconds']:.0f} s)", file=sys.stderr)
        seed_info = {"cases": n, "reused": True, **seeded}
    else:
        if seeded is None and Case.objects.exists():
            raise SystemExit("the database has cases but no bench_reports_seed marker: not ours, not wiping it")
        if seeded is not None or Case.objects.exists():
            print(f"wiping the earlier seed ({seeded and seeded['cases']} cases)", file=sys.stderr)
            wipe()
            migrate()
        print(f"seeding {n:,} cases on {connection.vendor}", file=sys.stderr)
        seed_info = seed(n)
    if args.seed_only:
        return

    from django.db.models import Count

    from laojian.core import workday_ordinals as workdays
    from laojian.core.models import Committee, User
    from laojian.reports.scope import Scope, committees_for_statistics

    workdays.ensure_current()
    prov_user = User.objects.get(username="bench-370000")
    province_ids = tuple(committees_for_statistics(prov_user).values_list("pk", flat=True))
    biggest = (Case.objects.filter(committee__level=Committee.Level.CITY).values("committee_id")
               .annotate(n=Count("pk")).order_by("-n").first())
    city = Committee.objects.get(pk=biggest["committee_id"])
    first, last = dt.date(args.year, 1, 1), dt.date(args.year, 12, 31)
    scopes = [("province", Scope(province_ids, first, last, today=TODAY)),
              (f"city {city.short_name}", Scope((city.pk,), first, last, today=TODAY))]
    counts = {label: s.cases().count() for label, s in scopes}
    print(f"{n:,} cases; province scope {len(province_ids)} committees ({counts['province']:,} cases); "
          f"{scopes[1][0]} {counts[scopes[1][0]]:,} cases; period {first}..{last}; today {TODAY}; "
          f"{args.repeat} runs after {args.warmup} warm-up, median")
    print(HEADER)
    print("-" * len(HEADER))
    results = []
    for label, scope in scopes:
        results += measure_scope(label.split()[0], scope, args.repeat, args.warmup, set(args.only or ()) or None)

    with connection.cursor() as cur:
        cur.execute("SELECT version()" if pg else "SELECT 'SQLite ' || sqlite_version()")
        version = cur.fetchone()[0]
        settings_pg = {}
        if pg:
            for s in ("shared_buffers", "work_mem", "jit", "max_parallel_workers_per_gather", "random_page_cost"):
                cur.execute(f"SHOW {s}")
                settings_pg[s] = cur.fetchone()[0]
        indexes = connection.introspection.get_constraints(cur, "cases_case")
    misses = [r for r in results if _verdict(r) != "ok"]
    differ = [r for r in results if not r["same"]]
    print(f"\n{len(results) - len(misses)} of {len(results)} meet the goal (ratio ≤ {RATIO_GOAL}, ours ≤ "
          f"{SECONDS_GOAL:g} s); numbers {'equal everywhere' if not differ else f'DIFFER in {len(differ)}'}")
    print(f"{version.split(' on ')[0]}, Django {__import__('django').get_version()}, Python {platform.python_version()}")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"reports-{stamp}.json"
    payload = {"benchmark": "bench/reports.py", "started": stamp, "cases": n, "seed": seed_info,
               "goal": {"ratio_max": RATIO_GOAL, "seconds_max": SECONDS_GOAL}, "repeat": args.repeat,
               "period": [str(first), str(last)], "today": str(TODAY), "scope_cases": counts,
               "database": version, "settings": settings_pg, "cases_indexes": sorted(indexes),
               "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                           "load": os.getloadavg()},
               "results": results}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    with open(path.with_name(f"reports-{stamp}-explain.txt"), "w", encoding="utf-8") as out:
        for r in results:
            if "explain_ours" in r:
                out.write(f"==== {r['scenario']} {r['measurement']}: ours {r['ours_s']:.4f} s, hand "
                          f"{r['hand_s']:.4f} s, ratio {r['ratio']:.2f}\n-- ours (main statement):\n"
                          f"{r['explain_ours']}\n-- hand SQL:\n{r['hand_sql']}\n{r['explain_hand']}\n\n")
    print(f"written {path.relative_to(PROJECT_DIR)} and …-explain.txt")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    main()
