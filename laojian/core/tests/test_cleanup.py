"""`laojian cleanup`: a crash's debris (half-written files, stored files no row points to) is listed,
removed only when asked and only once it is older than the grace period; kept files stay."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from laojian.cases.models import Case, Material, MaterialType
from laojian.cases.tests.factories import CaseFactory
from laojian.core import cleanup
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DAY = 24 * 3600


@pytest.fixture
def dirs(settings, tmp_path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    materials = data / "materials"
    materials.mkdir(parents=True)
    settings.DATA_DIR = data
    settings.FILE_UPLOAD_TEMP_DIR = str(data / "tmp" / "uploads")
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                            "OPTIONS": {"location": str(materials)}}}
    return data, materials


def write(path: Path, *, age_days: float = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7\n")
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def material_row(case: Case, name: str) -> Material:
    kind = MaterialType.objects.filter(case_type=case.case_type).first() or MaterialType.objects.create(
        case_type=case.case_type, code="other", name="其他")
    return Material.objects.create(case=case, material_type=kind, file=name, original_name="病历.pdf",
                                   content_type="application/pdf", size=9, sha256="0" * 64,
                                   uploaded_by=UserFactory(committee=case.committee), uploaded_at=timezone.now())


def test_a_stored_file_without_a_row_is_an_orphan(dirs):
    _data, materials = dirs
    write(materials / "ab" / "lost.pdf")
    assert cleanup.cleanup().orphans == ["ab/lost.pdf"]


def test_a_stored_file_a_row_points_to_is_kept(dirs):
    _data, materials = dirs
    write(materials / "ab" / "kept.pdf")
    material_row(CaseFactory(), "ab/kept.pdf")
    assert cleanup.cleanup().orphans == []


def test_a_file_younger_than_the_grace_period_is_left_alone(dirs):
    _data, materials = dirs
    write(materials / "ab" / "uploading.pdf", age_days=0.01)
    write(materials / "ab" / "upload.pdf.part", age_days=0.01)
    report = cleanup.cleanup()
    assert (report.orphans, report.temp) == ([], [])


def test_half_written_files_anywhere_in_the_data_directory_are_found(dirs):
    data, _materials = dirs
    part = write(data / "crosscheck" / "uploads" / "incoming" / "settlement.csv.part")
    backup_dir = data / "backups" / "laojian-backup-20261207T000000000000Z.partial"
    write(backup_dir / "database.sqlite3")
    os.utime(backup_dir, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    assert cleanup.cleanup().temp == [backup_dir, part]


def test_nothing_is_removed_without_delete(dirs):
    data, materials = dirs
    lost = write(materials / "ab" / "lost.pdf")
    part = write(data / "x.part")
    cleanup.cleanup()
    assert lost.exists() and part.exists()
    assert not AuditEvent.objects.filter(action="system.cleanup").exists()


def test_delete_removes_the_debris_keeps_the_rest_and_is_audited(dirs):
    data, materials = dirs
    lost = write(materials / "ab" / "lost.pdf")
    kept = write(materials / "ab" / "kept.pdf")
    material_row(CaseFactory(), "ab/kept.pdf")
    part = write(data / "crosscheck" / "x.csv.part")
    report = cleanup.cleanup(delete=True)
    assert report.deleted
    assert not lost.exists() and not part.exists() and kept.exists()
    event = AuditEvent.objects.get(action="system.cleanup")
    assert event.after["orphans"] == ["ab/lost.pdf"]


def test_the_grace_period_can_be_shortened(dirs):
    _data, materials = dirs
    write(materials / "ab" / "lost.pdf", age_days=0.2)
    assert cleanup.cleanup().orphans == []
    assert cleanup.cleanup(grace=dt.timedelta(hours=1)).orphans == ["ab/lost.pdf"]


def test_the_command_lists_then_removes(dirs, capsys):
    _data, materials = dirs
    lost = write(materials / "ab" / "lost.pdf")
    call_command("cleanup")
    assert "ab/lost.pdf" in capsys.readouterr().out and lost.exists()
    call_command("cleanup", "--delete")
    assert not lost.exists()


def test_an_upload_its_server_died_receiving_is_debris(dirs):
    data, _materials = dirs
    spooled = write(data / "tmp" / "uploads" / "tmpk2j4x9.upload.pdf")
    fresh = write(data / "tmp" / "uploads" / "tmpz8q1w0.upload.pdf", age_days=0)
    report = cleanup.cleanup(delete=True)
    assert spooled in report.temp and fresh not in report.temp
    assert not spooled.exists() and fresh.exists()
