"""Individuals' rights requests (SEC-65): a copy of the worker's personal data and a correction of their
details, answered by clerks and leaders from the case page, each audited with the staff member's reason."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from laojian.cases.models import Material, MaterialType, Worker
from laojian.cases.tests.factories import CaseFactory
from laojian.core import notices
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_resident_id
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db

REASON = "本人持身份证到窗口申请"
NEW_ID = build_resident_id("371502", dt.date(1981, 2, 3), 45)


@pytest.fixture
def case():
    return CaseFactory(number="聊劳鉴〔2026〕0042号", notice_version=notices.current().version,
                       notice_acknowledged_at=timezone.now())


@pytest.fixture
def clerk(case):
    return UserFactory(committee=case.committee, roles=["clerk"])


def export(client, case, reason=REASON):
    return client.post(f"/cases/{case.pk}/rights/copy/", {"reason": reason})


def correct(client, case, **data):
    return client.post(f"/cases/{case.pk}/rights/correction/",
                       {"field": "name", "value": "李四", "outcome": "corrected", "reason": REASON, **data})


# THE COPY ------------------------------------------------------------------------------------------

def test_the_copy_holds_the_worker_record_decrypted(client, case, clerk):
    client.force_login(clerk)
    response = export(client, case)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    worker = json.loads(response.content)["worker"]
    assert (worker["name"], worker["id_number"], worker["phone"]) == (case.worker.name, case.worker.id_number,
                                                                      "13800000000")


def test_the_copy_lists_the_cases_materials_conclusion_notifications_and_notice(client, case, clerk):
    from laojian.grading.models import Conclusion, Edition

    material_type = MaterialType.objects.create(committee=case.committee, case_type=case.case_type,
                                                code="rights-test", name="身份证")
    Material.objects.create(case=case, material_type=material_type, file="ab/abc.pdf", original_name="身份证正面.pdf",
                            content_type="application/pdf", size=10, sha256="0" * 64, uploaded_by=clerk,
                            uploaded_at=timezone.now())
    edition, _created = Edition.objects.get_or_create(code="GB/T 16180-2014")
    Conclusion.objects.create(case=case, committee=case.committee, edition=edition, grade=7, number="结论0042",
                              state=Conclusion.State.APPROVED, approved_at=timezone.now())
    Notification.objects.create(committee=case.committee, case=case, channel="sms", recipient=case.worker.phone,
                                template="t", text="您的鉴定申请已受理", key="rights-1")
    Notification.objects.create(committee=case.committee, case=case, channel="sms", recipient="13900000001",
                                template="t", text="致用人单位的短信", key="rights-2")
    client.force_login(clerk)
    data = json.loads(export(client, case).content)
    (copied,) = data["cases"]
    assert copied["number"] == "聊劳鉴〔2026〕0042号"
    assert copied["injury"]["diagnosis"] == "右手示指末节离断伤"
    assert [m["file_name"] for m in copied["materials"]] == ["身份证正面.pdf"]
    assert (copied["conclusion"]["grade"], copied["conclusion"]["number"]) == (7, "结论0042")
    assert copied["personal_information_notice"]["version"] == notices.current().version
    assert [n["text"] for n in data["notifications"]] == ["您的鉴定申请已受理"]


def test_the_copy_is_audited_with_the_reason(client, case, clerk):
    client.force_login(clerk)
    export(client, case)
    event = AuditEvent.objects.get(action="worker.data_copy")
    assert (event.actor_id, event.object_type, event.object_id) == (clerk.pk, "cases.worker", str(case.worker_id))
    assert (event.after["reason"], event.after["case_id"], event.committee_id) == (REASON, case.pk, case.committee_id)
    assert case.worker.id_number not in json.dumps(event.after, ensure_ascii=False)


def test_the_copy_needs_a_reason(client, case, clerk):
    client.force_login(clerk)
    response = export(client, case, reason="  ")
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["reason"]
    assert not AuditEvent.objects.filter(action="worker.data_copy").exists()


def test_a_leader_may_hand_out_a_copy(client, case):
    client.force_login(UserFactory(committee=case.committee, roles=["leader"]))
    assert export(client, case).status_code == 200


# CORRECTIONS ---------------------------------------------------------------------------------------

def test_a_correction_changes_the_record_and_the_audit_keeps_the_old_value_and_the_reason(client, case, clerk):
    old_name = case.worker.name
    client.force_login(clerk)
    response = correct(client, case, version=case.worker.version)
    assert response.status_code == 303
    worker = Worker.objects.get(pk=case.worker_id)
    assert (worker.name, worker.version) == ("李四", 2)
    event = AuditEvent.objects.get(action="worker.correction")
    assert (event.before, event.after) == ({"name": old_name}, {"name": "李四", "reason": REASON, "case_id": case.pk})


def test_a_corrected_id_number_sets_birth_date_and_is_masked_in_the_audit(client, case, clerk):
    old_number = case.worker.id_number
    client.force_login(clerk)
    correct(client, case, field="id_number", value=NEW_ID)
    worker = Worker.objects.get(pk=case.worker_id)
    assert (worker.id_number, worker.birth_date) == (NEW_ID, dt.date(1981, 2, 3))
    assert Worker.objects.get(id_number_index=Worker.index_of(NEW_ID)) == worker
    event = AuditEvent.objects.get(action="worker.correction")
    assert event.before["id_number"] == old_number[:4] + "*" * 10 + old_number[-4:]
    assert event.after["id_number"] == NEW_ID[:4] + "*" * 10 + NEW_ID[-4:]


def test_a_refused_correction_changes_nothing_and_is_audited(client, case, clerk):
    old_name = case.worker.name
    client.force_login(clerk)
    correct(client, case, outcome="refused", reason="户口簿所载姓名与系统一致")
    assert Worker.objects.get(pk=case.worker_id).name == old_name
    event = AuditEvent.objects.get(action="worker.correction_refused")
    assert event.after["reason"] == "户口簿所载姓名与系统一致"


def test_a_correction_filled_in_against_an_older_version_is_refused(client, case, clerk):
    Worker.objects.filter(pk=case.worker_id).update(version=3)
    client.force_login(clerk)
    response = correct(client, case, version=2)
    assert response.status_code == 409
    assert Worker.objects.get(pk=case.worker_id).name == case.worker.name
    assert not AuditEvent.objects.filter(action="worker.correction").exists()


def test_a_wrong_phone_number_is_refused_next_to_the_field(client, case, clerk):
    client.force_login(clerk)
    response = correct(client, case, field="phone", value="12345")
    assert list(response.context["form"].errors) == ["value"]
    assert Worker.objects.get(pk=case.worker_id).phone == "13800000000"


# WHO MAY --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["copy", "correction"])
@pytest.mark.parametrize(("who", "status"), [("auditor", 403), ("reviewer", 403), ("applicant", 403),
                                              ("other_committee", 404)])
def test_others_cannot_reach_the_rights_pages(client, case, url, who, status):
    if who == "applicant":
        user = UserFactory(roles=["applicant"])
        case.applicant_user = user
        case.save(update_fields=["applicant_user"])
    elif who == "other_committee":
        user = UserFactory(committee=CommitteeFactory(), roles=["clerk", "leader"])
    else:
        user = UserFactory(committee=case.committee, roles=[who])
    client.force_login(user)
    assert client.get(f"/cases/{case.pk}/rights/{url}/").status_code == status
    assert client.post(f"/cases/{case.pk}/rights/{url}/", {"field": "name", "value": "李四", "outcome": "corrected",
                                                           "reason": REASON}).status_code == status
    assert Worker.objects.get(pk=case.worker_id).name == case.worker.name
    assert not AuditEvent.objects.filter(action__startswith="worker.").exists()


def test_the_case_page_links_the_rights_pages_for_the_clerk_only(client, case, clerk):
    client.force_login(clerk)
    assert f"/cases/{case.pk}/rights/copy/" in client.get(f"/cases/{case.pk}/").content.decode()
    client.force_login(UserFactory(committee=case.committee, roles=["auditor"]))
    assert f"/cases/{case.pk}/rights/copy/" not in client.get(f"/cases/{case.pk}/").content.decode()
