"""What the case page shows to whom: panel names, eligibility checks."""

import datetime as dt

import pytest
from django.utils import timezone

from laojian.cases.models import CaseAssignment, CaseType, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_applicant_does_not_see_the_panel_names(client):
    applicant = UserFactory(roles=["applicant"])
    case = CaseFactory(applicant_user=applicant, committee=applicant.committee, status=Status.SCHEDULED)
    expert = UserFactory(committee=case.committee, roles=["expert"], display_name="赵专家")
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT)
    client.force_login(applicant)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "赵专家" not in page


def test_the_clerk_and_the_panel_expert_see_the_panel(client):
    case = CaseFactory(status=Status.SCHEDULED)
    expert = UserFactory(committee=case.committee, roles=["expert"], display_name="赵专家")
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT)
    for viewer in (UserFactory(committee=case.committee, roles=["clerk"]), expert):
        client.force_login(viewer)
        assert "赵专家" in client.get(f"/cases/{case.pk}/").content.decode()


def test_the_clerk_sees_the_eligibility_concerns_before_accepting(client):
    earlier = CaseFactory(case_type=CaseType.INITIAL, status=Status.ARCHIVED, concluded_on=dt.date(2026, 6, 1))
    case = CaseFactory(committee=earlier.committee, determination=earlier.determination,
                       case_type=CaseType.REVIEW, status=Status.SUBMITTED, received_on=dt.date(2026, 11, 2))
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    response = client.get(f"/cases/{case.pk}/")
    assert [flag.code for flag in response.context["eligibility"]] == ["review_too_early"]


def test_eligibility_is_not_shown_once_accepted(client):
    case = CaseFactory(case_type=CaseType.REVIEW, status=Status.ACCEPTED)
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    assert client.get(f"/cases/{case.pk}/").context["eligibility"] == []


def _second_opinion_case():
    case = CaseFactory(status=Status.DIFFICULT)
    first = UserFactory(committee=case.committee, roles=["expert"], display_name="赵专家")
    second = UserFactory(committee=case.committee, roles=["expert"], display_name="钱专家")
    CaseAssignment.objects.create(case=case, user=first, role=CaseAssignment.Role.EXPERT)
    CaseAssignment.objects.create(case=case, user=second, role=CaseAssignment.Role.SECOND_EXPERT)
    TimelineEntry.objects.create(case=case, at=timezone.now(), action="mark_difficult",
                                 note="伤残等级意见分歧：7级、8级")
    return case, first, second


def test_a_second_opinion_expert_does_not_see_the_first_panel_or_its_findings(client):
    case, _first, second = _second_opinion_case()
    client.force_login(second)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "钱专家" in page
    assert "赵专家" not in page
    assert "7级、8级" not in page


def test_the_first_panel_does_not_see_the_second_opinion_panel(client):
    case, first, _second = _second_opinion_case()
    client.force_login(first)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "钱专家" not in page
    assert "7级、8级" in page


def test_staff_see_both_panels_and_the_findings(client):
    case, _first, _second = _second_opinion_case()
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "赵专家" in page and "钱专家" in page and "7级、8级" in page


def note(case, action: str, text: str) -> None:
    TimelineEntry.objects.create(case=case, at=timezone.now(), action=action, note=text)


def test_the_applicant_reads_the_notes_written_to_them_but_not_the_committees_working_notes(client):
    applicant = UserFactory(roles=["applicant"])
    case = CaseFactory(applicant_user=applicant, committee=applicant.committee, status=Status.EXAMINED)
    note(case, "request_correction", "请补交出院记录")
    note(case, "return_to_clerk", "受理材料缺页，退回窗口")
    note(case, "mark_difficult", "专家意见分歧较大")
    client.force_login(applicant)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "请补交出院记录" in page
    assert "退回窗口" not in page and "分歧" not in page


def test_the_clerk_reads_every_timeline_note(client):
    case = CaseFactory(status=Status.EXAMINED)
    note(case, "return_to_clerk", "受理材料缺页，退回窗口")
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    assert "退回窗口" in client.get(f"/cases/{case.pk}/").content.decode()
