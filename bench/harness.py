"""What the benchmarks share: a throwaway database per run and one measuring child process in it.

The parent calls ``run_child(script, database, child_args, keep=…, debug=…)``: it creates a temporary
SQLite data dir or a ``laojian_bench_<pid>`` PostgreSQL database (through ``BENCH_PG_ADMIN_URL``),
runs ``script --child DATABASE …`` with ``DATABASE_URL``/``LAOJIAN_DATA_DIR`` set (settings are read
at import), drops the database, and returns the JSON the child printed after ``RESULT_PREFIX``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH-RESULT "
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_url(dbname: str) -> str:
    base, _sep, _old = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def _throwaway(database: str, keep: bool) -> tuple[dict[str, str], Callable[[], None]]:
    """The environment for a child on a fresh database, and how to remove that database."""
    env: dict[str, str] = {}
    if database == "sqlite":
        data_dir = tempfile.mkdtemp(prefix="laojian_bench_")
        env["LAOJIAN_DATA_DIR"] = data_dir
        os.mkdir(os.path.join(data_dir, "static"))  # WhiteNoise warns about a missing STATIC_ROOT

        def cleanup() -> None:
            if keep:
                print(f"  kept SQLite data dir {data_dir}", file=sys.stderr)
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
        return env, cleanup
    dbname = f"laojian_bench_{os.getpid()}"
    pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{dbname}"')
    env["DATABASE_URL"] = pg_url(dbname)
    env["LAOJIAN_DATA_DIR"] = tempfile.mkdtemp(prefix="laojian_bench_media_")
    os.mkdir(os.path.join(env["LAOJIAN_DATA_DIR"], "static"))

    def cleanup() -> None:
        shutil.rmtree(env["LAOJIAN_DATA_DIR"], ignore_errors=True)
        if keep:
            print(f"  kept PostgreSQL database {dbname}", file=sys.stderr)
        else:
            pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return env, cleanup


def run_child(script: str, database: str, child_args: list[str], *, keep: bool = False,
              debug: bool = False) -> dict[str, Any]:
    """Create the throwaway database, run the measuring child in it, drop the database."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update({
        "DJANGO_SETTINGS_MODULE": "laojian.settings",
        # Production-like: no debug cursor, no template debug. The dev profile keeps "testserver"
        # in ALLOWED_HOSTS as long as LAOJIAN_PRODUCTION is off.
        "LAOJIAN_DEBUG": "1" if debug else "0",
        "LAOJIAN_LOG_LEVEL": "ERROR",
        "PYTHONHASHSEED": "0",
    })
    extra, cleanup = _throwaway(database, keep)
    env.update(extra)
    cmd = [sys.executable, str(Path(script).resolve()), "--child", database, *child_args]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True, check=False)
    finally:
        cleanup()
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX):])
        else:
            print(line)
    if proc.returncode != 0 or result is None:
        raise SystemExit(f"{database}: the benchmark child failed (exit code {proc.returncode})")
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


# THE PLAIN QUERIES A CALL MAKES ------------------------------------------------------------------
# A call's "plain queries" baseline: every statement it sent, with its parameters, sent again
# straight through a cursor. The ratio of the call to its replay is what our Python costs on top
# of the database work the call cannot avoid.

Statement = tuple[str, Any, bool]


def capture(fn: Callable[[], Any]) -> tuple[Any, list[Statement], float]:
    """Run ``fn`` once; its result, the statements it sent (sql, params, executemany) and its seconds."""
    from django.db import connection

    sent: list[Statement] = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params, many))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
    return result, sent, elapsed


def replay(statements: list[Statement]) -> float:
    """Send the statements again, fetching every row as the ORM would; seconds taken."""
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql, params, many in statements:
            if many:
                cursor.executemany(sql, params)
                continue
            cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()
    return time.perf_counter() - start


def capture_and_replay_rolled_back(fn: Callable[[], Any]) -> tuple[Any, int, float, float]:
    """For a call that writes: run it in a savepoint, roll it back, replay its statements in another
    savepoint and roll that back too (foreign keys are deferred on both databases, so the replayed
    rows may point at ids the rollback took away). Returns (result, statements, call s, replay s)."""
    from django.db import transaction

    with transaction.atomic():
        sid = transaction.savepoint()
        result, sent, elapsed = capture(fn)
        transaction.savepoint_rollback(sid)
        sid = transaction.savepoint()
        plain = replay(sent)
        transaction.savepoint_rollback(sid)
    return result, len(sent), elapsed, plain
