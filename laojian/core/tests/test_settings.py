"""Settings: safe local defaults, a production profile that refuses to start half-configured."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from laojian.core.crypto import new_key

CHECK = [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='laojian.settings'; django.setup()"]


def run_with(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAOJIAN_")}
    env.update(env_overrides)
    return subprocess.run(CHECK, env=env, capture_output=True, text=True, timeout=60)


def test_production_refuses_to_start_without_a_secret_key():
    result = run_with({"LAOJIAN_PRODUCTION": "1", "LAOJIAN_ALLOWED_HOSTS": "laojian.example"})
    assert result.returncode != 0
    assert "LAOJIAN_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_with({"LAOJIAN_PRODUCTION": "1", "LAOJIAN_SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "LAOJIAN_ALLOWED_HOSTS" in result.stderr


def production(tmp_path, **overrides: str) -> dict[str, str]:
    return {"LAOJIAN_PRODUCTION": "1", "LAOJIAN_SECRET_KEY": "k3y-" * 15, "LAOJIAN_ALLOWED_HOSTS": "laojian.example",
            "LAOJIAN_DATA_DIR": str(tmp_path), "LAOJIAN_FIELD_KEYS": f"k1:{new_key()}",
            "LAOJIAN_INDEX_KEY": new_key(), **overrides}


def test_production_starts_when_configured(tmp_path):
    result = run_with(production(tmp_path))
    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_field_encryption_keys(tmp_path):
    env = production(tmp_path)
    del env["LAOJIAN_FIELD_KEYS"]
    result = run_with(env)
    assert result.returncode != 0
    assert "LAOJIAN_FIELD_KEYS" in result.stderr


def test_production_refuses_the_development_keys(tmp_path):
    from django.conf import settings

    result = run_with(production(tmp_path, LAOJIAN_INDEX_KEY=settings.LAOJIAN_INDEX_KEY))
    assert result.returncode != 0
    assert "LAOJIAN_INDEX_KEY" in result.stderr


def test_production_refuses_a_field_key_of_the_wrong_length(tmp_path):
    result = run_with(production(tmp_path, LAOJIAN_FIELD_KEYS="k1:c2hvcnQ="))
    assert result.returncode != 0
    assert "32 bytes" in result.stderr


def test_a_malformed_boolean_is_refused_with_its_name():
    result = run_with({"LAOJIAN_PRODUCTION": "maybe"})
    assert result.returncode != 0
    assert "LAOJIAN_PRODUCTION" in result.stderr


def test_default_language_is_simplified_chinese_and_time_zone_shanghai(settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_foreign_keys():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL


@pytest.mark.django_db
def test_postgresql_commits_synchronously():
    """REL-01: a commit returns only once its WAL is flushed; nothing lowers it for our sessions."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
        cursor.execute("SHOW fsync")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit():
    """The statistics queries are index-bound: JIT compiling would cost more than they run."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
