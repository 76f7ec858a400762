"""The push API: a department's system sends records with its source's token."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_resident_id
from laojian.crosscheck import partners, store
from laojian.crosscheck.models import ImportRun, Source

pytestmark = pytest.mark.django_db

ID_A = build_resident_id("371502", dt.date(1980, 5, 17), 123)
ID_B = build_resident_id("371521", dt.date(1975, 1, 2), 456)


@pytest.fixture
def source() -> Source:
    return Source.objects.create(committee=CommitteeFactory(), kind="settlement", name="市医保局实时结算")


@pytest.fixture
def token(source) -> str:
    return partners.source_token_new(source, actor=None)


@pytest.fixture
def api():
    return Client(enforce_csrf_checks=True)


def record(number: str = ID_A, **values) -> dict:
    base = {"id_number": number, "person_name": "张三", "hospital_name": "聊城市人民医院", "service": "住院",
            "admitted_on": "2026-03-02", "discharged_on": "2026/3/20", "icd10": "S62.6", "record_number": "JS1"}
    base.update(values)
    return base


def push(api, source: Source, body, token: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return api.post(reverse("crosscheck_api:push_records", args=[source.pk]), data, content_type="application/json",
                    **headers)


def stored(source: Source) -> list[str]:
    runs = partners.finished_run_ids(source.committee_id, "settlement")
    return sorted(store.records(source.committee_id, "settlement", runs).collect()["id_number"].to_list())


def test_a_push_with_the_token_stores_the_records_and_answers_the_counts(api, source, token):
    bad = ID_B[:17] + ("0" if ID_B[17] != "0" else "1")
    response = push(api, source, {"records": [record(), record(bad, record_number="JS2"), record(None),
                                              record(admitted_on="某天")]}, token)

    answer = response.json()
    run = ImportRun.objects.get(source=source)
    assert response.status_code == 200
    assert answer == {"run": run.pk, "already_imported": False, "state": "done", "received": 4, "added": 2,
                      "duplicates": 0, "rejected": 2, "kept_with_warning": 1,
                      "rejects": [{"index": 2, "reason": "no_id", "message": "no ID number"},
                                  {"index": 3, "reason": "bad_date",
                                   "message": "the admission or visit date is not a date"}]}
    assert (run.file_name, run.state) == ("API push", "done")
    assert stored(source) == sorted([ID_A, bad])


def test_a_wrong_token_is_refused_with_401_json(api, source, token):
    response = push(api, source, {"records": [record()]}, token + "x")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response["WWW-Authenticate"] == 'Bearer realm="laojian"'
    assert not ImportRun.objects.exists()


def test_no_token_is_refused(api, source, token):
    assert push(api, source, {"records": [record()]}, None).status_code == 401


def test_another_sources_token_does_not_open_this_source(api, source, token):
    other = Source.objects.create(committee=source.committee, kind="settlement", name="另一个")
    other_token = partners.source_token_new(other, actor=None)

    assert push(api, source, {"records": [record()]}, other_token).status_code == 401


def test_a_revoked_token_is_refused(api, source, token):
    partners.source_token_revoke(source, actor=None)

    assert push(api, source, {"records": [record()]}, token).status_code == 401


def test_a_logged_in_session_without_the_token_opens_nothing(source, token):
    browser = Client()
    browser.force_login(UserFactory(committee=source.committee, roles=["liaison"]))

    assert push(browser, source, {"records": [record()]}, None).status_code == 401


def test_the_same_body_twice_adds_nothing(api, source, token):
    body = json.dumps({"records": [record(), record(ID_B)]}).encode()
    first = push(api, source, body, token).json()

    second = push(api, source, body, token).json()

    assert (second["run"], second["already_imported"], second["added"]) == (first["run"], True, 0)
    assert ImportRun.objects.count() == 1
    assert stored(source) == sorted([ID_A, ID_B])


def test_records_pushed_before_count_as_duplicates(api, source, token):
    push(api, source, {"records": [record()]}, token)

    answer = push(api, source, {"records": [record(), record(ID_B)]}, token).json()

    assert (answer["added"], answer["duplicates"]) == (1, 1)
    assert stored(source) == sorted([ID_A, ID_B])


def test_more_than_the_limit_of_records_is_refused(api, source, token, monkeypatch):
    monkeypatch.setattr(partners, "MAX_PUSH_RECORDS", 2)

    response = push(api, source, {"records": [record(), record(), record()]}, token)

    assert response.status_code == 413
    assert response.json()["error"] == "too_many"
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(("body", "error"), [
    (b"{not json", "bad_json"),
    (b'{"rows": []}', "bad_body"),
    (b'{"records": {}}', "bad_body"),
    (b'{"records": [1]}', "bad_record"),
    (json.dumps({"records": [{"id_number": ID_A, "身份证号": ID_A}]}).encode(), "unknown_fields"),
    (json.dumps({"records": [{"id_number": ["x"]}]}).encode(), "bad_value"),
    (b'{"records": []}', "no_records"),
])
def test_a_malformed_request_is_refused_with_400(api, source, token, body, error):
    response = push(api, source, body, token)

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert not ImportRun.objects.exists()


def test_get_is_not_allowed(api, source, token):
    response = api.get(reverse("crosscheck_api:push_records", args=[source.pk]), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405
