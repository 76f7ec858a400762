"""Test-wide set-up shared by laojian/ and e2e/."""

from __future__ import annotations

import pytest

SQLITE_DELETE_TRIGGER = "core_auditevent_no_delete"


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _audit_trail_flushable_on_sqlite(request: pytest.FixtureRequest):
    """Let Django flush the SQLite test database after a transactional test.

    The audit trail is append-only: a database trigger refuses DELETE. On PostgreSQL the
    flush uses TRUNCATE, which row triggers do not see; on SQLite it uses DELETE. So after a
    transactional test on SQLite the DELETE trigger is dropped just before the flush, and it is
    put back (from the migration's own SQL) before the next test starts.
    """
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    from importlib import import_module

    migration = import_module("laojian.core.migrations.0002_audit_append_only")
    with connection.cursor() as cursor:
        for statement in migration.SQLITE_INSTALL:
            cursor.execute(statement)
    yield
    if _is_transactional(request):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS {SQLITE_DELETE_TRIGGER}")
