"""Reference data is edited in the Django admin by the admin role; cases and audit are read-only there."""

import pytest

from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFERENCE_PAGES = [
    "/admin/core/committee/",
    "/admin/core/calendarday/",
    "/admin/core/calendarday/add/",
    "/admin/core/calendaryear/",
    "/admin/experts/hospital/",
    "/admin/experts/expert/",
    "/admin/experts/specialty/",
]


@pytest.mark.parametrize("url", REFERENCE_PAGES)
def test_the_admin_role_opens_reference_data(client, url):
    client.force_login(UserFactory(roles=["admin"], is_staff=True))
    assert client.get(url).status_code == 200


def test_a_clerk_cannot_open_the_admin(client):
    client.force_login(UserFactory(roles=["clerk"]))
    response = client.get("/admin/core/committee/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_cases_cannot_be_changed_in_the_admin(client):
    case = CaseFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, committee=case.committee))
    assert client.get(f"/admin/cases/case/{case.pk}/delete/").status_code == 403
    response = client.post(f"/admin/cases/case/{case.pk}/change/", {"status": "archived"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == "submitted"


def test_the_user_page_shows_when_the_password_was_changed(client):
    admin = UserFactory(roles=["admin"], is_staff=True)
    user = UserFactory()
    client.force_login(admin)
    response = client.get(f"/admin/core/user/{user.pk}/change/")
    assert response.status_code == 200
    assert "password_changed_at" in response.content.decode()


def test_the_add_user_page_still_opens(client):
    client.force_login(UserFactory(roles=["admin"], is_staff=True))
    assert client.get("/admin/core/user/add/").status_code == 200
