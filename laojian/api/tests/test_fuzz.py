"""Fuzzing the REST API from its own OpenAPI document (issue 10): no request schemathesis makes up
(the document's examples, the boundaries of every field, random valid and invalid bodies, other
methods) gets a server error, and every answer is one the document describes: status code, content
type, headers and body.

The document is the one ``/api/openapi.json`` serves, built in-process; the requests go to the
project's WSGI application in-process too. In the first test they carry the real token of a real
source (a care or a licence source, as the records need), so they reach the parsing and the checks
of the records; in the second they keep the source number and token schemathesis made up.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from laojian.api import openapi
from laojian.crosscheck import partners
from laojian.crosscheck.models import Source

pytestmark = pytest.mark.django_db

SCHEMA = schemathesis.openapi.from_dict(openapi.document())
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance, checks.unsupported_method,
          checks.allow_header_conformance]
# Two shared cores: about 200 requests per operation and test keeps the whole file well under a minute.
FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
LICENCE_ONLY = {f.name for f in partners.LICENSED_FIELDS} - {f.name for f in partners.CARE_FIELDS}


@pytest.fixture
def licence_source(source) -> Source:
    return Source.objects.create(committee=source.committee, kind="licensed", name="市卫健委医疗机构执业登记")


@pytest.fixture
def licence_token(licence_source) -> str:
    return partners.source_token_new(licence_source, actor=None)


def for_licences(body: Any) -> bool:
    """The records of the body are licence records (a field only they have)."""
    records = body.get("records") if isinstance(body, dict) else None
    return isinstance(records, list) and any(isinstance(r, dict) and LICENCE_ONLY & set(r) for r in records)


@SCHEMA.parametrize()
@FUZZ
def test_requests_with_a_real_token_get_no_server_error_and_the_answers_the_schema_describes(
        case, wsgi_app, source, token, licence_source, licence_token):
    if "source_id" in (case.path_parameters or {}):
        target, key = (licence_source, licence_token) if for_licences(case.body) else (source, token)
        case.path_parameters = {"source_id": target.pk}
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}

    case.call_and_validate(app=wsgi_app, checks=CHECKS)


@SCHEMA.parametrize()
@settings(FUZZ, max_examples=40)
def test_requests_with_made_up_sources_and_tokens_get_no_server_error_and_the_answers_the_schema_describes(
        case, wsgi_app, source, token):
    case.call_and_validate(app=wsgi_app, checks=CHECKS)
