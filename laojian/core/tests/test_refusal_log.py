"""Every 403 and 404 answered to a signed-in user is logged by ids (issue 10; SEC-27)."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from laojian.core.tests.factories import UserFactory
from laojian.experts.tests.factories import ExpertFactory

LOGGER = "laojian.access.refused"


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


@pytest.mark.django_db
def test_another_committees_expert_answers_404_and_is_logged_without_the_name(client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    expert = ExpertFactory(name="专家甲")
    clerk = UserFactory(roles=["clerk"])  # of another committee
    client.force_login(clerk)
    response = client.get(reverse("experts:expert_detail", args=[expert.pk]))
    assert response.status_code == 404
    (message,) = refusals(caplog)
    assert f"404 answered to user {clerk.pk} for experts:expert_detail (pk={expert.pk})" in message
    assert "专家甲" not in message and clerk.username not in message


@pytest.mark.django_db
def test_a_page_the_role_may_not_use_is_logged(client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    applicant = UserFactory(roles=["applicant"])
    client.force_login(applicant)
    response = client.get(reverse("experts:pool_list"))
    assert response.status_code in (403, 404)
    (message,) = refusals(caplog)
    assert f"answered to user {applicant.pk} for experts:pool_list" in message


@pytest.mark.django_db
def test_a_key_in_the_path_is_named_but_never_written(client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clerk = UserFactory(roles=["clerk"])
    client.force_login(clerk)
    response = client.get(reverse("documents:verify", args=["secret-token-value"]))
    assert response.status_code == 404
    (message,) = refusals(caplog)
    assert "code=…" in message
    assert not [m for m in refusals(caplog) if "secret-token-value" in m]


@pytest.mark.django_db
def test_an_id_number_typed_as_a_row_id_is_not_written(client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    client.force_login(UserFactory(roles=["clerk"]))
    client.get(reverse("experts:expert_detail", args=[371522198201078602]))
    (message,) = refusals(caplog)
    assert "371522198201078602" not in message and "pk=…" in message


@pytest.mark.django_db
def test_an_anonymous_visitor_is_not_logged_here(client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    client.get(reverse("experts:expert_detail", args=[999999]))
    assert refusals(caplog) == []
