"""Remote appraisal (远程鉴定): booked with a video room from the configured server, the local
doctor's findings and the worker's recording consent, the examination recorded; who sees the room."""

from __future__ import annotations

import datetime as dt

import pytest
from django import template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from laojian.cases.models import CaseAssignment, Mode, Status
from laojian.core.errors import ValidationFailed
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.sittings import day, visits
from laojian.sittings.models import Appointment
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db

BASE = "https://video.example-committee.test/"


@pytest.fixture(autouse=True)
def _video_server(settings):
    settings.LAOJIAN_VIDEO_BASE_URL = BASE
    settings.LAOJIAN_VIDEO_PROVIDER = "laojian.sittings.video.JitsiRooms"


def remote_booked(**case_kwargs):
    committee = CommitteeFactory()
    expert = expert_of(committee)
    case = reviewed_case(committee, mode=Mode.REMOTE, experts=[expert], **case_kwargs)
    clerk = clerk_of(committee)
    start = at(workday(7), 10)
    appointment = visits.visit_book(
        case.pk, Booking(mode=Mode.REMOTE, starts_at=start, ends_at=start + dt.timedelta(minutes=45),
                         local_doctor="王医生（新疆喀什地区第一人民医院）"), actor=clerk)
    return case, appointment, clerk, expert


def test_the_video_room_comes_from_the_configured_server():
    case, appointment, clerk, expert = remote_booked()
    assert appointment.video_room.startswith(BASE + "laojian-")
    assert appointment.local_doctor.startswith("王医生")


def test_a_remote_booking_needs_the_local_doctor():
    committee = CommitteeFactory()
    case = reviewed_case(committee, mode=Mode.REMOTE, experts=[expert_of(committee)])
    start = at(workday(7), 10)
    with pytest.raises(ValidationFailed) as exc:
        visits.visit_book(case.pk, Booking(mode=Mode.REMOTE, starts_at=start, ends_at=start + dt.timedelta(hours=1)),
                          actor=clerk_of(committee))
    assert exc.value.code == "no_local_doctor"
    assert not Appointment.objects.exists()


def test_remote_end_to_end_findings_and_consent_then_examined(client):
    case, appointment, clerk, expert = remote_booked()
    client.force_login(clerk)
    page = client.get(reverse("sittings:remote_record", args=[appointment.pk]))
    assert page.status_code == 200
    assert appointment.video_room.encode() in page.content
    response = client.post(reverse("sittings:remote_record", args=[appointment.pk]), {
        "record-local_doctor": "王医生", "record-local_findings": "右腕关节活动受限，背伸30°",
        "record-recording_consent": "yes"})
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert appointment.recording_consent is True
    assert appointment.consent_recorded_at is not None
    day.examination_done(appointment.pk, actor=clerk, at=appointment.starts_at)
    case.refresh_from_db()
    assert case.status == Status.EXAMINED


def test_save_and_examined_in_one_step_from_the_page(client):
    case, appointment, clerk, expert = remote_booked()
    client.force_login(clerk)
    # the page records "examined" only on the appointment's day: move the appointment's clock to today
    Appointment.objects.filter(pk=appointment.pk).update(starts_at=at(timezone.localdate(), 0, 1),
                                                         ends_at=at(timezone.localdate(), 23, 59))
    response = client.post(reverse("sittings:remote_record", args=[appointment.pk]), {
        "record-local_doctor": "王医生", "record-local_findings": "见附件", "record-recording_consent": "no",
        "examined": "1"})
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.EXAMINED
    assert appointment.recording_consent is False


def test_consent_missing_is_refused_on_the_page(client):
    case, appointment, clerk, expert = remote_booked()
    client.force_login(clerk)
    response = client.post(reverse("sittings:remote_record", args=[appointment.pk]), {
        "record-local_doctor": "王医生", "record-local_findings": "右腕关节活动受限"})
    assert response.status_code == 400
    assert "recording_consent" in response.context["form"].errors
    appointment.refresh_from_db()
    assert appointment.recording_consent is None
    assert appointment.local_findings == ""


def test_the_examination_is_not_recorded_without_consent():
    case, appointment, clerk, expert = remote_booked()
    with pytest.raises(ValidationFailed) as exc:
        day.examination_done(appointment.pk, actor=clerk, at=appointment.starts_at)
    assert exc.value.code == "consent_missing"


def test_the_panel_expert_sees_the_room_among_their_upcoming_ones():
    case, appointment, clerk, expert = remote_booked()
    assert list(visits.remote_rooms_of(expert.user)) == [appointment]


def test_an_expert_not_on_the_panel_sees_no_room(client):
    case, appointment, clerk, expert = remote_booked()
    other = expert_of(case.committee)
    assert list(visits.remote_rooms_of(other.user)) == []
    client.force_login(other.user)
    assert client.get(reverse("sittings:remote_record", args=[appointment.pk])).status_code == 404


def test_the_applicant_never_sees_the_room(client):
    case, appointment, clerk, expert = remote_booked()
    applicant = UserFactory(roles=["applicant"])
    case.applicant_user = applicant
    case.save(update_fields=["applicant_user"])
    CaseAssignment.objects.filter(case=case, user=applicant).delete()
    assert list(visits.remote_rooms_of(applicant)) == []
    client.force_login(applicant)
    assert client.get(reverse("sittings:remote_record", args=[appointment.pk])).status_code == 404


def test_another_committees_clerk_gets_404(client):
    case, appointment, clerk, expert = remote_booked()
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:remote_record", args=[appointment.pk])).status_code == 404
    assert client.get(reverse("sittings:case_remote", args=[case.pk])).status_code == 404


def test_the_panel_expert_records_the_findings_from_the_page(client):
    case, appointment, clerk, expert = remote_booked()
    client.force_login(expert.user)
    response = client.post(reverse("sittings:remote_record", args=[appointment.pk]), {
        "record-local_doctor": "王医生", "record-local_findings": "正常", "record-recording_consent": "yes"})
    assert response.status_code == 303


def test_booking_from_the_page_goes_to_the_remote_record(client):
    committee = CommitteeFactory()
    case = reviewed_case(committee, mode=Mode.REMOTE, experts=[expert_of(committee)])
    clerk = clerk_of(committee)
    client.force_login(clerk)
    response = client.post(reverse("sittings:case_remote", args=[case.pk]), {
        "remote-date": workday(7).isoformat(), "remote-start": "10:00", "remote-end": "10:45",
        "remote-doctor_name": "王医生", "remote-doctor_hospital": "喀什地区第一人民医院"})
    assert response.status_code == 303
    appointment = Appointment.objects.get(case=case)
    assert response["Location"] == reverse("sittings:remote_record", args=[appointment.pk])
    assert appointment.video_room.startswith(BASE)
    assert appointment.local_doctor == "王医生（喀什地区第一人民医院）"


# The workbench's box: ``visits.my_remote_rooms`` registered as an inclusion tag (as sittings_tags does).
register = template.Library()
register.inclusion_tag("sittings/remote/_my_rooms.html", takes_context=True)(visits.my_remote_rooms)


def render_box(user) -> str:
    engine = template.Engine(app_dirs=True, builtins=[__name__], libraries={"i18n": "django.templatetags.i18n"})
    request = RequestFactory().get("/experts/me/")
    request.user = user
    return engine.from_string("{% my_remote_rooms %}").render(template.Context({"request": request}))


def test_the_workbench_box_links_the_panel_experts_room():
    case, appointment, clerk, expert = remote_booked()
    html = render_box(expert.user)
    assert appointment.video_room in html
    assert reverse("sittings:remote_record", args=[appointment.pk]) in html


def test_the_workbench_box_is_empty_for_another_expert():
    case, appointment, clerk, expert = remote_booked()
    html = render_box(expert_of(case.committee).user)
    assert appointment.video_room not in html
    assert "my-remote-rooms" not in html
