"""Case materials: checklists, upload checks, storage, download, the completeness check."""

from __future__ import annotations

import hashlib
import importlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript

from laojian.cases import materials, selectors, services, uploads
from laojian.cases.models import (
    CaseAssignment,
    CaseType,
    Material,
    MaterialCheck,
    MaterialStatus,
    MaterialType,
    Status,
    TimelineEntry,
)
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.sealed_storage import open_bytes
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db


# FILES --------------------------------------------------------------------------------------------


def pdf_bytes(*, js: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if js:
        writer.add_open_action(JavaScript("app.alert('hello');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture (an image bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (36.0, 27.0, 0.0), 3: "E", 4: (115.0, 59.0, 0.0)}  # GPS: Liaocheng
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


# FIXTURES -----------------------------------------------------------------------------------------


def seed_checklists() -> None:
    """The data migration's defaults (a transactional test elsewhere may have flushed them)."""
    module = importlib.import_module("laojian.cases.migrations.0006_material_checklist_defaults")
    module.seed(django_apps, None)


@pytest.fixture(autouse=True)
def checklists():
    seed_checklists()


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


@pytest.fixture
def committee():
    return CommitteeFactory()


@pytest.fixture
def clerk(committee):
    return UserFactory(roles=["clerk"], committee=committee)


@pytest.fixture
def applicant():
    return UserFactory(roles=["applicant"], committee=None)


@pytest.fixture
def case(committee, applicant):
    return CaseFactory(committee=committee, applicant_user=applicant, status=Status.SUBMITTED)


def item(case, code: str) -> MaterialType:
    return next(mt for mt in selectors.checklist_for(case) if mt.code == code)


# CHECKLISTS ---------------------------------------------------------------------------------------

COMMON_REQUIRED = ["application_form", "injury_determination", "diagnosis", "medical_records", "id_card"]


@pytest.mark.parametrize(
    "case_type, required",
    [
        (CaseType.INITIAL, COMMON_REQUIRED),
        (CaseType.REVIEW, [*COMMON_REQUIRED, "previous_conclusion"]),
        (CaseType.REAPPRAISAL, [*COMMON_REQUIRED, "previous_conclusion"]),
        (CaseType.LEAVE_CONFIRMATION, COMMON_REQUIRED),
        (CaseType.LEAVE_EXTENSION, [*COMMON_REQUIRED, "hospital_recommendation"]),
        (CaseType.REHAB_CONFIRMATION, COMMON_REQUIRED),
        (CaseType.REHAB_EXTENSION, [*COMMON_REQUIRED, "hospital_recommendation"]),
    ],
)
def test_every_case_type_has_a_default_checklist_with_its_required_items(case_type, required):
    case = CaseFactory(case_type=case_type)
    checklist = selectors.checklist_for(case)
    assert [mt.code for mt in checklist if mt.required] == required
    assert [mt.code for mt in checklist if not mt.required] == ["other"]
    names = {mt.code: mt.name for mt in checklist}
    assert names["application_form"] == "申请表"
    assert names["injury_determination"] == "工伤认定决定书"
    assert names["diagnosis"] == "诊断证明书"
    assert names["medical_records"] == "病历资料"


def test_a_committee_replaces_drops_and_adds_checklist_items(committee):
    case = CaseFactory(committee=committee, case_type=CaseType.INITIAL)
    MaterialType.objects.create(committee=committee, case_type=CaseType.INITIAL, code="id_card",
                                name="身份证或社保卡", required=True, order=50)
    MaterialType.objects.create(committee=committee, case_type=CaseType.INITIAL, code="other",
                                name="其他材料", required=False, active=False)
    MaterialType.objects.create(committee=committee, case_type=CaseType.INITIAL, code="employer_letter",
                                name="单位证明", required=False, order=55)
    other_committee_case = CaseFactory(case_type=CaseType.INITIAL)

    assert [mt.name for mt in selectors.checklist_for(case)] == [
        "申请表", "工伤认定决定书", "诊断证明书", "病历资料", "身份证或社保卡", "单位证明",
    ]
    assert [mt.code for mt in selectors.checklist_for(other_committee_case)] == [*COMMON_REQUIRED, "other"]


# UPLOAD CHECKS ------------------------------------------------------------------------------------

LIMIT = 1024 * 1024


@pytest.mark.parametrize(
    "name, data, code, message",
    [
        ("报告.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, "upload_active_file",
         "The file “报告.pdf” is a program, script or web page, not a document, whatever its name says. "
         "Only PDF, JPEG and PNG files are accepted."),
        ("setup.jpg", b"MZ\x90\x00" + b"\x00" * 200, "upload_active_file",
         "The file “setup.jpg” is a program, script or web page, not a document, whatever its name says. "
         "Only PDF, JPEG and PNG files are accepted."),
        ("病历.pdf", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "upload_active_file",
         "The file “病历.pdf” is a program, script or web page, not a document, whatever its name says. "
         "Only PDF, JPEG and PNG files are accepted."),
        ("run.pdf", b"#!/bin/sh\nrm -rf /\n", "upload_active_file",
         "The file “run.pdf” is a program, script or web page, not a document, whatever its name says. "
         "Only PDF, JPEG and PNG files are accepted."),
        ("scan.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "upload_pdf_damaged",
         "The file “scan.pdf” looks like a PDF but cannot be read: it is damaged or incomplete. "
         "Save or scan it again."),
        ("half.pdf", pdf_bytes()[:200], "upload_pdf_damaged",
         "The file “half.pdf” looks like a PDF but cannot be read: it is damaged or incomplete. "
         "Save or scan it again."),
        ("form.pdf", pdf_bytes(js=True), "upload_pdf_active",
         "The PDF “form.pdf” contains active content (scripts, automatic actions or attached files), "
         "which case materials may not have. Print it to a new PDF or scan the paper copy."),
        ("huge.png", png_header_claiming(100_000, 100_000), "upload_image_bomb",
         "The image “huge.png” has too many pixels to be opened safely (more than 89 million). "
         "Take or scan it at a lower resolution."),
        ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50, "upload_image_damaged",
         "The image “broken.jpg” cannot be read: it is damaged or incomplete. Take or scan it again."),
        ("empty.pdf", b"", "upload_empty", "The file “empty.pdf” is empty."),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * LIMIT, "upload_too_large",
         "The file “big.pdf” is larger than 1 MB, the most a file may be. Scan it at a lower resolution "
         "or split it into several files."),
        ("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "upload_heif",
         "The photo “IMG_0001.HEIC” is in HEIC/HEIF format, which cannot be checked or opened here. Upload it "
         "as JPEG: choose it from the photo gallery in this form (the phone converts it), or set the camera to "
         "“Most Compatible” and take it again."),
        ("letter.docx", b"PK\x03\x04" + b"\x00" * 100, "upload_type",
         "The file “letter.docx” is not a PDF, JPEG or PNG file, whatever its name says. Scan or save it as "
         "PDF, JPEG or PNG."),
    ],
    ids=["elf", "pe", "html-as-pdf", "script", "corrupt-pdf", "truncated-pdf", "pdf-with-js", "image-bomb",
         "corrupt-jpeg", "zero-bytes", "over-limit", "heic", "office-document"],
)
def test_bad_uploads_are_refused_with_their_message(name, data, code, message):
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        uploads.inspect(io.BytesIO(data), name, max_bytes=LIMIT)
    assert refused.value.code == code
    assert refused.value.message == message


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        uploads.inspect(io.BytesIO(png_bytes(1100, 1000)), "scan.png", max_bytes=LIMIT)
    assert refused.value.code == "upload_image_bomb"
    assert refused.value.message == (
        "The image “scan.png” has too many pixels to be opened safely (more than 1 million). "
        "Take or scan it at a lower resolution."
    )


def test_the_content_decides_the_type_not_the_name():
    inspected = uploads.inspect(io.BytesIO(png_bytes()), "photo.pdf", max_bytes=LIMIT)
    assert (inspected.kind, inspected.content_type, inspected.extension) == ("png", "image/png", ".png")


def test_a_clean_pdf_is_kept_byte_for_byte():
    data = pdf_bytes()
    inspected = uploads.inspect(io.BytesIO(data), "scan.pdf", max_bytes=LIMIT)
    assert (inspected.kind, inspected.content_type, inspected.data) == ("pdf", "application/pdf", data)


def test_a_name_is_cleaned_of_directories_and_control_characters():
    assert uploads.clean_name("../../etc/pass\u202ewd\x00.pdf") == "passwd.pdf"
    assert uploads.clean_name("C:\\Users\\张三\\病历.pdf") == "病历.pdf"
    with translation.override("en"):
        assert uploads.clean_name("") == "file"


def test_the_upload_limit_comes_from_the_setting(settings, case, clerk):
    settings.LAOJIAN_UPLOAD_MAX_BYTES = 100
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        materials.material_upload(case, item(case, "diagnosis"), upload("d.pdf", pdf_bytes()), clerk)
    assert refused.value.code == "upload_too_large"
    assert Material.objects.count() == 0


# STORING ------------------------------------------------------------------------------------------


def test_a_photo_is_stored_without_exif_and_upright(case, applicant, materials_dir):
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)[1] == "N"  # the test photo has GPS

    material = materials.material_upload(case, item(case, "id_card"), upload("IMG_1.jpg", data, "image/jpeg"),
                                         applicant)

    [path] = stored_files(materials_dir)
    stored = Image.open(io.BytesIO(open_bytes(path.read_bytes())))  # sealed at rest
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info
    assert stored.size == (64, 48)
    assert (material.original_name, material.content_type) == ("IMG_1.jpg", "image/jpeg")


def test_the_sha256_is_of_the_stored_bytes_and_the_name_is_random(case, clerk, materials_dir):
    data = pdf_bytes()
    material = materials.material_upload(case, item(case, "diagnosis"), upload("张三 诊断证明.pdf", data), clerk)

    [path] = stored_files(materials_dir)
    stored = open_bytes(path.read_bytes())  # the stored bytes once unsealed
    assert stored == data
    material.refresh_from_db()
    assert material.sha256 == hashlib.sha256(stored).hexdigest()
    assert material.size == len(data)
    assert material.original_name == "张三 诊断证明.pdf"
    assert "诊断" not in material.file.name
    assert path.name.endswith(".pdf")
    assert len(path.stem) == 32
    assert material.file.name == f"{path.parent.name}/{path.name}"


def test_an_upload_is_on_the_timeline_and_in_the_audit_trail(case, clerk):
    material = materials.material_upload(case, item(case, "diagnosis"), upload("d.pdf", pdf_bytes()), clerk,
                                         ip_address="10.0.0.7")
    entry = TimelineEntry.objects.get(case=case, action="material_upload")
    assert (entry.actor, entry.note, entry.data) == (
        clerk, "诊断证明书", {"material_id": material.pk, "material_type": "diagnosis"}
    )
    event = AuditEvent.objects.get(action="material.upload")
    assert (event.object_type, event.object_id, event.committee_id, event.ip_address) == (
        "cases.material", str(material.pk), case.committee_id, "10.0.0.7"
    )
    assert event.after == {"case_id": case.pk, "material_type": "diagnosis", "content_type": "application/pdf",
                           "size": material.size, "sha256": material.sha256}


def test_a_database_failure_after_the_file_write_leaves_no_file(case, clerk, materials_dir, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(materials.audit, "record", fail)
    files = [upload("a.pdf", pdf_bytes()), upload("b.png", png_bytes(), "image/png")]
    with pytest.raises(DatabaseError):
        materials.materials_upload(case, [materials.Upload(item(case, "diagnosis"), f, f.name) for f in files],
                                   clerk)
    assert stored_files(materials_dir) == []
    assert Material.objects.count() == 0
    assert TimelineEntry.objects.filter(action="material_upload").count() == 0


def test_one_bad_file_refuses_the_whole_upload(case, clerk, materials_dir):
    files = [upload("a.pdf", pdf_bytes()), upload("b.pdf", b"")]
    with pytest.raises(ValidationFailed):
        materials.materials_upload(case, [materials.Upload(item(case, "diagnosis"), f, f.name) for f in files],
                                   clerk)
    assert stored_files(materials_dir) == []
    assert Material.objects.count() == 0


def test_who_may_upload(case, clerk, applicant, committee):
    archivist = UserFactory(roles=["archivist"], committee=committee)
    stranger = UserFactory(roles=["applicant"], committee=None)
    diagnosis = item(case, "diagnosis")
    with pytest.raises(PermissionDeniedError):
        materials.material_upload(case, diagnosis, upload("a.pdf", pdf_bytes()), archivist)
    with pytest.raises(NotFoundError):
        materials.material_upload(case, diagnosis, upload("a.pdf", pdf_bytes()), stranger)
    case.status = Status.ACCEPTED
    case.save()
    with pytest.raises(PermissionDeniedError):
        materials.material_upload(case, diagnosis, upload("a.pdf", pdf_bytes()), applicant)
    assert materials.material_upload(case, diagnosis, upload("a.pdf", pdf_bytes()), clerk).uploaded_by == clerk


def test_an_item_of_another_case_type_is_refused(case, clerk):
    review_only = MaterialType.objects.get(committee=None, case_type=CaseType.REVIEW, code="previous_conclusion")
    with pytest.raises(ValidationFailed) as refused:
        materials.material_upload(case, review_only, upload("a.pdf", pdf_bytes()), clerk)
    assert refused.value.code == "material_type_mismatch"


def test_no_url_serves_the_stored_files(case, clerk):
    material = materials.material_upload(case, item(case, "diagnosis"), upload("d.pdf", pdf_bytes()), clerk)
    for url in (f"/media/{material.file.name}", f"/materials/{material.file.name}", f"/{material.file.name}"):
        with pytest.raises(Resolver404):
            resolve(url)
    with pytest.raises(NotImplementedError):
        material.file.url  # noqa: B018 - the property raises


# DOWNLOAD -----------------------------------------------------------------------------------------


@pytest.fixture
def material(case, applicant):
    return materials.material_upload(case, item(case, "medical_records"), upload("病历 第1页.pdf", pdf_bytes()),
                                      applicant)


def download_url(material) -> str:
    return reverse("cases:material_download", args=[material.case_id, material.pk])


@pytest.mark.parametrize("who", ["applicant", "clerk", "panel_expert"])
def test_the_owner_the_clerk_and_the_panel_download_as_an_attachment(client, material, applicant, clerk, who):
    user = {"applicant": applicant, "clerk": clerk}.get(who)
    if who == "panel_expert":
        user = UserFactory(roles=["expert"], committee=material.case.committee)
        CaseAssignment.objects.create(case=material.case, user=user, role=CaseAssignment.Role.EXPERT)
    client.force_login(user)
    response = client.get(download_url(material))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E7%97%85%E5%8E%86%20%E7%AC%AC1%E9%A1%B5.pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == material.file.open("rb").read()


@pytest.mark.parametrize("who", ["other_committee_clerk", "expert_not_on_panel", "archivist", "other_applicant"])
def test_others_get_not_found(client, material, who):
    committee = material.case.committee
    user = {
        "other_committee_clerk": lambda: UserFactory(roles=["clerk"], committee=CommitteeFactory()),
        "expert_not_on_panel": lambda: UserFactory(roles=["expert"], committee=committee),
        "archivist": lambda: UserFactory(roles=["archivist"], committee=committee),  # sees the case, not medical files
        "other_applicant": lambda: UserFactory(roles=["applicant"], committee=None),
    }[who]()
    client.force_login(user)
    assert client.get(download_url(material)).status_code == 404
    assert AuditEvent.objects.filter(action="read_sensitive", object_type="cases.material").count() == 0


def test_a_material_is_only_found_under_its_own_case(client, material, clerk, committee):
    other_case = CaseFactory(committee=committee)
    client.force_login(clerk)
    assert client.get(reverse("cases:material_download", args=[other_case.pk, material.pk])).status_code == 404


def test_anonymous_users_are_sent_to_login(client, material):
    url = download_url(material)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_each_download_is_in_the_audit_trail(client, material, clerk):
    client.force_login(clerk)
    client.get(download_url(material), REMOTE_ADDR="10.1.2.3")
    client.get(download_url(material), REMOTE_ADDR="10.1.2.3")
    events = AuditEvent.objects.filter(action="read_sensitive", object_type="cases.material").order_by("seq")
    assert [(e.actor_id, e.object_id, e.after, e.ip_address, e.committee_id) for e in events] == [
        (clerk.pk, str(material.pk), {"fields": ["file"]}, "10.1.2.3", material.case.committee_id)
    ] * 2


# THE COMPLETENESS CHECK ON THE CASE PAGE ----------------------------------------------------------


def test_the_clerk_marks_items_and_the_correction_notice_is_prefilled(client, case, clerk):
    client.force_login(clerk)
    application, diagnosis, records = item(case, "application_form"), item(case, "diagnosis"), \
        item(case, "medical_records")
    id_card, determination = item(case, "id_card"), item(case, "injury_determination")
    response = client.post(reverse("cases:material_check", args=[case.pk]), {
        f"status-{application.pk}": "present",
        f"status-{determination.pk}": "present",
        f"status-{diagnosis.pk}": "missing", f"note-{diagnosis.pk}": "需医院盖章",
        f"status-{records.pk}": "unreadable", f"note-{records.pk}": "第3页模糊",
    })
    assert response.status_code == 303
    assert response["Location"] == reverse("cases:detail", args=[case.pk]) + "#materials"
    assert {(c.material_type.code, c.status, c.note, c.checked_by) for c in MaterialCheck.objects.all()} == {
        ("application_form", "present", "", clerk),
        ("injury_determination", "present", "", clerk),
        ("diagnosis", "missing", "需医院盖章", clerk),
        ("medical_records", "unreadable", "第3页模糊", clerk),
    }
    assert AuditEvent.objects.filter(action="material.check").count() == 4
    assert TimelineEntry.objects.filter(case=case, action="material_check").count() == 1

    with translation.override("en"):
        page = client.get(reverse("cases:detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")
        expected = (
            "Please supply the following materials and resubmit the application:\n"
            "1. 诊断证明书 (missing): 需医院盖章\n"
            "2. 病历资料 (unreadable): 第3页模糊\n"
            f"3. {id_card.name} (missing)"
        )
    assert page.context["correction_note"] == expected
    assert f'required>{expected}</textarea>' in page.content.decode()


def test_the_check_is_refused_once_the_case_is_accepted(case, clerk):
    case.status = Status.ACCEPTED
    case.save()
    with pytest.raises(ValidationFailed) as refused:
        materials.material_check(case, item(case, "diagnosis"), MaterialStatus.PRESENT, "", clerk)
    assert refused.value.code == "material_check_state"


def test_an_applicant_cannot_check(case, applicant):
    with pytest.raises(PermissionDeniedError):
        materials.material_check(case, item(case, "diagnosis"), MaterialStatus.PRESENT, "", applicant)


def test_files_after_the_correction_notice_are_marked_new(client, case, clerk, applicant):
    records = item(case, "medical_records")
    first = materials.material_upload(case, records, upload("p1.pdf", pdf_bytes()), applicant)
    materials.material_check(case, records, MaterialStatus.UNREADABLE, "模糊", clerk)
    services.transition(case.pk, "request_correction", actor=clerk, note="请补正病历")
    second = materials.material_upload(case, records, upload("p1-again.pdf", pdf_bytes()), applicant)
    services.transition(case.pk, "resubmit", actor=applicant)

    client.force_login(clerk)
    page = client.get(reverse("cases:detail", args=[case.pk]))
    [row] = [row for row in page.context["checklist"] if row.material_type == records]
    assert [(m.pk, m.is_new, m.superseded) for m in row.materials] == [
        (first.pk, False, True), (second.pk, True, False),
    ]
    html = page.content.decode()
    assert html.count('class="badge badge-new"') == 1


def test_the_upload_form_saves_through_the_case_page(client, case, applicant):
    client.force_login(applicant)
    records = item(case, "medical_records")
    response = client.post(reverse("cases:material_upload", args=[case.pk]), {
        "material_type": records.pk, "file": [upload("a.pdf", pdf_bytes()), upload("b.png", png_bytes())],
    })
    assert response.status_code == 303
    assert [(m.original_name, m.content_type) for m in Material.objects.order_by("id")] == [
        ("a.pdf", "application/pdf"), ("b.png", "image/png"),
    ]


def test_a_refused_upload_shows_its_message_on_the_case_page(client, case, applicant):
    client.force_login(applicant)
    with translation.override("en"):
        response = client.post(reverse("cases:material_upload", args=[case.pk]), {
            "material_type": item(case, "diagnosis").pk, "file": upload("x.pdf", b"<html><script>1</script>"),
        }, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert [str(m) for m in response.context["messages"]] == [
        "The file “x.pdf” is a program, script or web page, not a document, whatever its name says. "
        "Only PDF, JPEG and PNG files are accepted."
    ]
    assert Material.objects.count() == 0


def test_staff_without_medical_access_see_the_checklist_but_no_file_names(client, material, committee):
    archivist = UserFactory(roles=["archivist"], committee=committee)
    client.force_login(archivist)
    html = client.get(reverse("cases:detail", args=[material.case_id])).content.decode()
    assert "病历 第1页.pdf" not in html
    assert download_url(material) not in html
    assert "病历资料" in html
