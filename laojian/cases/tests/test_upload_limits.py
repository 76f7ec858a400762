"""Hostile uploads by number (§2.7 scenario 8): more files in one request than a person sends is
refused with a clear answer, and nothing of the request is kept."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from laojian.cases import selectors
from laojian.cases.models import Material, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.cases.tests.test_materials import pdf_bytes, seed_checklists, stored_files
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def location(settings, tmp_path):
    seed_checklists()
    settings.STORAGES = {**settings.STORAGES, "materials": {
        "BACKEND": settings.STORAGES["materials"]["BACKEND"], "OPTIONS": {"location": str(tmp_path / "m")}}}
    return tmp_path / "m"


def post_files(client, count: int, *, max_files: int, settings):
    settings.LAOJIAN_UPLOAD_MAX_FILES = max_files
    applicant = UserFactory(roles=["applicant"], committee=None)
    case = CaseFactory(applicant_user=applicant, status=Status.SUBMITTED)
    records = next(mt for mt in selectors.checklist_for(case) if mt.code == "medical_records")
    client.force_login(applicant)
    files = [SimpleUploadedFile(f"p{i}.pdf", pdf_bytes(), content_type="application/pdf") for i in range(count)]
    with translation.override("en"):
        return client.post(reverse("cases:material_upload", args=[case.pk]),
                           {"material_type": records.pk, "file": files}, follow=True, HTTP_ACCEPT_LANGUAGE="en")


def test_more_files_than_the_setting_allows_are_refused_with_a_message(client, settings, location):
    response = post_files(client, 4, max_files=3, settings=settings)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["At most 3 files can be uploaded at once."]
    assert Material.objects.count() == 0 and stored_files(location) == []


def test_a_hundred_and_one_files_in_one_request_are_a_bad_request(client, settings, location):
    response = post_files(client, 101, max_files=200, settings=settings)
    assert response.status_code == 400
    assert Material.objects.count() == 0 and stored_files(location) == []
