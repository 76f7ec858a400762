"""The personal-information notice at the counter (SEC-61): the clerk confirms the printed notice was
shown; the version is stored on the case."""

import pytest

from laojian.cases.models import Case
from laojian.cases.tests.test_counter_registration import form_data
from laojian.core import notices
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def committee(client):
    committee = CommitteeFactory()
    client.force_login(UserFactory(committee=committee, roles=["clerk"]))
    return committee


def test_the_counter_form_shows_the_current_notice(client, committee):
    page = client.get("/cases/register/").content.decode()
    assert str(notices.current().title) in page
    assert f'name="notice_version" value="{notices.current().version}"' in page


def test_registering_without_confirming_the_notice_was_shown_is_refused(client, committee):
    data = form_data(committee)
    data.pop("notice_acknowledged")
    response = client.post("/cases/register/", data)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["notice_acknowledged"]
    assert Case.objects.count() == 0


def test_the_counter_case_stores_the_version_shown_and_audits_it(client, committee):
    client.post("/cases/register/", form_data(committee))
    case = Case.objects.get()
    assert case.notice_version == notices.current().version
    assert case.notice_acknowledged_at is not None
    assert AuditEvent.objects.get(action="case.register").after["notice_version"] == notices.current().version


def test_the_service_refuses_an_unknown_notice_version(committee):
    from laojian.cases import services
    from laojian.cases.forms import ApplicationForm, register_arguments
    from laojian.core.errors import ValidationFailed

    form = ApplicationForm(form_data(committee))
    assert form.is_valid(), form.errors
    clerk = UserFactory(committee=committee, roles=["clerk"])
    with pytest.raises(ValidationFailed):
        services.case_register(actor=clerk, **{**register_arguments(form.cleaned_data), "notice_version": "1999-01"})
    assert Case.objects.count() == 0
