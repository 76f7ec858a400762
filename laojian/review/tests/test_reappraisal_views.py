"""The re-appraisal page, what the case page shows of a re-appraisal, and the worklist's filter of
cases whose re-appraisal window is open."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.urls import reverse

from laojian.cases import clocks
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.documents.tests.conftest import document_files  # noqa: F401  (autouse: tmp storage, no signing)
from laojian.review import reappraisal
from laojian.review.models import Reappraisal
from laojian.review.tests.test_reappraisal import DELIVERED, delivered_case, requested

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users are made by the dozen here; they sign in with force_login."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def delivered():
    return delivered_case()


def url(name, case):
    return reverse(f"review:{name}", args=[case.pk])


# WHO SEES THE PAGE --------------------------------------------------------------------------------

def test_the_clerk_opens_the_re_appraisal_page(client, delivered):
    case, staff = delivered
    client.force_login(staff)
    response = client.get(url("reappraisal", case))
    assert response.status_code == 200 and response.context["request_form"] is not None


def test_a_reviewer_without_the_permission_gets_404(client, delivered):
    case, _staff = delivered
    client.force_login(UserFactory(committee=case.committee, roles=["reviewer"]))
    assert client.get(url("reappraisal", case)).status_code == 404


def test_another_committee_s_case_is_404(client, delivered):
    case, _staff = delivered
    client.force_login(UserFactory(roles=["clerk"]))
    assert client.get(url("reappraisal", case)).status_code == 404
    assert client.post(url("reappraisal_export", case)).status_code == 404


def test_a_case_not_yet_delivered_offers_no_request_form(client):
    case = CaseFactory(status=Status.CONCLUDED)
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    response = client.get(url("reappraisal", case), **EN)
    assert response.context["request_form"] is None
    assert "after the conclusion has been delivered" in response.content.decode()


# THE STEPS THROUGH THE PAGE -----------------------------------------------------------------------

def test_recording_the_request_through_the_page(client, delivered):
    case, staff = delivered
    client.force_login(staff)
    response = client.post(url("reappraisal_request", case), {
        "requested_on": case.reappraisal_window_ends.isoformat(),  # the window's last day, in the past
        "party": "employer", "requester_name": "李经理", "grounds": "认为评定过高"})
    assert response.status_code == 303
    assert Reappraisal.objects.get(case=case).party == "employer"


def test_a_request_outside_the_window_shows_the_window_on_the_form(client, delivered):
    case, staff = delivered
    client.force_login(staff)
    response = client.post(url("reappraisal_request", case), {
        "requested_on": (DELIVERED - dt.timedelta(days=3)).isoformat(), "party": "worker",
        "requester_name": "张三", "grounds": "不服"}, **EN)
    assert response.status_code == 200
    errors = response.context["request_form"].errors["requested_on"]
    assert case.reappraisal_window_ends.isoformat() in errors[0]
    assert not Reappraisal.objects.filter(case=case).exists()


def test_exporting_and_downloading_the_file_through_the_page(client, delivered):
    case, staff = delivered
    requested(case, staff)
    client.force_login(staff)
    assert client.post(url("reappraisal_export", case)).status_code == 303
    response = client.get(url("reappraisal_download", case))
    assert response["Content-Type"] == "application/zip"
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert AuditEvent.objects.filter(action="reappraisal.download", actor_id=staff.pk).count() == 1


def test_recording_the_result_through_the_page_shows_whether_it_upheld(client, delivered):
    case, staff = delivered
    requested(case, staff)
    client.force_login(staff)
    client.post(url("reappraisal_result", case), {
        "number": "鲁劳鉴再〔2026〕0012号", "concluded_on": DELIVERED.isoformat(), "grade": "9",
        "care_level": "none", "months": "", "note": ""})
    response = client.get(url("reappraisal", case), **EN)
    assert response.context["reappraisal"].outcome == Reappraisal.Outcome.CHANGED
    assert [row.differs for row in response.context["comparison"]] == [True, False, False]
    assert "changed the city's conclusion" in response.content.decode()


# THE CASE PAGE ------------------------------------------------------------------------------------

def test_the_case_page_shows_the_request_s_state_with_a_link(client, delivered):
    case, staff = delivered
    requested(case, staff)
    reappraisal.package_export(case.pk, actor=staff)
    client.force_login(staff)
    response = client.get(reverse("cases:detail", args=[case.pk]), **EN)
    state = response.context["reappraisal"]
    assert (state["party"], state["requester"], state["exported_at"] is not None) == ("the worker", "张三", True)
    assert url("reappraisal", case) in response.content.decode()


def test_the_case_page_names_the_provincial_outcome(client, delivered):
    case, staff = delivered
    requested(case, staff)
    reappraisal.result_record(case.pk, reappraisal.ResultInput(number="鲁劳鉴再〔2026〕0012号", concluded_on=DELIVERED,
                                                               grade=10), actor=staff, today=DELIVERED)
    client.force_login(staff)
    html = client.get(reverse("cases:detail", args=[case.pk]), **EN).content.decode()
    assert "Provincial result: upheld (鲁劳鉴再〔2026〕0012号)." in html


# THE WORKLIST FILTER ------------------------------------------------------------------------------

def test_the_worklist_filter_lists_delivered_cases_whose_window_is_open_and_shows_its_end(client):
    today = clocks.today()
    open_window = CaseFactory(status=Status.DELIVERED, delivered_on=today - dt.timedelta(days=15),
                              reappraisal_window_ends=today)
    committee = open_window.committee
    CaseFactory(committee=committee, status=Status.DELIVERED, delivered_on=today - dt.timedelta(days=16),
                reappraisal_window_ends=today - dt.timedelta(days=1))  # closed yesterday
    CaseFactory(committee=committee, status=Status.ARCHIVED, reappraisal_window_ends=today + dt.timedelta(days=3))
    CaseFactory(committee=committee, status=Status.ACCEPTED)
    client.force_login(UserFactory(committee=committee, roles=["clerk"]))
    response = client.get(reverse("cases:worklist"), {"status": "reappraisal_window"})
    rows = response.context["cases"]
    assert [case.pk for case in rows] == [open_window.pk]
    assert (rows[0].due.date, rows[0].due.days_left) == (today, 0)
