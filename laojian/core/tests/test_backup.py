"""`laojian backup` and `laojian restore`: a backup restored into an empty instance gives back the same
rows, the same approved conclusions and the same files; a damaged backup or a non-empty instance is
refused with nothing written.

The restore runs as the console command in a child process, on a new data directory (SQLite) or a new
PostgreSQL database, exactly as an administrator would run it on another machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.utils import translation

from laojian.core import backup
from laojian.grading import services as grading_services
from laojian.grading.tests.factories import leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db(transaction=True)
PROJECT_DIR = Path(__file__).resolve().parents[3]
MATERIAL = Path("materials/ab/ab12cd.pdf")
PDF = b"%PDF-1.7\n% a scanned medical record\n%%EOF\n"


@pytest.fixture
def data_dir(settings, tmp_path):
    """A data directory of the instance's own, holding one stored material and some noise."""
    root = tmp_path / "data"
    (root / MATERIAL.parent).mkdir(parents=True)
    (root / MATERIAL).write_bytes(PDF)
    (root / "static").mkdir()
    (root / "static" / "app.css").write_text("body{}")
    (root / "crosscheck" / "uploads" / "incoming").mkdir(parents=True)
    (root / "crosscheck" / "uploads" / "incoming" / "upload.csv.part").write_bytes(b"half")
    settings.DATA_DIR = root
    return root


def concluded_case():
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, ["5.10.2(12)"])
    return grading_services.conclusion_approve(case.pk, actor=leader(case))


class Instance:
    """An empty instance to restore into: a new data directory, and on PostgreSQL a new database."""

    def __init__(self, root: Path):
        self.data_dir = root
        self.env = {**os.environ, "LAOJIAN_DATA_DIR": str(root), "DJANGO_SETTINGS_MODULE": "laojian.settings"}
        self.env.pop("DATABASE_URL", None)
        self.database = None
        if connection.vendor == "postgresql":
            self.database = f"lj_restore_{uuid.uuid4().hex[:12]}"
            self._admin(f'CREATE DATABASE "{self.database}"')
            db = connection.settings_dict
            self.env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
                                        f"{db['PORT'] or 5432}/{self.database}")

    def _admin(self, sql: str) -> None:
        import psycopg

        db = connection.settings_dict
        with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                             password=db["PASSWORD"] or None, dbname="postgres", autocommit=True) as admin:
            admin.execute(sql)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "laojian", *args], cwd=PROJECT_DIR, env=self.env,
                              capture_output=True, text=True, timeout=300, check=False)

    def fingerprint(self) -> dict:
        done = self.run("shell", "-c", "import json; from laojian.core import backup; "
                                       "print(json.dumps(backup.current_fingerprint()))")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def drop(self) -> None:
        if self.database:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture
def instance(tmp_path):
    made = Instance(tmp_path / "restored")
    yield made
    made.drop()


def test_a_backup_restored_into_an_empty_instance_has_the_same_rows_conclusions_and_files(data_dir, instance, tmp_path):
    concluded_case()
    made = backup.backup(tmp_path / "backups")
    done = instance.run("restore", str(made.path))
    assert done.returncode == 0, done.stderr
    restored = instance.fingerprint()
    assert restored == backup.current_fingerprint()
    assert restored["tables"]["grading_conclusion"] == 1
    assert (instance.data_dir / MATERIAL).read_bytes() == PDF


def test_the_manifest_fingerprint_is_the_data_at_the_backup(data_dir, tmp_path):
    concluded_case()
    made = backup.backup(tmp_path / "backups")
    assert made.manifest["fingerprint"] == backup.current_fingerprint()
    assert set(made.manifest["fingerprint"]["digests"]) >= {"approved_conclusions", "audit_chains"}


def test_an_approved_conclusion_changes_the_conclusion_digest(data_dir, tmp_path):
    before = backup.current_fingerprint()["digests"]["approved_conclusions"]
    concluded_case()
    assert backup.current_fingerprint()["digests"]["approved_conclusions"] != before


def test_the_backup_holds_the_data_files_with_their_hashes_and_leaves_out_static_and_half_uploads(data_dir, tmp_path):
    made = backup.backup(tmp_path / "backups")
    assert [f["path"] for f in made.manifest["files"]] == [MATERIAL.as_posix()]
    [entry] = made.manifest["files"]
    assert entry["sha256"] == backup.sha256_of(data_dir / MATERIAL)
    assert (made.path / backup.FILES / MATERIAL).read_bytes() == PDF


def test_a_finished_backup_leaves_no_partial_directory(data_dir, tmp_path):
    made = backup.backup(tmp_path / "backups")
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [made.path.name]


def test_backups_written_inside_the_data_directory_are_not_backed_up_again(data_dir):
    first = backup.backup(data_dir / "backups")
    second = backup.backup(data_dir / "backups")
    assert first.path != second.path
    assert [f["path"] for f in second.manifest["files"]] == [MATERIAL.as_posix()]


def test_a_damaged_file_is_refused_and_nothing_is_restored(data_dir, instance, tmp_path):
    made = backup.backup(tmp_path / "backups")
    (made.path / backup.FILES / MATERIAL).write_bytes(b"%PDF-1.7\nsomething else\n")
    done = instance.run("restore", str(made.path))
    assert done.returncode != 0
    assert "SHA-256" in done.stderr
    assert instance.fingerprint()["tables"] == {}
    assert not (instance.data_dir / MATERIAL).exists()


def test_check_reports_a_whole_backup_without_restoring_it(data_dir, instance, tmp_path):
    made = backup.backup(tmp_path / "backups")
    done = instance.run("restore", "--check", str(made.path))
    assert done.returncode == 0, done.stderr
    assert instance.fingerprint()["tables"] == {}


def test_a_restore_into_an_instance_that_holds_data_is_refused(data_dir, instance, tmp_path):
    made = backup.backup(tmp_path / "backups")
    assert instance.run("restore", str(made.path)).returncode == 0
    again = instance.run("restore", str(made.path))
    assert again.returncode != 0
    assert "LAOJIAN_DATA_DIR" in again.stderr


def test_a_restore_that_does_not_give_back_the_backups_rows_fails_and_says_which(data_dir, instance, tmp_path):
    made = backup.backup(tmp_path / "backups")
    manifest_path = made.path / backup.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["fingerprint"]["tables"]["cases_case"] += 1  # the backup claims a row the database copy lacks
    manifest_path.write_text(json.dumps(manifest))
    done = instance.run("restore", str(made.path))
    assert done.returncode != 0
    assert "cases_case" in done.stderr


def test_not_a_backup_is_refused_with_a_clear_message(instance, tmp_path):
    done = instance.run("restore", str(tmp_path))
    assert done.returncode != 0
    assert "manifest.json" in done.stderr


def test_differences_name_each_table_and_digest_that_differs():
    translation.activate("en")
    a = {"tables": {"x": 1, "y": 2}, "digests": {"d": "aa"}}
    b = {"tables": {"x": 1, "y": 3}, "digests": {"d": "bb"}}
    assert backup.differences(a, b) == ["table y: 2 in the backup, 3 restored", "digest d: aa in the backup, bb restored"]
    assert backup.differences(a, a) == []
