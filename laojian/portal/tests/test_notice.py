"""The personal-information notice at intake (SEC-61): shown on the online application, acknowledged by
ticking a box, and its version stored on the case with the time."""

import re

import pytest

from laojian.cases.models import Case
from laojian.core import notices
from laojian.portal.models import ApplicationDraft
from laojian.portal.tests.test_apply import applicant, form_data  # noqa: F401  (applicant is a fixture)

pytestmark = pytest.mark.django_db


def shown_version(page: str) -> str:
    return re.search(r'<input type="hidden" name="notice_version" value="([^"]+)">', page).group(1)


def test_the_application_page_shows_the_current_notice(client, applicant):  # noqa: F811
    page = client.get("/portal/apply/").content.decode()
    current = notices.current()
    assert str(current.title) in page
    assert all(str(section.heading) in page for section in current.sections)
    assert shown_version(page) == current.version


def test_an_application_without_the_acknowledgement_is_refused_and_nothing_typed_is_lost(client, applicant):  # noqa: F811
    _user, committee = applicant
    data = form_data(committee=committee.pk, notice_version=notices.current().version)
    data.pop("notice_acknowledged")
    response = client.post("/portal/apply/", data)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["notice_acknowledged"]
    assert Case.objects.count() == 0
    page = response.content.decode()
    assert 'value="李四"' in page and "左胫骨骨折" in page  # the form comes back filled in
    assert ApplicationDraft.objects.get().data["worker_name"] == "李四"


def test_the_version_stored_on_the_case_is_the_version_shown(client, applicant):  # noqa: F811
    _user, committee = applicant
    version = shown_version(client.get("/portal/apply/").content.decode())
    client.post("/portal/apply/", form_data(committee=committee.pk, notice_version=version))
    case = Case.objects.get()
    assert case.notice_version == version
    assert case.notice_acknowledged_at is not None


def test_a_version_other_than_the_current_one_is_refused(client, applicant):  # noqa: F811
    _user, committee = applicant
    response = client.post("/portal/apply/", form_data(committee=committee.pk, notice_version="2020-01"))
    assert list(response.context["form"].errors) == ["notice_version"]
    assert Case.objects.count() == 0


def test_the_case_page_says_which_notice_the_applicant_saw(client, applicant):  # noqa: F811
    _user, committee = applicant
    client.post("/portal/apply/", form_data(committee=committee.pk))
    case = Case.objects.get()
    page = client.get(f"/cases/{case.pk}/").content.decode()
    notice_row = re.search(r'<dd id="notice-version">(.*?)</dd>', page, re.S).group(1)
    assert notices.current().version in notice_row


def test_notice_versions_are_unique_and_the_last_is_current():
    versions = [n.version for n in notices.NOTICES]
    assert len(versions) == len(set(versions))
    assert notices.current() is notices.NOTICES[-1]
    assert notices.get(notices.current().version) is notices.current()
    assert notices.get("1999-01") is None
