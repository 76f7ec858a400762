"""Anyone with the case number and the ID suffix sees the case's progress, and nothing medical."""

import datetime as dt

import pytest
from django.core.cache import cache

from laojian.cases import services
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import UserFactory
from laojian.portal import views
from laojian.portal.selectors import status_lookup

pytestmark = pytest.mark.django_db

URL = "/portal/status/"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


def accepted_case():
    case = CaseFactory(status=Status.SUBMITTED, number="聊劳鉴〔2026〕0042号", year=2026, seq=42)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.transition(case.pk, "accept", actor=clerk, today=dt.date(2026, 11, 16))
    case.refresh_from_db()
    return case


def test_the_right_number_and_suffix_show_the_steps_done_and_to_come(client):
    case = accepted_case()
    response = client.post(URL, {"number": case.number, "id_suffix": case.worker.id_number[-6:]})
    assert response.status_code == 200
    assert case.number in response.content.decode()
    steps = [(s.status, s.done, s.on) for s in response.context["result"].steps]
    assert steps == [
        (Status.SUBMITTED, True, dt.date(2026, 11, 2)),
        (Status.ACCEPTED, True, dt.date(2026, 11, 16)),
        (Status.REVIEWED, False, None),
        (Status.SCHEDULED, False, None),
        (Status.EXAMINED, False, None),
        (Status.CONCLUDED, False, None),
        (Status.DELIVERED, False, None),
        (Status.ARCHIVED, False, None),
    ]
    concluded = next(s for s in response.context["result"].steps if s.status == Status.CONCLUDED)
    assert concluded.expected_by == case.conclusion_due


def test_a_wrong_id_suffix_shows_nothing(client):
    case = accepted_case()
    wrong = "000000" if case.worker.id_number[-6:] != "000000" else "111111"
    response = client.post(URL, {"number": case.number, "id_suffix": wrong})
    assert response.context["result"] is None
    assert response.context["not_found"] is True
    assert case.worker.name not in response.content.decode()


def test_an_unknown_number_looks_the_same_as_a_wrong_suffix():
    case = accepted_case()
    assert status_lookup("聊劳鉴〔2026〕9999号", case.worker.id_number[-6:]) is None
    assert status_lookup(case.number, "12345") is None


def test_nothing_medical_and_no_full_id_is_shown(client):
    case = accepted_case()
    text = client.post(URL, {"number": case.number, "id_suffix": case.worker.id_number[-6:]}).content.decode()
    assert case.determination.diagnosis not in text
    assert case.determination.injured_parts not in text
    assert case.worker.id_number not in text
    assert case.worker.name not in text


def test_the_lookup_is_never_done_from_a_url(client):
    case = accepted_case()
    response = client.get(URL, {"number": case.number, "id_suffix": case.worker.id_number[-6:]})
    assert response.status_code == 200
    assert response.context["result"] is None


def test_lower_case_x_in_the_suffix_matches(client):
    case = accepted_case()
    case.worker.id_number = case.worker.id_number[:17] + "X"
    case.worker.save()
    assert status_lookup(case.number, case.worker.id_number[-6:].lower()) is not None


def test_too_many_lookups_from_one_address_are_refused(client):
    case = accepted_case()
    data = {"number": case.number, "id_suffix": "000000"}
    for _ in range(views.LOOKUPS_PER_WINDOW):
        assert client.post(URL, data).status_code == 200
    assert client.post(URL, data).status_code == 429


def test_a_rejected_application_shows_how_it_ended_and_nothing_to_come():
    case = CaseFactory(status=Status.SUBMITTED, number="聊劳鉴〔2026〕0043号", year=2026, seq=43)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.transition(case.pk, "reject", actor=clerk, note="无工伤认定决定书", today=dt.date(2026, 11, 16))
    result = status_lookup(case.number, case.worker.id_number[-6:])
    assert result.status == Status.REJECTED
    assert all(step.done for step in result.steps)
    assert "无工伤认定决定书" not in " ".join(str(s.label) for s in result.steps)
