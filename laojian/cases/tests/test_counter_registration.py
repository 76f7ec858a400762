"""A clerk registers an application at the counter for someone."""

import datetime as dt

import pytest

from laojian.cases.models import Case, Status
from laojian.core import notices
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_credit_code, build_resident_id

pytestmark = pytest.mark.django_db


def form_data(committee, **overrides):
    data = {
        "committee": committee.pk, "case_type": "initial", "applicant_kind": "employer",
        "applicant_name": "聊城某公司", "mode": "home", "mode_reason": "高位截瘫，卧床",
        "worker_name": "王五", "worker_id_number": build_resident_id("371502", dt.date(1979, 6, 1), 33),
        "worker_phone": "", "worker_address": "", "worker_county": "莘县", "employer_name": "聊城某公司",
        "employer_credit_code": build_credit_code("91371500MA3C00003"),
        "determination_number": "聊人社工伤认字〔2026〕00888号", "injury_date": "2026-02-02",
        "determination_date": "2026-04-06", "injured_parts": "脊柱", "diagnosis": "胸椎骨折伴截瘫",
        "token": "b" * 32, "notice_version": notices.current().version, "notice_acknowledged": "on",
    }
    data.update(overrides)
    return data


def test_the_clerk_registers_an_application_with_the_reason_for_a_home_visit(client):
    committee = CommitteeFactory()
    clerk = UserFactory(committee=committee, roles=["clerk"])
    client.force_login(clerk)
    response = client.post("/cases/register/", form_data(committee))
    case = Case.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/cases/{case.pk}/"
    assert (case.status, case.mode, case.mode_reason) == (Status.SUBMITTED, "home", "高位截瘫，卧床")
    assert case.timeline.get(action="register").actor == clerk


def test_a_double_click_at_the_counter_registers_one_case(client):
    committee = CommitteeFactory()
    client.force_login(UserFactory(committee=committee, roles=["clerk"]))
    client.post("/cases/register/", form_data(committee))
    client.post("/cases/register/", form_data(committee))
    assert Case.objects.count() == 1


def test_a_reviewer_cannot_register(client):
    committee = CommitteeFactory()
    client.force_login(UserFactory(committee=committee, roles=["reviewer"]))
    assert client.get("/cases/register/").status_code == 404


def test_a_clerk_registers_for_their_own_committee_only(client):
    ours, theirs = CommitteeFactory(), CommitteeFactory()
    client.force_login(UserFactory(committee=ours, roles=["clerk"]))
    response = client.post("/cases/register/", form_data(theirs))
    assert "committee" in response.context["form"].errors
    assert Case.objects.count() == 0
