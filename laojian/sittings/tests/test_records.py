"""The examination's photo and video records: checked by content, stored privately with their
SHA-256, downloaded only through the checked view, uploads and reads audited."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from laojian.cases.models import Mode
from laojian.core.errors import NotFoundError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.sittings import records
from laojian.sittings.models import ExaminationRecord
from laojian.sittings.tests.factories import clerk_of, expert_of, reviewed_case

pytestmark = pytest.mark.django_db

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" + b"\x00" * 200
WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
        + b"\x00" * 200)


@pytest.fixture(autouse=True)
def materials_dir(settings, tmp_path) -> Path:
    location = tmp_path / "materials"
    settings.STORAGES = {
        **settings.STORAGES,
        "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                      "OPTIONS": {"location": str(location)}},
    }
    return location


def stored_files(location: Path) -> list[Path]:
    return sorted(p for p in location.rglob("*") if p.is_file()) if location.exists() else []


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return out.getvalue()


def setup_case():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    case = reviewed_case(committee, mode=Mode.HOME, experts=[expert])
    return case, clerk_of(committee), expert


def upload(client, case, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(reverse("sittings:records", args=[case.pk]), {
        "record-file": SimpleUploadedFile(name, data, content_type=content_type), "record-description": "右手握力"})


def test_a_photo_is_stored_with_its_sha256_and_the_upload_audited(client, materials_dir):
    case, clerk, expert = setup_case()
    client.force_login(clerk)
    response = upload(client, case, "hand.png", png_bytes(), "image/png")
    assert response.status_code == 303
    record = ExaminationRecord.objects.get(case=case)
    assert record.content_type == "image/png"
    assert record.original_name == "hand.png"
    stored = record.file.open("rb").read()
    assert hashlib.sha256(stored).hexdigest() == record.sha256
    assert len(stored_files(materials_dir)) == 1
    assert AuditEvent.objects.filter(action="examination_record.upload", object_id=str(record.pk)).exists()


def test_a_video_is_kept_byte_for_byte():
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    assert record.content_type == "video/mp4"
    assert record.file.open("rb").read() == MP4
    assert record.sha256 == hashlib.sha256(MP4).hexdigest()


def test_a_webm_video_is_accepted():
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(WEBM), actor=clerk, name="gait.webm")
    assert record.content_type == "video/webm"
    assert record.original_name == "gait.webm"


def test_the_download_is_an_attachment_and_audited(client):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    client.force_login(clerk)
    response = client.get(reverse("sittings:record_download", args=[record.pk]))
    assert response.status_code == 200
    assert response.content == MP4
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="examination_record.download", object_id=str(record.pk)).exists()


def test_the_panel_expert_may_download(client):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    client.force_login(expert.user)
    assert client.get(reverse("sittings:record_download", args=[record.pk])).status_code == 200


def test_another_committees_user_gets_404(client):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:record_download", args=[record.pk])).status_code == 404
    assert client.get(reverse("sittings:records", args=[case.pk])).status_code == 404
    assert upload(client, case, "x.png", png_bytes()).status_code == 404
    assert ExaminationRecord.objects.count() == 1


def test_an_expert_not_on_the_panel_gets_404(client):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    client.force_login(expert_of(case.committee).user)
    assert client.get(reverse("sittings:record_download", args=[record.pk])).status_code == 404


def test_the_applicant_cannot_see_the_records(client):
    case, clerk, expert = setup_case()
    applicant = UserFactory(roles=["applicant"])
    case.applicant_user = applicant
    case.save(update_fields=["applicant_user"])
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    with pytest.raises(NotFoundError):
        records.record_read(record.pk, actor=applicant)
    client.force_login(applicant)
    assert client.get(reverse("sittings:record_download", args=[record.pk])).status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    response = client.get(reverse("sittings:record_download", args=[record.pk]))
    assert response.status_code == 302


@pytest.mark.parametrize(("name", "data"), [
    ("report.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    ("photo.jpg", b"<html><script>alert(1)</script></html>"),
    ("video.mp4", b"MZ\x90\x00" + b"\x00" * 100),
    ("notes.mp4", b"just some text that is not a video"),
])
def test_a_bad_file_is_refused_with_a_message_and_nothing_saved(client, materials_dir, name, data):
    case, clerk, expert = setup_case()
    client.force_login(clerk)
    response = upload(client, case, name, data)
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert not ExaminationRecord.objects.exists()
    assert stored_files(materials_dir) == []


def test_a_video_over_the_limit_is_refused(settings, materials_dir):
    settings.LAOJIAN_RECORD_MAX_BYTES = 100
    case, clerk, expert = setup_case()
    with pytest.raises(ValidationFailed) as exc:
        records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    assert exc.value.code == "upload_too_large"
    assert stored_files(materials_dir) == []


def test_a_tampered_file_is_not_handed_out(client, materials_dir):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4")
    (materials_dir / record.file.name).write_bytes(b"changed")
    client.force_login(clerk)
    assert client.get(reverse("sittings:record_download", args=[record.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="examination_record.download").exists()


def test_the_list_page_shows_the_records(client):
    case, clerk, expert = setup_case()
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="walk.mp4", description="步态")
    client.force_login(clerk)
    response = client.get(reverse("sittings:records", args=[case.pk]))
    assert response.status_code == 200
    assert response.context["records"] == [record]
    assert reverse("sittings:record_download", args=[record.pk]).encode() in response.content


def test_a_record_is_tied_to_the_cases_appointment():
    from laojian.sittings.tests.test_examinations import scheduled_case

    case, clerk, expert = scheduled_case()
    record = records.record_upload(case.pk, records.spooled(png_bytes()), actor=clerk, name="wrist.png")
    assert record.appointment == case.appointments.get()
