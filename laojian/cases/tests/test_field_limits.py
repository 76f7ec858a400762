"""Field-level limits (issue 10, SEC-03/SEC-62) on the liaison's pages and on the list pages.

The liaison (协查联络员) works the cross-checks: their pages never show the experts' opinions, the
diagnosis of the injury determination, the full ID number or a phone number. Lists (worklist,
queues, drill-down lists) show ID numbers masked, 3701**********123X, and no phone number, whoever
reads them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from laojian.cases.models import Case, CaseAssignment, Status
from laojian.cases.tests.factories import (
    CaseFactory,
    EmployerFactory,
    InjuryDeterminationFactory,
    WorkerFactory,
)
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_resident_id, mask_id_number, mask_phone
from laojian.crosscheck.models import Flag
from laojian.grading.tests.factories import signed_opinion

pytestmark = pytest.mark.django_db

ID_NUMBER = build_resident_id("370102", dt.date(1979, 2, 3), 555)
WORKER_PHONE = "13955501234"
CONTACT_PHONE = "13644409876"
DIAGNOSIS = "腰椎压缩性骨折列表限制测试诊断"
INJURED_PARTS = "腰背列表限制部位"
OPINION_BASIS = "列表限制测试专家意见依据"
OPINION_FINDING = "列表限制测试专家所见"
SECRETS = (ID_NUMBER, WORKER_PHONE, CONTACT_PHONE, DIAGNOSIS, INJURED_PARTS, OPINION_BASIS, OPINION_FINDING)


def assert_clean(html: str) -> None:
    for secret in SECRETS:
        assert secret not in html, secret


@pytest.fixture
def committee():
    return CommitteeFactory()


@pytest.fixture
def worker():
    return WorkerFactory(id_number=ID_NUMBER, phone=WORKER_PHONE, name="字段限制工人")


def make_case(committee, worker, seq: int, status: str, **kwargs) -> Case:
    determination = InjuryDeterminationFactory(
        worker=worker, employer=EmployerFactory(contact_name="李主任", contact_phone=CONTACT_PHONE),
        diagnosis=DIAGNOSIS, injured_parts=INJURED_PARTS)
    return CaseFactory(committee=committee, determination=determination, status=status, year=2026, seq=seq,
                       number=committee.format_case_number(2026, seq), received_on=dt.date(2026, 11, 2), **kwargs)


@pytest.fixture
def examined(committee, worker):
    """An examined case with a signed opinion and an open cross-check flag."""
    case = make_case(committee, worker, 1, Status.EXAMINED)
    expert = UserFactory(committee=None, roles=["expert"])
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT, active=True)
    signed_opinion(case, expert, basis=OPINION_BASIS, findings=[("腰背", OPINION_FINDING)])
    now = timezone.now()
    Flag.objects.create(case=case, committee=committee, rule=Flag.Rule.NO_SETTLEMENT, fingerprint="field-limits",
                        hospital_name="聊城市人民医院", found_at=now, last_seen_at=now)
    return case


def get(client, name: str, *args) -> str:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


def test_the_liaisons_pages_show_no_opinion_diagnosis_full_id_or_phone(client, committee, examined):
    client.force_login(UserFactory(roles=["liaison"], committee=committee))
    flag = examined.flags.get()
    pages = {
        "case page": get(client, "cases:detail", examined.pk),
        "cross-checks": get(client, "crosscheck:case", examined.pk),
        "claimed care": get(client, "crosscheck:claimed", examined.pk),
        "flag": get(client, "crosscheck:flag", flag.pk),
        "queue": get(client, "crosscheck:queue"),
        "documents": get(client, "documents:case", examined.pk),
    }
    for html in pages.values():
        assert_clean(html)
    assert examined.worker.name in pages["queue"]
    assert mask_id_number(ID_NUMBER) in pages["case page"]
    assert mask_phone(WORKER_PHONE) in pages["case page"]
    # The panel's opinions are not the liaison's to read at all.
    assert client.get(reverse("grading:case", args=[examined.pk])).status_code == 404


@pytest.mark.parametrize("role", ["clerk", "reviewer", "leader", "liaison", "archivist", "auditor", "admin"])
def test_the_worklist_masks_id_numbers_and_shows_no_phone_to_every_role(client, committee, worker, role):
    make_case(committee, worker, 1, Status.ACCEPTED)
    client.force_login(UserFactory(roles=[role], committee=committee))
    html = get(client, "cases:worklist")
    assert worker.name in html and mask_id_number(ID_NUMBER) in html
    assert_clean(html)


def test_the_queues_and_drill_down_lists_mask_too(client, committee, worker, examined):
    make_case(committee, worker, 2, Status.ACCEPTED, accepted_on=dt.date(2026, 11, 3))
    make_case(committee, worker, 3, Status.DIFFICULT)
    lists = [("reviewer", "review:preliminary_queue"), ("leader", "grading:difficult"),
             ("leader", "crosscheck:queue"), ("clerk", "cases:worklist")]
    for role, name in lists:
        client.force_login(UserFactory(roles=[role], committee=committee))
        html = get(client, name)
        assert worker.name in html, name
        assert_clean(html)


def test_the_admins_case_page_masks_the_id_number_and_hides_the_diagnosis(client, committee, examined):
    client.force_login(UserFactory(roles=["admin"], committee=committee))
    html = get(client, "cases:detail", examined.pk)
    assert mask_id_number(ID_NUMBER) in html
    assert_clean(html)
