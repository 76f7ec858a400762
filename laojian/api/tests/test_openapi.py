"""The OpenAPI document: served at /api/openapi.json to anyone, valid OpenAPI 3.1, and describing
every URL of the API."""

from __future__ import annotations

import pytest
import schemathesis
from django.test import Client
from django.urls import get_resolver, reverse

from laojian.api import openapi
from laojian.crosscheck import partners

PUSH = "/api/crosscheck/sources/{source_id}/records"


@pytest.fixture
def served() -> dict:
    response = Client().get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.mark.django_db
def test_the_document_is_served_as_json_to_anyone_without_signing_in(served):
    assert served["openapi"] == "3.1.0"


@pytest.mark.django_db
def test_the_document_describes_the_push_api_with_its_bearer_token(served):
    push = served["paths"][PUSH]["post"]
    scheme = served["components"]["securitySchemes"]["bearer"]

    assert push["security"] == [{"bearer": []}]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert set(push["responses"]) >= {"200", "400", "401", "413"}


def test_the_document_is_valid_openapi_3_1():
    schemathesis.openapi.from_dict(openapi.document()).validate()


@pytest.mark.django_db
def test_the_records_of_the_document_are_the_fields_of_the_import_engine(served):
    records = served["paths"][PUSH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    kinds = records["properties"]["records"]["items"]["anyOf"]

    assert [list(kind["properties"]) for kind in kinds] == [[f.name for f in partners.CARE_FIELDS],
                                                            [f.name for f in partners.LICENSED_FIELDS]]


def test_every_url_under_api_is_in_the_document():
    routes = [route for route, _pattern in openapi._patterns(get_resolver().url_patterns)]
    api_routes = {openapi.path_template(route) for route in routes if route.startswith("api/")}

    assert api_routes == set(openapi.document()["paths"])


@pytest.mark.django_db
def test_the_document_is_in_english_whatever_the_request_language():
    response = Client().get(reverse("api:openapi"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    care = response.json()["paths"][PUSH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    id_number = care["properties"]["records"]["items"]["anyOf"][0]["properties"]["id_number"]

    assert id_number["description"] == "ID number"
