"""SEC-60: keeping a video of a remote appraisal rests on the worker's consent. The consent is on
record (who, when, which text), and a video without it is refused with 403 and audited."""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from laojian.core import purposes
from laojian.core.errors import PermissionDeniedError
from laojian.core.models import AuditEvent
from laojian.sittings import day, records
from laojian.sittings.models import ExaminationRecord
from laojian.sittings.tests.test_records import MP4, png_bytes, stored_files
from laojian.sittings.tests.test_remote import remote_booked

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def location(settings, tmp_path):
    settings.LAOJIAN_VIDEO_BASE_URL = "https://video.example-committee.test/"
    settings.LAOJIAN_VIDEO_PROVIDER = "laojian.sittings.video.JitsiRooms"
    settings.STORAGES = {**settings.STORAGES, "materials": {
        "BACKEND": settings.STORAGES["materials"]["BACKEND"], "OPTIONS": {"location": str(tmp_path / "m")}}}
    return tmp_path / "m"


def consent(appointment, clerk, answer: bool) -> None:
    day.remote_record(appointment.pk, actor=clerk, local_doctor="王医生", local_findings="右腕背伸30°",
                      recording_consent=answer)


def test_the_consent_is_recorded_with_who_when_and_the_text_read():
    case, appointment, clerk, expert = remote_booked()
    consent(appointment, clerk, True)
    appointment.refresh_from_db()
    assert appointment.consent_recorded_by == clerk and appointment.consent_recorded_at is not None
    assert appointment.consent_text_version == purposes.consent_text("remote_recording")[0]


def test_the_page_reads_out_the_current_consent_text(client):
    case, appointment, clerk, expert = remote_booked()
    client.force_login(clerk)
    with translation.override("en"):
        page = client.get(reverse("sittings:remote_record", args=[appointment.pk]), HTTP_ACCEPT_LANGUAGE="en")
        version, text = purposes.consent_text("remote_recording")
        assert html.escape(str(text)) in page.content.decode()
    assert f"(text {version})" in page.content.decode()


def test_a_video_of_a_remote_appraisal_is_kept_with_consent():
    case, appointment, clerk, expert = remote_booked()
    consent(appointment, clerk, True)
    record = records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="call.mp4",
                                   appointment_id=appointment.pk)
    assert record.content_type == "video/mp4"


@pytest.mark.parametrize("answer", [False, None], ids=["refused", "not-asked"])
def test_a_video_without_consent_is_refused_and_audited(answer, location):
    case, appointment, clerk, expert = remote_booked()
    if answer is not None:
        consent(appointment, clerk, answer)
    with pytest.raises(PermissionDeniedError):
        records.record_upload(case.pk, records.spooled(MP4), actor=clerk, name="call.mp4",
                              appointment_id=appointment.pk)
    assert not ExaminationRecord.objects.exists() and stored_files(location) == []
    event = AuditEvent.objects.get(action="consent.refused")
    assert (event.actor_id, event.object_id) == (clerk.pk, str(appointment.pk))
    assert event.after == {"purpose": "remote_recording", "consent": answer}


def test_a_photo_of_a_remote_appraisal_needs_no_consent():
    case, appointment, clerk, expert = remote_booked()
    consent(appointment, clerk, False)
    record = records.record_upload(case.pk, records.spooled(png_bytes()), actor=clerk, name="wrist.png",
                                   appointment_id=appointment.pk)
    assert record.content_type == "image/png"


def test_the_upload_page_answers_403_with_the_reason(client):
    case, appointment, clerk, expert = remote_booked()
    consent(appointment, clerk, False)
    client.force_login(clerk)
    response = client.post(reverse("sittings:records", args=[case.pk]), {
        "record-file": SimpleUploadedFile("call.mp4", MP4, content_type="video/mp4"), "record-description": ""},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "consent" in response.content.decode()
    assert AuditEvent.objects.filter(action="consent.refused").count() == 1
