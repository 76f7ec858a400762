"""Applying online: validation next to each field, drafts kept, one case per submission."""

import datetime as dt

import pytest

from laojian.cases.models import Case, Status
from laojian.core import notices
from laojian.core.tests.factories import CommitteeFactory
from laojian.core.validators import build_credit_code, build_resident_id
from laojian.portal import services
from laojian.portal.models import ApplicationDraft

pytestmark = pytest.mark.django_db

ID = build_resident_id("371502", dt.date(1985, 3, 4), 17)
CODE = build_credit_code("91371500MA3C00002")


def form_data(**overrides):
    data = {
        "case_type": "initial", "applicant_kind": "worker", "applicant_name": "", "mode": "sitting",
        "mode_reason": "", "worker_name": "李四", "worker_id_number": ID, "worker_phone": "13900000000",
        "worker_address": "聊城市东昌府区", "worker_county": "东昌府区", "employer_name": "聊城某公司",
        "employer_credit_code": CODE, "determination_number": "聊人社工伤认字〔2026〕00777号",
        "injury_date": "2026-03-02", "determination_date": "2026-05-06", "injured_parts": "左腿",
        "diagnosis": "左胫骨骨折", "token": "a" * 32,
        "notice_version": notices.current().version, "notice_acknowledged": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def applicant(client):
    committee = CommitteeFactory(case_number_prefix="聊劳鉴")
    user = services.applicant_for_phone("13900000000")
    client.force_login(user)
    return user, committee


def test_the_form_saves_a_draft_application_to_complete_with_materials(client, applicant):
    user, committee = applicant
    response = client.post("/portal/apply/", form_data(committee=committee.pk))
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert (case.status, case.applicant_user, case.committee, case.number) == (Status.DRAFT, user, committee, None)


def test_the_applicant_submits_once_the_required_materials_are_uploaded(client, applicant, settings, tmp_path):
    from laojian.cases import materials, selectors
    from laojian.cases import services as case_services
    from laojian.cases.tests.test_materials import pdf_bytes, seed_checklists, upload
    from laojian.cases.workflow import TransitionRefused

    settings.STORAGES = {**settings.STORAGES, "materials": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    seed_checklists()
    user, committee = applicant
    client.post("/portal/apply/", form_data(committee=committee.pk))
    case = Case.objects.get()
    with pytest.raises(TransitionRefused) as exc:
        case_services.transition(case.pk, "submit", actor=user)
    assert exc.value.code == "materials_missing"
    required = [mt for mt in selectors.checklist_for(case) if mt.required]
    materials.materials_upload(case, [materials.Upload(mt, upload(f"{mt.code}.pdf", pdf_bytes())) for mt in required],
                               user)
    case_services.transition(case.pk, "submit", actor=user)
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    assert case.number.startswith("聊劳鉴〔")


def test_a_double_submit_creates_one_case(client, applicant):
    _user, committee = applicant
    first = client.post("/portal/apply/", form_data(committee=committee.pk))
    second = client.post("/portal/apply/", form_data(committee=committee.pk))
    assert Case.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_the_draft_is_gone_once_submitted(client, applicant):
    user, committee = applicant
    client.post("/portal/apply/draft/", {"worker_name": "李四"})
    assert ApplicationDraft.objects.get(user=user).data == {"worker_name": "李四"}
    client.post("/portal/apply/", form_data(committee=committee.pk))
    assert not ApplicationDraft.objects.filter(user=user).exists()


def test_a_closed_browser_loses_nothing(client, applicant):
    user, _committee = applicant
    client.post("/portal/apply/draft/", {"worker_name": "李四", "injured_parts": "左腿", "csrfmiddlewaretoken": "x"})
    response = client.get("/portal/apply/")
    assert response.context["form"].initial == {"worker_name": "李四", "injured_parts": "左腿"}


@pytest.mark.parametrize(("field", "value"), [
    ("worker_id_number", ID[:17] + ("0" if ID[17] != "0" else "1")),
    ("employer_credit_code", "91371500MA3C0000IX"),
    ("worker_phone", "12345"),
    ("injury_date", "2099-01-01"),
    ("determination_date", "2026-01-01"),
    ("diagnosis", "骨" * 2001),
])
def test_each_bad_field_gets_its_message_and_nothing_is_saved(client, applicant, field, value):
    _user, committee = applicant
    response = client.post("/portal/apply/", form_data(committee=committee.pk, **{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Case.objects.count() == 0


def test_a_home_visit_needs_a_reason(client, applicant):
    _user, committee = applicant
    response = client.post("/portal/apply/", form_data(committee=committee.pk, mode="home"))
    assert "mode_reason" in response.context["form"].errors


def test_html_and_sql_are_kept_as_text(client, applicant):
    _user, committee = applicant
    nasty = "<script>alert(1)</script>'--"
    client.post("/portal/apply/", form_data(committee=committee.pk, worker_name=nasty,
                                            diagnosis="'; DROP TABLE cases_case;--"))
    case = Case.objects.get()
    assert case.worker.name == nasty
    assert case.determination.diagnosis == "'; DROP TABLE cases_case;--"
    page = client.get("/portal/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_staff_cannot_use_the_applicant_pages(client):
    from laojian.core.tests.factories import UserFactory

    client.force_login(UserFactory(roles=["reviewer"]))
    assert client.get("/portal/apply/").status_code == 404


def test_anonymous_is_sent_to_the_sign_in(client):
    response = client.get("/portal/apply/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/sign-in/")


def test_a_home_visit_with_its_reason_is_kept(client, applicant):
    _user, committee = applicant
    client.post("/portal/apply/", form_data(committee=committee.pk, mode="remote", mode_reason="卧床无法出行"))
    case = Case.objects.get()
    assert (case.mode, case.mode_reason) == ("remote", "卧床无法出行")
