"""Field-level limits (issue 10, SEC-03/SEC-62): the pages an applicant reaches (the portal and the
case page it links to) never carry the diagnosis, the experts' opinions or the full ID number;
phone numbers are masked.

Decision: a *worker* applicant sees their own ID number masked too (3701**********123X). The
portal account is a phone number with an SMS code; whoever holds the phone must not learn the full
number from it, and the worker knows their own number anyway.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases.models import ApplicantKind, Status
from laojian.cases.tests.factories import EmployerFactory, InjuryDeterminationFactory, WorkerFactory
from laojian.core.tests.factories import UserFactory
from laojian.core.validators import build_resident_id, mask_id_number, mask_phone
from laojian.grading.tests.factories import panel_case, signed_opinion

pytestmark = pytest.mark.django_db

ID_NUMBER = build_resident_id("370102", dt.date(1985, 6, 15), 777)
WORKER_PHONE = "13912345678"
CONTACT_PHONE = "13787654321"
DIAGNOSIS = "左胫腓骨开放性骨折字段限制测试诊断"
INJURED_PARTS = "左小腿字段限制部位"
OPINION_BASIS = "专家意见字段限制测试依据"
OPINION_FINDING = "专家所见字段限制测试描述"
SECRETS = (ID_NUMBER, WORKER_PHONE, CONTACT_PHONE, DIAGNOSIS, INJURED_PARTS, OPINION_BASIS, OPINION_FINDING)


def applicant_case(kind: str):
    worker = WorkerFactory(id_number=ID_NUMBER, phone=WORKER_PHONE)
    employer = EmployerFactory(contact_name="王经理", contact_phone=CONTACT_PHONE)
    determination = InjuryDeterminationFactory(worker=worker, employer=employer, diagnosis=DIAGNOSIS,
                                               injured_parts=INJURED_PARTS)
    applicant = UserFactory(roles=["applicant"], committee=None, username=f"m{kind}")
    case, (expert, *_rest) = panel_case(status=Status.EXAMINED, determination=determination,
                                        applicant_user=applicant, applicant_kind=kind, year=2026, seq=9,
                                        received_on=dt.date(2026, 11, 2))
    case.number = case.committee.format_case_number(2026, 9)
    case.save(update_fields=["number"])
    signed_opinion(case, expert, basis=OPINION_BASIS, findings=[("左小腿", OPINION_FINDING)])
    return case, applicant


def assert_clean(html: str) -> None:
    for secret in SECRETS:
        assert secret not in html, secret


@pytest.mark.parametrize("kind", [ApplicantKind.EMPLOYER, ApplicantKind.WORKER])
def test_the_applicants_pages_carry_no_diagnosis_opinion_full_id_or_phone(client, kind):
    case, applicant = applicant_case(kind)
    client.force_login(applicant)

    home = client.get(reverse("portal:home"))
    detail = client.get(reverse("cases:detail", args=[case.pk]))
    booking = client.get(reverse("portal:booking"))

    for response in (home, detail, booking):
        assert response.status_code == 200
        assert_clean(response.content.decode())
    assert case.number in home.content.decode()
    html = detail.content.decode()
    assert case.worker.name in html
    assert mask_id_number(ID_NUMBER) in html  # 3701**********xxxx: the worker applicant's own number too
    assert mask_id_number(ID_NUMBER).startswith("3701**********")
    assert mask_phone(WORKER_PHONE) == "139****5678" and mask_phone(WORKER_PHONE) in html
    assert mask_phone(CONTACT_PHONE) in html
    # The grading pages with the panel's opinions are not the applicant's at all.
    assert client.get(reverse("grading:case", args=[case.pk])).status_code == 404


def test_the_public_status_lookup_carries_none_of_it(client):
    case, _applicant = applicant_case(ApplicantKind.EMPLOYER)
    response = client.post(reverse("portal:status"), {"number": case.number, "id_suffix": ID_NUMBER[-6:]})
    assert response.status_code == 200
    html = response.content.decode()
    assert case.number in html
    assert_clean(html)
    assert mask_id_number(ID_NUMBER) not in html  # not even masked


def test_staff_who_work_with_the_medical_file_still_see_the_full_values(client):
    """The masking is by role, not everywhere: the clerk's case page keeps the full ID number."""
    case, _applicant = applicant_case(ApplicantKind.EMPLOYER)
    client.force_login(UserFactory(roles=["clerk"], committee=case.committee))
    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert ID_NUMBER in html and WORKER_PHONE in html and DIAGNOSIS in html
