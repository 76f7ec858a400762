"""§2.7 scenario 5: the database goes away in the middle of a partner import. The import fails on
the chunk it was at, the task tries again with backoff, and the retry ends as an uninterrupted
import would: every row once, no duplicate. Django connects again with no manual step."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connection

from laojian.core.models import AuditEvent, DeadLetter
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.crosscheck import partners, tasks
from laojian.crosscheck.models import ImportRun, Source
from laojian.crosscheck.tests.test_import import COUNTS, MAPPING, create, imported, stored, ten_rows

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def liaison():
    return UserFactory(committee=CommitteeFactory(), roles=["liaison"])


@pytest.fixture
def source(liaison) -> Source:
    return Source.objects.create(committee=liaison.committee, kind="settlement", name="市医保局结算数据",
                                 mapping=MAPPING)


def uninterrupted_twin() -> ImportRun:
    other = Source.objects.create(committee=CommitteeFactory(), kind="settlement", name="对照", mapping=MAPPING)
    return imported(other, None, ten_rows())


def queued(source, liaison) -> ImportRun:
    run = create(source, liaison, ten_rows())
    assert run.state == ImportRun.State.QUEUED
    return run


def assert_same_as(run: ImportRun, twin: ImportRun) -> None:
    run.refresh_from_db()
    assert [getattr(run, name) for name in COUNTS] == [getattr(twin, name) for name in COUNTS]
    assert stored(run.source).equals(stored(twin.source))
    assert not DeadLetter.objects.exists()


@pytest.mark.django_db
def test_a_lost_database_mid_import_is_tried_again_and_ends_as_an_uninterrupted_one(source, liaison, monkeypatch,
                                                                                      settings):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)
    twin = uninterrupted_twin()
    run = queued(source, liaison)
    lost = {"n": 0}

    def database_gone(run_id: int, chunk: int, at: str) -> None:
        if chunk == 2 and at == "written" and not lost["n"]:
            lost["n"] += 1
            raise OperationalError("server closed the connection unexpectedly")
    monkeypatch.setattr(partners, "_checkpoint_hook", database_gone)
    settings.TASKS = IMMEDIATE  # the next attempt runs at once instead of after its backoff
    tasks.import_run.enqueue(run.pk)
    assert_same_as(run, twin)
    retry = AuditEvent.objects.get(action="crosscheck.import_retry")
    assert "server closed the connection" in retry.after["error"]
    assert not AuditEvent.objects.filter(action="crosscheck.import_fail").exists()


@pytest.mark.django_db
def test_a_retry_takes_back_the_run_its_attempt_could_not_mark(source, liaison, monkeypatch, settings):
    """The database was still gone when the attempt tried to record its failure: the run stayed running."""
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)
    twin = uninterrupted_twin()
    run = queued(source, liaison)
    lost = {"n": 0}

    def database_gone(run_id: int, chunk: int, at: str) -> None:
        if chunk == 1 and at == "saved" and not lost["n"]:
            lost["n"] += 1
            raise OperationalError("could not connect to server")
    real_fail = partners._fail

    def cannot_record(run, message, **kwargs):
        if lost["n"] == 1:
            lost["n"] += 1
            raise OperationalError("could not connect to server")
        return real_fail(run, message, **kwargs)
    monkeypatch.setattr(partners, "_checkpoint_hook", database_gone)
    monkeypatch.setattr(partners, "_fail", cannot_record)
    settings.TASKS = IMMEDIATE
    tasks.import_run.enqueue(run.pk)
    assert_same_as(run, twin)


@pytest.mark.django_db
def test_the_last_attempt_leaves_the_run_failed_and_a_dead_letter(source, liaison, monkeypatch, settings):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)
    run = queued(source, liaison)

    def always_gone(run_id: int, chunk: int, at: str) -> None:
        if chunk == 1:
            raise OperationalError("server closed the connection unexpectedly")
    monkeypatch.setattr(partners, "_checkpoint_hook", always_gone)
    settings.TASKS = IMMEDIATE
    tasks.import_run.enqueue(run.pk)
    run.refresh_from_db()
    assert run.state == ImportRun.State.FAILED and run.chunks_done >= 1
    assert AuditEvent.objects.filter(action="crosscheck.import_retry").count() == 4  # attempts 1 to 4 of 5
    assert DeadLetter.objects.get().task == "laojian.crosscheck.tasks.import_run"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server to cut the connection of: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_server_cutting_the_connection_mid_import_is_survived(source, liaison, monkeypatch, settings):
    """A real cut: PostgreSQL terminates the import's session (as a restart does) between two chunks."""
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)
    settings.TASKS = DATABASE  # creating a run enqueues it on commit: kept in the queue table here
    twin = uninterrupted_twin()
    run = queued(source, liaison)
    cut = {"pid": None}

    def terminate_session(run_id: int, chunk: int, at: str) -> None:
        if chunk == 2 and at == "written" and cut["pid"] is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                cut["pid"] = cursor.fetchone()[0]
            params = connection.get_connection_params()
            with psycopg.connect(**{k: v for k, v in params.items() if k in ("dbname", "host", "port", "user")},
                                 autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [cut["pid"]])
    monkeypatch.setattr(partners, "_checkpoint_hook", terminate_session)
    settings.TASKS = IMMEDIATE
    tasks.import_run.enqueue(run.pk)
    assert cut["pid"] is not None
    assert_same_as(run, twin)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != cut["pid"]  # connected again, by itself
