"""Grading: clause search and the combination of several injuries, against plain indexed SQL.

Usage (from the checkout)::

    .venv/bin/python bench/grading.py [--database sqlite|postgres|both] [--repeat 50] [--opinions 10000]

The parent creates a throwaway database per engine (SQLite: a temporary ``LAOJIAN_DATA_DIR``;
PostgreSQL: a fresh ``laojian_bench_grading_<pid>``, dropped at the end) and runs one child per
engine with ``DATABASE_URL`` / ``LAOJIAN_DATA_DIR`` set, because the settings are read at import.
The child migrates (which loads the shipped GB/T 16180-2014: 530 clauses), measures in process and
prints one JSON line; the parent prints a table and writes everything to ``bench/results/``.

What is measured (median of ``--repeat`` alternating A/B runs after a warm-up):

1. clause search, as an expert types: ``selectors.clause_search(edition, q)`` evaluated into a list,
   for each of ``QUERIES`` (1 to 4 Chinese characters, and a clause-number prefix), against
   ``SELECT … FROM grading_clause WHERE edition_id = %s AND criterion LIKE %s LIMIT 50`` on the raw
   cursor. Goal (the issue): ratio <= 3.
2. the combination of ``--opinions`` opinions: ``rules.combine`` over that many random lists of 1 to 6
   clauses (``random.Random(42)``), fed from one ORM query of the edition's clause grades, against the
   raw-cursor query that fetches those grades.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
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

import harness
from harness import RESULT_PREFIX

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# What an expert types into the clause picker, one keystroke at a time: 1–4 characters, and a number.
QUERIES = ("手", "拇指", "截肢", "视力", "肺", "手指缺失", "双眼", "肺功能", "上肢", "5.9")
SEARCH_GOAL = 3.0
RAW_SEARCH = ("SELECT id, edition_id, number, grade, seq, categories, body_parts, criterion FROM grading_clause "
              "WHERE edition_id = %s AND criterion LIKE %s LIMIT 50")
RAW_GRADES = "SELECT number, grade FROM grading_clause WHERE edition_id = %s"


# PARENT -----------------------------------------------------------------------------------------------

def run_child(database: str, args: argparse.Namespace) -> dict[str, Any]:
    return harness.run_child(__file__, database, ["--repeat", str(args.repeat), "--opinions", str(args.opinions)],
                             keep=args.keep)


def print_table(results: list[dict[str, Any]]) -> None:
    header = f"{'database':<9} {'clause search q':<16} {'rows':>4} {'sql rows':>8} {'search ms':>9} {'SQL ms':>7} " \
             f"{'ratio':>6} {'≤3':<4}"
    print()
    print(header)
    print("-" * len(header))
    for res in results:
        for q, m in res["search"]["queries"].items():
            print(f"{res['database']:<9} {q:<16} {m['rows']:>4} {m['sql_rows']:>8} {m['orm_ms']:>9.3f} "
                  f"{m['sql_ms']:>7.3f} {m['ratio']:>6.1f} {'ok' if m['ratio'] <= SEARCH_GOAL else 'MISS':<4}")
        s = res["search"]
        print(f"{res['database']:<9} {'all (median)':<16} {'':>4} {'':>8} {s['orm_ms']:>9.3f} {s['sql_ms']:>7.3f} "
              f"{s['ratio']:>6.1f} {'ok' if s['ratio'] <= SEARCH_GOAL else 'MISS':<4}")
    print()
    for res in results:
        c = res["combine"]
        print(f"{res['database']}: combine {c['opinions']} opinions ({c['items']} items): ORM grades query "
              f"{c['orm_query_ms']:.2f} ms + combine {c['combine_ms']:.1f} ms ({c['per_opinion_us']:.1f} µs each) "
              f"= {c['total_ms']:.1f} ms; raw grades query {c['sql_ms']:.2f} ms; ratio {c['ratio']:.0f}x "
              f"(ORM query alone {c['orm_query_ms'] / c['sql_ms']:.1f}x)")
    print()
    for res in results:
        print(f"{res['database']}: {res['versions']['database']}, Django {res['versions']['django']}, "
              f"{res['clauses']} clauses, total {res['wall_seconds']} s")


def parent(args: argparse.Namespace) -> None:
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        print(f"== {database}: {args.repeat} runs each, {args.opinions} opinions", file=sys.stderr)
        results.append(run_child(database, args))
    print_table(results)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"grading-{stamp}.json"
    payload = {
        "benchmark": "bench/grading.py",
        "goal": {"search_ratio_max": SEARCH_GOAL},
        "started": stamp,
        "repeat": args.repeat,
        "opinions": args.opinions,
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {path.relative_to(PROJECT_DIR)}")


# CHILD ------------------------------------------------------------------------------------------------

def _time_ns(fn: Callable[[], Any]) -> int:
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def _alternate(a: Callable[[], Any], b: Callable[[], Any], repeat: int, warmup: int = 5) -> tuple[list[int], list[int]]:
    """Time ``a`` and ``b`` ``repeat`` times each in rotating order (A B, B A, …) after a warm-up."""
    for _ in range(warmup):
        a()
        b()
    ta: list[int] = []
    tb: list[int] = []
    for i in range(repeat):
        if i % 2:
            tb.append(_time_ns(b))
            ta.append(_time_ns(a))
        else:
            ta.append(_time_ns(a))
            tb.append(_time_ns(b))
    return ta, tb


def _ms(ns: list[int]) -> float:
    return statistics.median(ns) / 1e6


def _p95(ns: list[int]) -> float:
    return sorted(ns)[max(0, int(len(ns) * 0.95) - 1)] / 1e6


def child(database: str, repeat: int, n_opinions: int) -> None:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from laojian.grading import rules, selectors
    from laojian.grading.models import Clause

    t0 = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = round(time.monotonic() - t0, 1)
    edition = selectors.current_edition()

    # 1. Clause search ------------------------------------------------------------------------------
    def orm_search(q: str) -> list:
        return list(selectors.clause_search(edition, q))

    def raw_search(q: str) -> list:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SEARCH, [edition.pk, f"%{q}%"])
            return cursor.fetchall()

    queries: dict[str, dict[str, Any]] = {}
    all_orm: list[float] = []
    all_sql: list[float] = []
    for q in QUERIES:
        ta, tb = _alternate(lambda q=q: orm_search(q), lambda q=q: raw_search(q), repeat)
        orm_ms, sql_ms = _ms(ta), _ms(tb)
        all_orm.append(orm_ms)
        all_sql.append(sql_ms)
        queries[q] = {"rows": len(orm_search(q)), "sql_rows": len(raw_search(q)), "orm_ms": round(orm_ms, 4),
                      "orm_p95_ms": round(_p95(ta), 4), "sql_ms": round(sql_ms, 4),
                      "sql_p95_ms": round(_p95(tb), 4), "ratio": round(orm_ms / sql_ms, 2)}
    search = {"queries": queries, "orm_ms": round(statistics.median(all_orm), 4),
              "sql_ms": round(statistics.median(all_sql), 4),
              "ratio": round(statistics.median(o / s for o, s in zip(all_orm, all_sql, strict=True)), 2),
              "raw_sql": RAW_SEARCH}
    with connection.cursor() as cursor:
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
        cursor.execute(explain + RAW_SEARCH, [edition.pk, "%手%"])
        search["raw_explain"] = [" ".join(str(c) for c in row) for row in cursor.fetchall()]

    # 2. Combination of many opinions ---------------------------------------------------------------
    rng = random.Random(42)
    numbers = list(Clause.objects.filter(edition=edition).order_by("number").values_list("number", flat=True))
    opinions = [[rng.choice(numbers) for _ in range(rng.randint(1, 6))] for _ in range(n_opinions)]

    def orm_grades() -> dict[str, int]:
        return dict(Clause.objects.filter(edition=edition).values_list("number", "grade"))

    def raw_grades() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(RAW_GRADES, [edition.pk])
            return dict(cursor.fetchall())

    def combine_all() -> list:
        grades = orm_grades()
        return [rules.combine([grades[n] for n in items]) for items in opinions]

    combine_repeat = max(3, repeat // 10)
    ta, tb = _alternate(combine_all, raw_grades, combine_repeat, warmup=1)
    tq, _tb2 = _alternate(orm_grades, raw_grades, repeat)
    grades = orm_grades()
    tc = [_time_ns(lambda: [rules.combine([grades[n] for n in items]) for items in opinions])
          for _ in range(combine_repeat)]
    results = combine_all()
    combine = {
        "opinions": n_opinions, "items": sum(len(o) for o in opinions), "repeat": combine_repeat,
        "total_ms": round(_ms(ta), 2), "sql_ms": round(_ms(tb), 4), "orm_query_ms": round(_ms(tq), 4),
        "combine_ms": round(_ms(tc), 2), "per_opinion_us": round(_ms(tc) * 1000 / n_opinions, 2),
        "ratio": round(_ms(ta) / _ms(tb), 1),
        "promoted": sum(r.promoted for r in results), "advisory": sum(r.advisory for r in results),
    }

    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SELECT version()")
        db_version = cursor.fetchone()[0]
    result = {
        "database": database,
        "versions": {"database": (f"SQLite {db_version}" if connection.vendor == "sqlite"
                                  else db_version.split(" on ")[0]), "django": django.get_version()},
        "clauses": len(numbers), "edition": edition.code, "migrate_seconds": migrate_seconds,
        "search": search, "combine": combine,
    }
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs of each search (default 50)")
    parser.add_argument("--opinions", type=int, default=10_000, help="opinions to combine (default 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway databases for inspection")
    parser.add_argument("--child", choices=("sqlite", "postgres"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat, args.opinions)
    else:
        parent(args)


if __name__ == "__main__":
    main()
