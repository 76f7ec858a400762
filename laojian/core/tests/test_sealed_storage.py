"""Files encrypted at rest (SEC-55; laojian/core/sealed_storage.py): what the disk holds of a medical
file is ciphertext; the application reads it back whole; a changed or cut-short file is refused with
a message; files stored before sealing still open; a key rotation re-seals every file; documents,
archive packages and backups keep working on sealed files.
"""

from __future__ import annotations

import hashlib
import importlib
import io
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from laojian.cases import materials, selectors
from laojian.cases.models import Material, MaterialsStorage, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core import backup, crypto, keyrotation, sealed_storage
from laojian.core.models import AuditEvent
from laojian.core.sealed_storage import SealedFileError, open_bytes, seal_bytes
from laojian.core.tests.factories import UserFactory

MARKER = b"SEALMARKER42"


# HELPERS (real files in the test's own folder) ----------------------------------------------------

def marked_pdf() -> bytes:
    """A real PDF whose plaintext carries a marker in its metadata."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": f"{MARKER.decode()} lumbar fracture"})
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert MARKER in data and data.startswith(b"%PDF")
    return data


def use_folder(settings, location: Path) -> Path:
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(location)}}}
    return location


@pytest.fixture(autouse=True)
def materials_dir(settings, tmp_path) -> Path:
    return use_folder(settings, tmp_path / "materials")


def seed_checklists() -> None:
    """The data migration's checklist defaults (a transactional test elsewhere may have flushed them)."""
    importlib.import_module("laojian.cases.migrations.0006_material_checklist_defaults").seed(django_apps, None)


def uploaded_material(data: bytes | None = None) -> tuple[Material, object]:
    """A PDF uploaded by the clerk of a new case; returns (material, clerk)."""
    seed_checklists()
    case = CaseFactory(status=Status.SUBMITTED)
    clerk = UserFactory(roles=["clerk"], committee=case.committee)
    diagnosis = next(mt for mt in selectors.checklist_for(case) if mt.code == "diagnosis")
    upload = SimpleUploadedFile("诊断证明.pdf", data or marked_pdf(), content_type="application/pdf")
    material = materials.material_upload(case, diagnosis, upload, clerk)
    return material, clerk


def on_disk(location: Path, name: str) -> Path:
    return location / name


def download(client, material: Material, user):
    client.force_login(user)
    return client.get(reverse("cases:material_download", args=[material.case_id, material.pk]))


# AT REST ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_bytes_on_disk_of_an_uploaded_pdf_hold_none_of_its_plaintext(materials_dir):
    material, _clerk = uploaded_material()
    raw = on_disk(materials_dir, material.file.name).read_bytes()
    assert b"%PDF" not in raw and MARKER not in raw
    assert raw.startswith(sealed_storage.MAGIC)


@pytest.mark.django_db
def test_the_download_returns_the_original_bytes(client):
    data = marked_pdf()
    material, clerk = uploaded_material(data)
    response = download(client, material, clerk)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert int(response["Content-Length"]) == len(data)


@pytest.mark.django_db
def test_the_storage_size_is_the_plain_size():
    data = marked_pdf()
    material, _clerk = uploaded_material(data)
    assert material.file.storage.size(material.file.name) == len(data) == material.size


@pytest.mark.django_db
def test_a_changed_byte_on_disk_makes_open_fail_with_a_clear_error(materials_dir):
    material, _clerk = uploaded_material()
    path = on_disk(materials_dir, material.file.name)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(SealedFileError, match="changed or cut short"):
        MaterialsStorage().open(material.file.name)


@pytest.mark.django_db
def test_the_download_of_a_changed_file_explains_and_sends_nothing(client, materials_dir):
    material, clerk = uploaded_material()
    path = on_disk(materials_dir, material.file.name)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = download(client, material, clerk)
    assert response.status_code == 303
    assert response["Location"] == reverse("cases:detail", args=[material.case_id]) + "#materials"
    page = client.get(response["Location"])
    assert "does not decrypt" in page.content.decode()
    assert not AuditEvent.objects.filter(action="read_sensitive", object_type="cases.material").exists()


@pytest.mark.django_db
def test_a_file_cut_short_at_a_chunk_boundary_is_detected():
    sealed = seal_bytes(b"x" * 64, chunk_size=16)
    cut = sealed[:len(sealed) - (16 + sealed_storage.OVERHEAD)]  # the last whole chunk gone
    with pytest.raises(SealedFileError):
        open_bytes(cut)


@pytest.mark.django_db
def test_a_file_cut_short_inside_a_chunk_is_detected(materials_dir):
    material, _clerk = uploaded_material()
    path = on_disk(materials_dir, material.file.name)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(SealedFileError, match="cut short"):
        MaterialsStorage().open(material.file.name)


@pytest.mark.django_db
def test_a_file_stored_before_sealing_still_opens(client, materials_dir):
    data = marked_pdf()
    material, clerk = uploaded_material(data)
    on_disk(materials_dir, material.file.name).write_bytes(data)  # as an older version stored it
    response = download(client, material, clerk)
    assert b"".join(response.streaming_content) == data


@pytest.mark.django_db
def test_a_file_sealed_with_a_key_no_longer_configured_names_the_key(settings):
    material, _clerk = uploaded_material()
    sealed_with = crypto.keys().current
    settings.LAOJIAN_FIELD_KEYS = f"k2:{crypto.new_key()}"
    with pytest.raises(SealedFileError, match=f"key {sealed_with}, which LAOJIAN_FIELD_KEYS does not hold"):
        MaterialsStorage().open(material.file.name)


@pytest.mark.django_db
def test_reopening_a_closed_file_reads_the_plain_bytes_again():
    data = marked_pdf()
    material, _clerk = uploaded_material(data)
    with material.file.open("rb") as handle:
        assert handle.read() == data
    with material.file.open("rb") as handle:
        assert handle.read() == data


# KEY ROTATION -------------------------------------------------------------------------------------

def with_new_key(settings) -> str:
    new = f"k2:{crypto.new_key()}"
    settings.LAOJIAN_FIELD_KEYS = f"{new},{settings.LAOJIAN_FIELD_KEYS}"
    return new


@pytest.mark.django_db
def test_rotation_reseals_files_under_the_new_key_and_the_old_key_can_then_go(settings):
    data = marked_pdf()
    material, _clerk = uploaded_material(data)
    storage = MaterialsStorage()
    assert storage.key_of(material.file.name) == crypto.keys().current
    new = with_new_key(settings)
    call_command("rotate_keys", stdout=io.StringIO())
    assert storage.key_of(material.file.name) == "k2"
    settings.LAOJIAN_FIELD_KEYS = new  # the old key removed
    with storage.open(material.file.name) as handle:
        assert handle.read() == data


@pytest.mark.django_db
def test_rotation_seals_a_file_stored_before_sealing(materials_dir):
    data = marked_pdf()
    material, _clerk = uploaded_material(data)
    on_disk(materials_dir, material.file.name).write_bytes(data)
    report = keyrotation.reseal_files()
    assert report.resealed == 1
    assert MARKER not in on_disk(materials_dir, material.file.name).read_bytes()
    assert open_bytes(on_disk(materials_dir, material.file.name).read_bytes()) == data


@pytest.mark.django_db
def test_rotation_leaves_files_already_under_the_current_key_alone(materials_dir):
    material, _clerk = uploaded_material()
    before = on_disk(materials_dir, material.file.name).read_bytes()
    report = keyrotation.reseal_files()
    assert (report.resealed, report.current, report.failed) == (0, 1, [])
    assert on_disk(materials_dir, material.file.name).read_bytes() == before


@pytest.mark.django_db
def test_rotation_reports_a_file_that_does_not_open_and_leaves_it(settings, materials_dir):
    material, _clerk = uploaded_material()
    path = on_disk(materials_dir, material.file.name)
    damaged = path.read_bytes()[:-1]
    path.write_bytes(damaged)
    with_new_key(settings)
    report = keyrotation.reseal_files()
    assert report.resealed == 0 and report.failed[0].startswith(material.file.name)
    assert path.read_bytes() == damaged
    assert not list(materials_dir.rglob(f"*{sealed_storage.TEMP_SUFFIX}"))


# DOCUMENTS, ARCHIVE, BACKUP -----------------------------------------------------------------------

@pytest.mark.django_db
def test_a_conclusion_letter_is_sealed_on_disk_and_still_downloads_signed_and_verifies(
        client, settings, tmp_path, materials_dir, django_capture_on_commit_callbacks):
    from laojian.documents import signing
    from laojian.documents.models import Document, Kind
    from laojian.grading import services as grading_services
    from laojian.grading.tests.factories import leader, panel_case, signed_opinion

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.LAOJIAN_DOCUMENT_SIGNER = "pades"
    settings.LAOJIAN_SIGNING_KEY_DIR = tmp_path / "keys"
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert)
    with django_capture_on_commit_callbacks(execute=True):
        grading_services.conclusion_approve(case.pk, actor=leader(case))
    letter = Document.objects.get(case=case, kind=Kind.CONCLUSION)
    assert b"%PDF" not in on_disk(materials_dir, letter.file.name).read_bytes()

    client.force_login(UserFactory(roles=["archivist"], committee=case.committee))
    response = client.get(reverse("documents:download", args=[case.pk, letter.pk]))
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == letter.sha256
    assert signing.validate(content).intact
    page = client.get(reverse("documents:verify", args=[letter.verify_code]))
    assert page.status_code == 200 and letter.sha256 in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip_the_sealed_files(settings, tmp_path):
    from laojian.core.tests.test_backup import Instance

    settings.DATA_DIR = tmp_path / "data"
    use_folder(settings, tmp_path / "data" / "materials")
    data = marked_pdf()
    material, _clerk = uploaded_material(data)
    name = f"materials/{material.file.name}"
    made = backup.backup(tmp_path / "backups")
    assert backup.read_manifest(made.path)["files"]  # every hash verifies
    assert MARKER not in (made.path / backup.FILES / name).read_bytes()
    instance = Instance(tmp_path / "restored")
    try:
        done = instance.run("restore", str(made.path))
        assert done.returncode == 0, done.stderr
        assert open_bytes((instance.data_dir / name).read_bytes()) == data
    finally:
        instance.drop()


# THE FORMAT, FOR ANY BYTES ------------------------------------------------------------------------

# The autouse storage folder is not used by these (no database, no storage): only the format.
SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]

@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=SLOW_OK)
@given(chunk=st.integers(min_value=1, max_value=64), data=st.data())
def test_any_bytes_open_to_what_was_sealed_at_any_chunk_size(chunk, data):
    # lengths around the chunk boundaries (0, k·chunk − 1, k·chunk, k·chunk + 1) and anything else
    boundary = st.integers(min_value=0, max_value=4).flatmap(
        lambda k: st.sampled_from([max(0, k * chunk - 1), k * chunk, k * chunk + 1]))
    length = data.draw(st.one_of(boundary, st.integers(min_value=0, max_value=300)))
    plain = data.draw(st.binary(min_size=length, max_size=length))
    sealed = seal_bytes(plain, chunk_size=chunk)
    assert len(sealed) == sealed_storage.sealed_length(len(plain), crypto.keys().current, chunk)
    assert open_bytes(sealed) == plain


@hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=SLOW_OK)
@given(plain=st.binary(max_size=200), chunk=st.integers(min_value=1, max_value=32), data=st.data())
def test_any_cut_or_changed_byte_is_refused(plain, chunk, data):
    sealed = seal_bytes(plain, chunk_size=chunk)
    if data.draw(st.booleans()):
        at = data.draw(st.integers(min_value=1, max_value=len(sealed) - 1))  # an empty file is a plain one
        damaged = sealed[:at]
    else:  # a changed magic makes a "plain" file, which the recorded SHA-256 then refuses
        at = data.draw(st.integers(min_value=len(sealed_storage.MAGIC), max_value=len(sealed) - 1))
        damaged = sealed[:at] + bytes([sealed[at] ^ 0x01]) + sealed[at + 1:]
    with pytest.raises(SealedFileError):
        open_bytes(damaged)


@hypothesis_settings(max_examples=50, deadline=None, suppress_health_check=SLOW_OK)
@given(plain=st.binary(max_size=500), chunk=st.integers(min_value=1, max_value=40), data=st.data())
def test_a_sealed_file_reads_the_same_from_any_position(plain, chunk, data):
    stream, _key = sealed_storage.open_stream(io.BytesIO(seal_bytes(plain, chunk_size=chunk)))
    at = data.draw(st.integers(min_value=0, max_value=len(plain)))
    stream.seek(at)
    assert stream.read() == plain[at:]
