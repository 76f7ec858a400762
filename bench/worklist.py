"""PERF-01 style benchmark: worklist and case page server time against hand-written SQL.

Usage (from the checkout)::

    .venv/bin/python bench/worklist.py [--cases 100000] [--database sqlite|postgres|both] [--repeat 30]

The parent process creates a throwaway database per engine (SQLite: a temporary
``LAOJIAN_DATA_DIR``; PostgreSQL: a fresh ``laojian_bench_<pid>`` database, dropped at the end) and
runs one child process per engine with ``DATABASE_URL`` / ``LAOJIAN_DATA_DIR`` set, because the
settings are read at import. The child migrates, seeds with ``random.Random(42)``, measures in
process with Django's test ``Client`` and prints one JSON result line; the parent prints a table
and writes everything to ``bench/results/``.

What is measured (median of ``--repeat`` alternating A/B runs after a warm-up):

- worklist page 1 and a deep page: the whole view (session, auth, scoping, paginator, template)
  against one hand-written parameterised SQL for the same 50 rows plus the ``COUNT`` the pager needs,
  and against PERF-01's bare Django view (``values()`` on the same rows, same middleware);
- the worklist of an expert, who sees only the cases assigned to them;
- the case page of a case with a 20-entry timeline: the whole view (including its audit write)
  against hand-written SQL for the case with its joins, its timeline and its assignments;
- diagnostics: the ORM alone (selector + paginator) for the worklist, and ``audit.record_read`` alone;
- query counts: worklist pages with 50 rows vs 5 rows, case pages with 20 vs 2 timeline entries.

Timings are printed, never asserted. Goal (the issue): ratio <= 2 and a query count that does not
grow with the number of rows shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
from harness import RESULT_PREFIX

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

PAGE_SIZE = 50
DEEP_PAGE = 20
SMALL_STATUS = "difficult"  # exactly SMALL_STATUS_ROWS open cases of the clerk's committee have it
SMALL_STATUS_ROWS = 5
BIG_TIMELINE = 20
SMALL_TIMELINE = 2


# PARENT -----------------------------------------------------------------------------------------------

def run_child(database: str, args: argparse.Namespace) -> dict[str, Any]:
    child_args = ["--cases", str(args.cases), "--repeat", str(args.repeat)]
    if args.sqlite_analyze:
        child_args.append("--sqlite-analyze")
    return harness.run_child(__file__, database, child_args, keep=args.keep, debug=args.debug)


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def print_table(results: list[dict[str, Any]]) -> None:
    header = (f"{'database':<9} {'measurement':<30} {'view ms':>8} {'p95':>7} {'SQL ms':>7} {'ratio':>6} {'≤2':<4} "
              f"{'bare ms':>8} {'view/bare':>9}")
    print()
    print(header)
    print("-" * (len(header) + 1))
    for res in results:
        for name, m in res["timings"].items():
            ratio = m["ratio"]
            bare = m.get("bare_ms")
            print(f"{res['database']:<9} {name:<30} {_fmt_ms(m['view_ms']):>8} {_fmt_ms(m['view_p95_ms']):>7} "
                  f"{_fmt_ms(m['sql_ms']):>7} {ratio:>6.1f} {'ok' if ratio <= 2 else 'MISS':<4} "
                  f"{_fmt_ms(bare) if bare else '':>8} {m['ratio_bare'] if bare else '':>9}")
        extra = ", ".join(f"{k} {v}" for k, v in res["diagnostics"].items())
        print(f"{res['database']:<9}   diagnostics: {extra}")
    print()
    header = f"{'database':<9} {'query count':<40} {'small':>6} {'large':>6}  {'constant':<8}"
    print(header)
    print("-" * len(header))
    for res in results:
        for name, q in res["query_counts"].items():
            print(f"{res['database']:<9} {name + ' (' + q['what'] + ')':<40} {q['small']:>6} {q['large']:>6}  "
                  f"{'yes' if q['equal'] else 'NO':<8}")
    print()
    for res in results:
        print(f"{res['database']}: {res['versions']['database']}, Django {res['versions']['django']}; "
              f"{res['rows']['cases_case']} cases, {res['open_cases_in_committee']} open in the clerk's committee; "
              f"seed {res['seed_seconds']} s, total {res['wall_seconds']} s; same rows as the SQL: {res['same_rows']}")


def parent(args: argparse.Namespace) -> None:
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        print(f"== {database}: {args.cases} cases, {args.repeat} runs each", file=sys.stderr)
        results.append(run_child(database, args))
    print_table(results)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"worklist-{stamp}.json"
    payload = {
        "benchmark": "bench/worklist.py",
        "goal": {"ratio_max": 2, "query_count": "constant in the number of rows shown"},
        "started": stamp,
        "cases": args.cases,
        "repeat": args.repeat,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {path.relative_to(PROJECT_DIR)}")


# CHILD: SEEDING ----------------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志宏海波鹏飞辉鑫宇浩然子涵晨阳"
REGIONS = ("371502", "371521", "371522", "371523", "371524", "371525", "371526", "371581", "370102", "370112")
PARTS = ("右手", "左手", "右手示指", "左足", "腰椎", "右膝", "左前臂", "颈椎", "右眼", "胸部")
DIAGNOSES = ("右手示指末节离断伤", "左足跟骨骨折", "腰1椎体压缩性骨折", "右膝半月板损伤", "左尺桡骨双骨折",
             "颈椎间盘突出", "右眼球挫伤", "多发肋骨骨折")
EMPLOYER_WORDS = ("机械", "化工", "建筑", "纺织", "食品", "物流", "电子", "钢铁", "造纸", "木业")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def seed(n_cases: int) -> dict[str, Any]:
    """Deterministic data: committee A (the clerk's, 90%) and B (10%), ~3% of A's cases open."""
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from laojian.cases.models import (
        IN_PROGRESS_STATUSES,
        Case,
        CaseAssignment,
        CaseType,
        Employer,
        InjuryDetermination,
        Mode,
        Status,
        TimelineEntry,
        Worker,
    )
    from laojian.core.models import Committee, User
    from laojian.core.validators import build_credit_code, build_resident_id, parse_resident_id

    rng = random.Random(42)
    batch = 5000
    today = timezone.localdate()  # the application's "today" (Asia/Shanghai), as clocks.today()
    n_workers = max(10, n_cases // 5)
    n_employers = max(5, n_cases // 50)
    n_determinations = max(10, n_cases * 2 // 5)

    with transaction.atomic():
        home = Committee.objects.create(name="聊城市劳动能力鉴定委员会", short_name="聊城", code="371500",
                                        case_number_prefix="聊劳鉴", service_targets={"clinic": 10})
        other = Committee.objects.create(name="济南市劳动能力鉴定委员会", short_name="济南", code="370100",
                                         case_number_prefix="济劳鉴")
        groups = {g.name: g for g in Group.objects.all()}
        users = []
        for committee, tag, n_clerks in ((home, "lc", 10), (other, "jn", 5)):
            users += [User(username=f"{tag}_clerk{i}", display_name=f"{committee.short_name}受理员{i}",
                           committee=committee, password="!") for i in range(n_clerks)]
            users.append(User(username=f"{tag}_leader", display_name=f"{committee.short_name}主任",
                              committee=committee, password="!"))
        users += [User(username=f"expert{i}", display_name=f"专家{_name(rng)}", password="!") for i in range(200)]
        User.objects.bulk_create(users)
        users = list(User.objects.order_by("id"))
        clerks = {home.pk: [u for u in users if u.username.startswith("lc_clerk")],
                  other.pk: [u for u in users if u.username.startswith("jn_clerk")]}
        experts = [u for u in users if u.username.startswith("expert")]
        through = User.groups.through
        memberships = [through(user_id=u.pk, group_id=groups["clerk"].pk) for cs in clerks.values() for u in cs]
        memberships += [through(user_id=u.pk, group_id=groups["leader"].pk) for u in users if "leader" in u.username]
        memberships += [through(user_id=u.pk, group_id=groups["expert"].pk) for u in experts]
        through.objects.bulk_create(memberships)
        clerk = clerks[home.pk][0]

        workers = []
        for i in range(n_workers):
            number = build_resident_id(rng.choice(REGIONS), dt.date(1962, 1, 1) + dt.timedelta(days=i % 13000),
                                       i // 13000)
            parsed = parse_resident_id(number)
            workers.append(Worker(id_number=number, name=_name(rng), birth_date=parsed.birth_date, sex=parsed.sex,
                                  phone=f"138{rng.randrange(10**8):08d}", address=f"聊城市东昌府区{rng.randrange(1, 999)}号",
                                  county=rng.choice(("东昌府区", "茌平区", "阳谷县", "莘县", "东阿县"))))
        workers = Worker.objects.bulk_create(workers, batch_size=batch)
        employers = Employer.objects.bulk_create(
            [Employer(credit_code=build_credit_code(f"9137150{i:010d}"),
                      name=f"聊城{rng.choice(EMPLOYER_WORDS)}{i}有限公司", contact_name=_name(rng),
                      contact_phone=f"0635{rng.randrange(10**7):07d}") for i in range(n_employers)],
            batch_size=batch,
        )
        determinations = []
        for i in range(n_determinations):
            injury = dt.date(2017, 1, 1) + dt.timedelta(days=rng.randrange(3300))
            determinations.append(InjuryDetermination(
                number=f"聊人社工伤认字〔{injury.year}〕{i:06d}号", worker_id=workers[i % n_workers].pk,
                employer_id=rng.choice(employers).pk, injury_date=injury,
                determination_date=injury + dt.timedelta(days=rng.randrange(30, 120)),
                injured_parts=rng.choice(PARTS), diagnosis=rng.choice(DIAGNOSES)))
        determinations = InjuryDetermination.objects.bulk_create(determinations, batch_size=batch)

        # Cases, oldest first; the newest ~3% of each committee are open (a few drafts too).
        n_home = n_cases * 9 // 10
        open_statuses = [Status.SUBMITTED, Status.CORRECTION_REQUESTED, Status.ACCEPTED, Status.REVIEWED,
                         Status.SCHEDULED, Status.EXAMINED, Status.CONCLUDED, Status.DELIVERED]
        closed = [Status.ARCHIVED] * 92 + [Status.REJECTED] * 3 + [Status.WITHDRAWN] * 3 + [Status.TERMINATED] * 2
        cases = []
        in_progress: set[tuple[int, str]] = set()
        for committee, count in ((home, n_home), (other, n_cases - n_home)):
            n_open = max(SMALL_STATUS_ROWS + 60, count * 3 // 100)
            start = today - dt.timedelta(days=8 * 365)
            seqs: dict[int, int] = {}
            for i in range(count):
                received = start + dt.timedelta(days=(8 * 365 - 90) * i // count)
                recent = i >= count - n_open
                if recent:
                    received = today - dt.timedelta(days=rng.randrange(1, 90))
                    status = rng.choice(open_statuses)
                    if count - i <= SMALL_STATUS_ROWS:
                        status = Status.DIFFICULT
                    elif rng.random() < 0.03:
                        status = Status.DRAFT
                else:
                    status = rng.choice(closed)
                year = seq = number = None
                if status != Status.DRAFT:
                    year = received.year
                    seqs[year] = seq = seqs.get(year, 0) + 1
                    number = committee.format_case_number(year, seq)
                case_type = rng.choice(CaseType.values)
                det = rng.choice(determinations)
                if status in IN_PROGRESS_STATUSES:  # one case of a type in progress per injury (REL-21)
                    while (det.pk, case_type) in in_progress:
                        det = rng.choice(determinations)
                    in_progress.add((det.pk, case_type))
                case = Case(
                    committee_id=committee.pk, year=year, seq=seq, number=number,
                    case_type=case_type, applicant_kind="worker", mode=rng.choice(Mode.values),
                    status=status, worker_id=det.worker_id, employer_id=det.employer_id, determination_id=det.pk,
                    received_on=None if status == Status.DRAFT else received,
                )
                _set_clocks(case, rng, today)
                cases.append(case)
        cases = Case.objects.bulk_create(cases, batch_size=batch)

        # The measured cases: open, in the clerk's committee, a long and a short timeline.
        home_open = [c for c in cases if c.committee_id == home.pk and c.status == Status.SCHEDULED]
        big_case, small_case = home_open[0], home_open[1]

        assignments, timeline = [], []
        for idx, case in enumerate(cases):
            staff = clerks[case.committee_id]
            assignments.append(CaseAssignment(case_id=case.pk, user_id=staff[idx % len(staff)].pk,
                                              role=CaseAssignment.Role.CLERK))
            if case.status not in (Status.DRAFT, Status.SUBMITTED, Status.CORRECTION_REQUESTED) and idx % 3 == 0:
                assignments.append(CaseAssignment(case_id=case.pk, user_id=rng.choice(experts).pk,
                                                  role=CaseAssignment.Role.EXPERT))
            if case.pk in (big_case.pk, small_case.pk):
                continue
            n_entries = 2 if case.status in (Status.ARCHIVED, Status.REJECTED, Status.WITHDRAWN,
                                             Status.TERMINATED) else rng.randrange(1, 6)
            timeline += _timeline(case, n_entries, staff, rng)
        # Big case: the clerk, a leader and three experts; small case: just the clerk (already added).
        assignments = [a for a in assignments if a.case_id != big_case.pk]
        assignments += [CaseAssignment(case_id=big_case.pk, user_id=clerk.pk, role=CaseAssignment.Role.CLERK)]
        assignments += [CaseAssignment(case_id=big_case.pk, user_id=u.pk, role=CaseAssignment.Role.EXPERT)
                        for u in experts[:3]]
        assignments += [CaseAssignment(case_id=big_case.pk, user_id=clerks[home.pk][1].pk,
                                       role=CaseAssignment.Role.LEADER)]
        timeline += _timeline(big_case, BIG_TIMELINE, clerks[home.pk], rng)
        timeline += _timeline(small_case, SMALL_TIMELINE, clerks[home.pk], rng)
        CaseAssignment.objects.bulk_create(assignments, batch_size=batch)
        TimelineEntry.objects.bulk_create(timeline, batch_size=batch)

    return {"clerk_id": clerk.pk, "expert_id": experts[0].pk, "home_id": home.pk, "big_case": big_case.pk,
            "small_case": small_case.pk}


def _set_clocks(case: Any, rng: random.Random, today: dt.date) -> None:
    """Stored clock fields in the shape ``clocks.refresh`` leaves them (not computed: seeding stays fast)."""
    from laojian.cases.models import Status

    try:  # the application's own rule for which stored clock is "next"
        from laojian.cases.clocks import next_due
    except ImportError:
        next_due = None
    received = case.received_on
    if received is None:
        return
    workdays_basis = "chinese-calendar"
    case.completeness_due = received + dt.timedelta(days=7)
    basis: dict[str, Any] = {"completeness": {"from": received.isoformat(), "workdays": 5, "basis": workdays_basis}}
    if case.mode == "clinic":
        case.target_due = received + dt.timedelta(days=14)
        basis["target"] = {"from": received.isoformat(), "workdays": 10, "basis": workdays_basis, "mode": "clinic"}
    if case.status not in (Status.SUBMITTED, Status.CORRECTION_REQUESTED, Status.REJECTED, Status.WITHDRAWN):
        case.accepted_on = received + dt.timedelta(days=rng.randrange(1, 6))
        case.conclusion_due = case.accepted_on + dt.timedelta(days=60)
        basis["conclusion"] = {"basis": "calendar days", "from": case.accepted_on.isoformat(), "days": 60,
                               "extension_days": 0, "reschedule_shift_days": 0, "counts_from": "accepted"}
    if case.status in (Status.CONCLUDED, Status.DELIVERED, Status.ARCHIVED):
        case.concluded_on = min(today, case.accepted_on + dt.timedelta(days=rng.randrange(10, 55)))
        case.delivery_due = case.concluded_on + dt.timedelta(days=20)
        basis["delivery"] = {"basis": "calendar days", "from": case.concluded_on.isoformat(), "days": 20}
    if case.status in (Status.DELIVERED, Status.ARCHIVED):
        case.delivered_on = min(today, case.concluded_on + dt.timedelta(days=rng.randrange(1, 15)))
        case.reappraisal_window_ends = case.delivered_on + dt.timedelta(days=15)
        basis["reappraisal_window"] = {"basis": "calendar days", "from": case.delivered_on.isoformat(), "days": 15}
    case.next_due = next_due(case) if next_due else (case.conclusion_due or case.completeness_due)
    if case.next_due is not None and rng.random() < 0.02:
        case.next_due = None  # a clock that could not be computed: sorts last
    case.clock_basis = basis


TIMELINE_STEPS = (("register", "", "draft"), ("submit", "draft", "submitted"), ("accept", "submitted", "accepted"),
                  ("pass_review", "accepted", "reviewed"), ("schedule", "reviewed", "scheduled"),
                  ("reschedule", "scheduled", "scheduled"), ("assign", "", ""))


def _timeline(case: Any, n: int, staff: list[Any], rng: random.Random) -> list[Any]:
    from laojian.cases.models import TimelineEntry

    start = dt.datetime.combine(case.received_on or dt.date(2026, 1, 5), dt.time(9, 0), tzinfo=dt.UTC)
    entries = []
    for k in range(n):
        action, src, dst = TIMELINE_STEPS[k] if k < len(TIMELINE_STEPS) else TIMELINE_STEPS[5 + k % 2]
        entries.append(TimelineEntry(
            case_id=case.pk, at=start + dt.timedelta(hours=5 * k), actor_id=rng.choice(staff).pk if k else None,
            action=action, from_status=src, to_status=dst,
            note="申请人电话说明改期原因。" if action == "reschedule" else "", data={"k": k}))
    return entries


# CHILD: MEASURING ---------------------------------------------------------------------------------------

def _stats(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) / 1e6, 3), "p95_ms": round(p95 / 1e6, 3)}


def alternate(fns: list[Callable[[], Any]], repeat: int, warmup: int = 5) -> list[dict[str, float]]:
    """Warm up, then run the functions in rotating order (A B C, B C A, C A B, ...) ``repeat`` times
    each; return the median and p95 milliseconds of each."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[int]] = [[] for _ in fns]
    for i in range(repeat):
        for k in range(len(fns)):
            j = (i + k) % len(fns)
            t0 = time.perf_counter_ns()
            fns[j]()
            samples[j].append(time.perf_counter_ns() - t0)
    return [_stats(s) for s in samples]


def _settle(connection: Any, analyze_sqlite: bool) -> list[str]:
    """Statistics and a checkpoint after the bulk load, so the measurement does not share the disk
    with the database's own catching-up. PostgreSQL: VACUUM ANALYZE (what autovacuum would soon do)
    and CHECKPOINT. SQLite: no ANALYZE unless asked (the application never runs it, so a deployed
    database has no sqlite_stat1), then a WAL checkpoint."""
    done = []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("VACUUM ANALYZE")
            done.append("VACUUM ANALYZE")
            try:
                cur.execute("CHECKPOINT")
                done.append("CHECKPOINT")
            except Exception:  # needs superuser or pg_checkpoint; only a settling aid
                pass
        else:
            if analyze_sqlite:
                cur.execute("ANALYZE")
                done.append("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            done.append("PRAGMA wal_checkpoint(TRUNCATE)")
    time.sleep(2)
    return done


def child(database: str, n_cases: int, repeat: int, analyze_sqlite: bool) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.decorators import login_required
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.db import connection
    from django.db.models import F
    from django.http import JsonResponse
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import include, path, reverse

    from laojian.cases.models import (
        Case,
        CaseAssignment,
        Employer,
        InjuryDetermination,
        TimelineEntry,
        Worker,
    )
    from laojian.cases.workflow import OPEN_STATES
    from laojian.core.models import AuditEvent, Committee, User

    t0 = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    ids = seed(n_cases)
    seed_seconds = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    settled = _settle(connection, analyze_sqlite)
    print(f"  {database}: migrate {migrate_seconds} s, seed {seed_seconds} s, "
          f"{' + '.join(settled)} {round(time.monotonic() - t0, 1)} s", file=sys.stderr)

    open_states = sorted(OPEN_STATES)
    home_id = ids["home_id"]
    clerk = User.objects.get(pk=ids["clerk_id"])
    expert = User.objects.get(pk=ids["expert_id"])
    client = Client()
    client.force_login(clerk)
    expert_client = Client()
    expert_client.force_login(expert)

    # PERF-01's baseline: a bare Django view doing values() on the same filtered rows, behind the
    # same middleware. Mounted next to the project's URLs in a URLconf that exists only here.
    @login_required
    def bare_worklist(request: Any) -> JsonResponse:
        page = int(request.GET.get("page", "1"))
        qs = Case.objects.filter(committee_id=request.user.committee_id, status__in=open_states)
        rows = list(
            qs.order_by(F("next_due").asc(nulls_last=True), "id")
            .values("id", "number", "case_type", "mode", "status", "received_on", "next_due", "completeness_due",
                    "target_due", "conclusion_due", "delivery_due", "committee_id", "worker__name",
                    "worker__id_number", "employer__name")[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        )
        return JsonResponse({"count": qs.count(), "rows": rows})

    urlconf = types.ModuleType("bench_urls")
    urlconf.urlpatterns = [path("bench/bare-worklist/", bare_worklist), path("", include(settings.ROOT_URLCONF))]
    sys.modules["bench_urls"] = urlconf
    settings.ROOT_URLCONF = "bench_urls"

    t_case, t_worker, t_employer = Case._meta.db_table, Worker._meta.db_table, Employer._meta.db_table
    t_det, t_tl, t_asg = InjuryDetermination._meta.db_table, TimelineEntry._meta.db_table, CaseAssignment._meta.db_table
    t_user, t_committee = User._meta.db_table, Committee._meta.db_table
    marks = ", ".join(["%s"] * len(open_states))

    # The worklist as one would write it by hand: the clerk's committee, open statuses, the
    # columns the page shows (plus the clock fields that name the deadline), the pager's COUNT.
    columns = (
        "c.id, c.number, c.case_type, c.mode, c.status, c.received_on, c.next_due, c.completeness_due, "
        "c.target_due, c.conclusion_due, c.delivery_due, c.committee_id, w.name, w.id_number, e.name"
    )
    joins = f"FROM {t_case} c JOIN {t_worker} w ON w.id = c.worker_id JOIN {t_employer} e ON e.id = c.employer_id"
    order = "ORDER BY c.next_due ASC NULLS LAST, c.id ASC LIMIT %s OFFSET %s"
    worklist_sql = f"SELECT {columns} {joins} WHERE c.committee_id = %s AND c.status IN ({marks}) {order}"
    count_sql = f"SELECT COUNT(*) FROM {t_case} c WHERE c.committee_id = %s AND c.status IN ({marks})"
    # An expert sees the cases they are assigned to.
    assigned = f"c.id IN (SELECT a.case_id FROM {t_asg} a WHERE a.user_id = %s AND a.active = %s)"
    expert_sql = f"SELECT {columns} {joins} WHERE {assigned} AND c.status IN ({marks}) {order}"
    expert_count_sql = f"SELECT COUNT(*) FROM {t_case} c WHERE {assigned} AND c.status IN ({marks})"

    def sql_worklist(page: int) -> list[tuple]:
        with connection.cursor() as cur:
            cur.execute(count_sql, [home_id, *open_states])
            cur.fetchone()
            cur.execute(worklist_sql, [home_id, *open_states, PAGE_SIZE, (page - 1) * PAGE_SIZE])
            return cur.fetchall()

    def sql_expert_worklist() -> list[tuple]:
        with connection.cursor() as cur:
            cur.execute(expert_count_sql, [expert.pk, True, *open_states])
            cur.fetchone()
            cur.execute(expert_sql, [expert.pk, True, *open_states, PAGE_SIZE, 0])
            return cur.fetchall()

    case_sql = (
        f"SELECT c.*, cm.*, w.*, e.*, d.*, ab.* FROM {t_case} c "
        f"JOIN {t_committee} cm ON cm.id = c.committee_id JOIN {t_worker} w ON w.id = c.worker_id "
        f"JOIN {t_employer} e ON e.id = c.employer_id JOIN {t_det} d ON d.id = c.determination_id "
        f"LEFT JOIN {t_user} ab ON ab.id = c.accepted_by_id WHERE c.id = %s AND c.committee_id = %s"
    )
    timeline_sql = (f"SELECT t.*, u.* FROM {t_tl} t LEFT JOIN {t_user} u ON u.id = t.actor_id "
                    f"WHERE t.case_id = %s ORDER BY t.at, t.id")
    assignment_sql = (f"SELECT a.*, u.* FROM {t_asg} a JOIN {t_user} u ON u.id = a.user_id "
                      f"WHERE a.case_id = %s AND a.active = %s ORDER BY a.role, a.id")

    def sql_case(pk: int) -> tuple:
        with connection.cursor() as cur:
            cur.execute(case_sql, [pk, home_id])
            row = cur.fetchone()
            cur.execute(timeline_sql, [pk])
            timeline = cur.fetchall()
            cur.execute(assignment_sql, [pk, True])
            return row, timeline, cur.fetchall()

    worklist_url = reverse("cases:worklist")
    bare_url = "/bench/bare-worklist/"
    big_url, small_url = (reverse("cases:detail", args=[ids[k]]) for k in ("big_case", "small_case"))

    def get(url: str, who: Any = client, **params: Any) -> Any:
        response = who.get(url, params)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} {params} answered {response.status_code}")
        return response

    # Correctness first: the view shows the rows the hand-written SQL returns, in the same order.
    def shown(html: bytes) -> list[int]:
        return [int(pk) for pk in re.findall(r'href="/cases/(\d+)/"', html.decode())]

    n_open = Case.objects.filter(committee_id=home_id, status__in=open_states).count()
    n_expert_open = Case.objects.filter(assignments__user=expert, assignments__active=True,
                                        status__in=open_states).distinct().count()
    deep_page = max(1, min(DEEP_PAGE, -(-n_open // PAGE_SIZE)))
    same_rows = {f"clerk page {page}": shown(get(worklist_url, page=page).content) == [r[0] for r in sql_worklist(page)]
                 for page in (1, deep_page)}
    same_rows["expert page 1"] = shown(get(worklist_url, expert_client).content) == [r[0] for r in sql_expert_worklist()]
    bare = json.loads(get(bare_url).content)
    same_rows["bare view page 1"] = [r["id"] for r in bare["rows"]] == [r[0] for r in sql_worklist(1)]

    timings: dict[str, dict[str, Any]] = {}

    def record(name: str, stats: list[dict[str, float]], bare_stats: dict[str, float] | None = None) -> None:
        view, sql = stats[0], stats[1]
        entry = {"view_ms": view["median_ms"], "view_p95_ms": view["p95_ms"], "sql_ms": sql["median_ms"],
                 "ratio": round(view["median_ms"] / sql["median_ms"], 2)}
        if bare_stats:
            entry.update({"bare_ms": bare_stats["median_ms"], "bare_p95_ms": bare_stats["p95_ms"],
                          "ratio_bare": round(view["median_ms"] / bare_stats["median_ms"], 2)})
        timings[name] = entry

    stats = alternate([lambda: get(worklist_url, page=1), lambda: sql_worklist(1), lambda: get(bare_url, page=1)],
                      repeat)
    record("worklist page 1", stats, stats[2])
    stats = alternate([lambda: get(worklist_url, page=deep_page), lambda: sql_worklist(deep_page),
                       lambda: get(bare_url, page=deep_page)], repeat)
    record(f"worklist page {deep_page}", stats, stats[2])
    record(f"worklist, expert ({n_expert_open} rows)",
           alternate([lambda: get(worklist_url, expert_client), sql_expert_worklist], repeat))
    record(f"case page ({BIG_TIMELINE} entries)",
           alternate([lambda: get(big_url), lambda: sql_case(ids["big_case"])], repeat))

    # Diagnostics: where the time goes.
    diagnostics: dict[str, Any] = {}
    try:
        from laojian.cases import selectors

        def orm_worklist(user: Any) -> list:
            page = Paginator(selectors.worklist(user, sort="due"), PAGE_SIZE).get_page(1)
            return list(page.object_list)

        orm, sql = alternate([lambda: orm_worklist(clerk), lambda: sql_worklist(1)], repeat)
        diagnostics["ORM worklist p1 ms"] = orm["median_ms"]
        diagnostics["ORM/SQL ratio p1"] = round(orm["median_ms"] / sql["median_ms"], 2)
        orm, sql = alternate([lambda: orm_worklist(expert), sql_expert_worklist], repeat)
        diagnostics["ORM expert worklist ms"] = orm["median_ms"]
        diagnostics["ORM/SQL ratio expert"] = round(orm["median_ms"] / sql["median_ms"], 2)
    except Exception as exc:  # the selectors are being rewritten: report, don't fail the run
        diagnostics["ORM worklist error"] = repr(exc)
    try:
        from laojian.core import audit

        case_obj = Case.objects.get(pk=ids["big_case"])
        (audit_stats,) = alternate([lambda: audit.record_read(clerk, case_obj, ["worker.id_number"])], repeat)
        diagnostics["audit.record_read ms"] = audit_stats["median_ms"]
    except Exception as exc:
        diagnostics["audit.record_read error"] = repr(exc)

    # Query counts against the number of rows shown.
    def count_queries(url: str, **params: Any) -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as ctx:
            get(url, **params)
        return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]

    small_n, small_q = count_queries(worklist_url, status=SMALL_STATUS)
    large_n, large_q = count_queries(worklist_url, page=1)
    small_detail_n, small_detail_q = count_queries(small_url)
    large_detail_n, large_detail_q = count_queries(big_url)
    query_counts = {
        "worklist": {"what": f"{SMALL_STATUS_ROWS} vs {PAGE_SIZE} rows", "small": small_n, "large": large_n,
                     "equal": small_n == large_n},
        "case page": {"what": f"{SMALL_TIMELINE} vs {BIG_TIMELINE} entries", "small": small_detail_n,
                      "large": large_detail_n, "equal": small_detail_n == large_detail_n},
    }
    queries = {"worklist page 1": large_q, f"worklist ?status={SMALL_STATUS}": small_q,
               "case page (big)": large_detail_q, "case page (small)": small_detail_q}

    # EXPLAIN of the hand-written SQL and of the SQL the view's selector sends.
    explain: dict[str, Any] = {
        "hand-written worklist": _explain(connection, worklist_sql, [home_id, *open_states, PAGE_SIZE, 0]),
        "hand-written count": _explain(connection, count_sql, [home_id, *open_states]),
        "hand-written expert worklist": _explain(connection, expert_sql,
                                                 [expert.pk, True, *open_states, PAGE_SIZE, 0]),
    }
    try:
        from laojian.cases import selectors

        for who, user in (("clerk", clerk), ("expert", expert)):
            captured: list[tuple[str, Any]] = []

            def wrapper(execute, sql, params, many, context, captured=captured):
                captured.append((sql, params))
                return execute(sql, params, many, context)

            with connection.execute_wrapper(wrapper):
                page = Paginator(selectors.worklist(user, sort="due"), PAGE_SIZE).get_page(1)
                list(page.object_list)
            for label, (sql, params) in zip(("count", "worklist"), captured, strict=False):
                explain[f"view {who} {label}"] = {"sql": sql, **_explain(connection, sql, params)}
    except Exception as exc:
        explain["view error"] = repr(exc)

    result = {
        "database": database,
        "cases": n_cases,
        "repeat": repeat,
        "debug": os.environ.get("LAOJIAN_DEBUG"),
        "settled_with": settled,
        "migrate_seconds": migrate_seconds,
        "seed_seconds": seed_seconds,
        "timings": timings,
        "diagnostics": diagnostics,
        "query_counts": query_counts,
        "queries": queries,
        "same_rows": all(same_rows.values()),
        "same_rows_detail": same_rows,
        "open_cases_in_committee": n_open,
        "open_cases_of_expert": n_expert_open,
        "rows": {m._meta.db_table: m.objects.count() for m in (Case, Worker, Employer, InjuryDetermination,
                                                                  TimelineEntry, CaseAssignment, User, AuditEvent)},
        "versions": _versions(connection),
        "indexes": _indexes(connection, t_case),
        "explain": explain,
        "hand_written_sql": {"worklist": worklist_sql, "count": count_sql, "expert worklist": expert_sql,
                             "expert count": expert_count_sql, "case": case_sql, "timeline": timeline_sql,
                             "assignments": assignment_sql},
    }
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, default=str))


def _explain(connection: Any, sql: str, params: Any) -> dict[str, Any]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            return {"plan": [row[0] for row in cur.fetchall()]}
        cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        return {"plan": [row[-1] for row in cur.fetchall()]}


def _versions(connection: Any) -> dict[str, str]:
    import django

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT version()")
            db = cur.fetchone()[0].split(" on ")[0]
        else:
            cur.execute("SELECT sqlite_version()")
            db = "SQLite " + cur.fetchone()[0]
    return {"django": django.get_version(), "python": sys.version.split()[0], "database": db}


def _indexes(connection: Any, table: str) -> list[str]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [table])
        else:
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s ORDER BY name",
                        [table])
            return [sql or f"{name} (automatic, for a UNIQUE constraint)" for name, sql in cur.fetchall()]
        return [row[0] for row in cur.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed (default 100000)")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each side (default 30)")
    parser.add_argument("--sqlite-analyze", action="store_true",
                        help="run ANALYZE on SQLite after seeding (the application never does)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases for inspection")
    parser.add_argument("--debug", action="store_true", help="measure with DEBUG on (default: off, as in production)")
    parser.add_argument("--child", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.cases, args.repeat, args.sqlite_analyze)
    else:
        parent(args)


if __name__ == "__main__":
    main()
