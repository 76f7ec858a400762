"""The push API and hostile input: bodies that answered 500 (found probing around the fuzzing of
its OpenAPI document, laojian/api/tests), each now a refusal the document describes; and a source
number no database integer holds."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from laojian.core.tests.factories import CommitteeFactory
from laojian.crosscheck import partners
from laojian.crosscheck.models import ImportRun, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def source() -> Source:
    return Source.objects.create(committee=CommitteeFactory(), kind="settlement", name="市医保局实时结算")


@pytest.fixture
def token(source) -> str:
    return partners.source_token_new(source, actor=None)


def push(source_id: int, body: bytes, token: str):
    return Client(raise_request_exception=False).post(
        reverse("crosscheck_api:push_records", args=[source_id]), body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_value_with_a_lone_surrogate_is_refused_as_a_bad_value(source, token):
    response = push(source.pk, b'{"records": [{"id_number": "1", "person_name": "\\ud800"}]}', token)

    assert (response.status_code, response.json()["error"]) == (400, "bad_value")
    assert not ImportRun.objects.exists()


def test_an_unknown_field_named_with_a_lone_surrogate_is_refused_and_shown_escaped(source, token):
    response = push(source.pk, b'{"records": [{"\\ud800": 1}]}', token)

    assert (response.status_code, response.json()["error"]) == (400, "unknown_fields")
    assert "\\ud800" in response.json()["message"]


def test_a_body_nested_deeper_than_the_parser_goes_is_refused_as_not_json(source, token):
    body = b'{"records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = push(source.pk, body, token)

    assert (response.status_code, response.json()["error"]) == (400, "bad_json")


def test_a_source_number_beyond_any_database_integer_is_unauthorized(token):
    response = push(2**70, b'{"records": [{"id_number": "1"}]}', token)

    assert (response.status_code, response.json()["error"]) == (401, "unauthorized")
