"""The portal is the applicant's: the committee's staff register at the counter (issue 10)."""

import pytest
from django.urls import reverse

from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["portal:home", "portal:apply", "portal:booking"])
def test_a_clerk_gets_the_answer_for_a_missing_page(client, name):
    client.force_login(UserFactory(roles=["clerk"]))
    assert client.get(reverse(name)).status_code == 404


def test_an_applicant_opens_the_portal(client):
    client.force_login(UserFactory(roles=["applicant"]))
    assert client.get(reverse("portal:home")).status_code == 200
