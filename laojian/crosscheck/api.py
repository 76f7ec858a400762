"""The push API of partner sources (mounted at /api/crosscheck/).

``POST /api/crosscheck/sources/<id>/records`` with ``Authorization: Bearer <token>`` (the token made
on the source's page) and a JSON body ``{"records": [{...our field names...}, ...]}``, at most
``partners.MAX_PUSH_RECORDS`` records. The records go through the same normalisation, checks and
de-duplication as a file; the push is logged as an import ("API push", SHA-256 of the body), so
the same body sent twice adds nothing. Answers are JSON: 200 with the counts and every rejected
record (its 0-based index in ``records`` and the reason), 400 for a malformed request, 401 for a
wrong token, 413 for a body too large. ``openapi_paths()`` below describes all of it for the OpenAPI
document (``/api/openapi.json``, docs/api.md); the fuzz test holds the view to that description.

CSRF-exempt: it is called by the department's system with its token, never by
a browser session (a session cookie opens nothing here).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from laojian.api.openapi import BEARER, error_response, json_content
from laojian.core.errors import ValidationFailed
from laojian.crosscheck import partners
from laojian.crosscheck.models import ImportRun


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message}, status=status,
                            json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _bearer(request: HttpRequest) -> str:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _result(result: partners.PushResult) -> dict[str, Any]:
    run = result.run
    return {
        "run": run.pk, "already_imported": result.already_imported, "state": run.state,
        "received": run.rows_done, "added": 0 if result.already_imported else run.rows_added,
        "duplicates": run.rows_duplicate, "rejected": run.rows_rejected, "kept_with_warning": run.rows_flagged,
        "rejects": result.rejects,
    }


@csrf_exempt
def push_records(request: HttpRequest, source_id: int) -> JsonResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", _("Use POST."), Allow="POST")
    source = partners.source_for_token(source_id, _bearer(request))
    if source is None:
        return _error(401, "unauthorized", _("The token is missing or wrong, or the source does not take pushes."),
                      WWW_Authenticate='Bearer realm="laojian"')
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > partners.MAX_PUSH_BYTES:
        return _error(413, "too_large", _("The body is larger than %(n)s MB.")
                      % {"n": partners.MAX_PUSH_BYTES // (1024 * 1024)})
    # Read the stream ourselves: request.body would stop at Django's 2.5 MB form-data limit.
    body = request.read(partners.MAX_PUSH_BYTES + 1)
    if len(body) > partners.MAX_PUSH_BYTES:
        return _error(413, "too_large", _("The body is larger than %(n)s MB.")
                      % {"n": partners.MAX_PUSH_BYTES // (1024 * 1024)})
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return _error(400, "bad_json", _("The body is not JSON (UTF-8)."))
    if not isinstance(data, dict) or "records" not in data:
        return _error(400, "bad_body", _("The body must be a JSON object with a list called records."))
    try:
        result = partners.push_records(source, body, data["records"])
    except ValidationFailed as exc:
        return _error(413 if exc.code == "too_many" else 400, exc.code, exc.message)
    return JsonResponse(_result(result), json_dumps_params={"ensure_ascii": False})


# THE OPENAPI DESCRIPTION (assembled by laojian.api.openapi) ------------------------------------------

BAD_REQUEST = ("bad_json", "bad_body", "bad_record", "unknown_fields", "bad_value", "no_records")
TOO_LARGE = ("too_large", "too_many")
VALUE = {"type": ["string", "number", "null"]}
EXAMPLE = {"records": [
    {"id_number": "371502198005171230", "person_name": "张三", "hospital_name": "聊城市人民医院", "service": "住院",
     "admitted_on": "2026-03-02", "discharged_on": "2026/3/20", "icd10": "S62.6", "record_number": "JS1"},
    {"id_number": "371502198005171230", "person_name": "张三", "hospital_code": "H37150200001", "service": "门诊",
     "admitted_on": 20260415, "diagnosis": "右手舟骨骨折复查", "record_number": "JS2"},
]}


def _record_schema(title: str, fields: tuple[partners.Field, ...], required: tuple[tuple[str, ...], ...]) -> dict:
    groups = ", ".join("/".join(f"`{name}`" for name in group) for group in required)
    dates = ("A date is text such as 2026-01-05, 2026/1/5, 2026.1.5, 20260105 or 2026年1月5日, possibly with a "
             "time after it, or an Excel serial number (45292).")
    return {
        "title": title, "type": "object", "additionalProperties": False,
        "description": f"A record needs {groups} (one of those joined by /); one without is kept out of the "
                       "import and listed in `rejects`, as is one whose dates are not dates. A number is taken as "
                       "its text (3 as \"3\"). " + dates,
        "properties": {f.name: {**VALUE, "description": str(f.label) + (" (a date)" if f.date else "")}
                       for f in fields},
    }


def openapi_paths() -> dict[str, dict[str, Any]]:
    """This module's path items, by URL pattern name (see ``laojian.api.openapi``)."""
    count = {"type": "integer", "minimum": 0}
    result = {
        "type": "object", "additionalProperties": False,
        "required": ["run", "already_imported", "state", "received", "added", "duplicates", "rejected",
                     "kept_with_warning", "rejects"],
        "properties": {
            "run": {"type": "integer", "description": "The import run of this body (one per distinct body)."},
            "already_imported": {"type": "boolean",
                                 "description": "The same body was pushed before: nothing was added this time."},
            "state": {"enum": list(ImportRun.State.values)},
            "received": {**count, "description": "Records processed."},
            "added": {**count, "description": "Records stored by this request."},
            "duplicates": {**count, "description": "Records stored before (by any import of the kind) or repeated."},
            "rejected": {**count, "description": "Records kept out (see `rejects`)."},
            "kept_with_warning": {**count, "description": "Records stored whose ID number fails its check."},
            "rejects": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["index", "reason", "message"],
                "properties": {
                    "index": {**count, "description": "The record's 0-based position in `records`."},
                    "reason": {"enum": list(partners.REASONS)},
                    "message": {"type": "string"},
                },
            }},
        },
    }
    body = {
        "type": "object", "required": ["records"],
        "description": "Other members than `records` are ignored.",
        "properties": {"records": {
            "type": "array", "minItems": 1, "maxItems": partners.MAX_PUSH_RECORDS,
            "description": "Care records for a settlement or hospital-stay source, licence records for a "
                           "licensed-hospital source; a field of the other kind is refused (`unknown_fields`).",
            "items": {"anyOf": [
                _record_schema("Care record", partners.CARE_FIELDS, partners.CARE_REQUIRED),
                _record_schema("Licence record", partners.LICENSED_FIELDS, partners.LICENSED_REQUIRED),
            ]},
        }},
    }
    return {"push_records": {
        "description": "Any other method than POST is answered 405 with `Allow: POST` and an `Error` "
                       "(`method_not_allowed`).",
        "parameters": [{"name": "source_id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                        "description": "The source's number (on its page)."}],
        "post": {
            "operationId": "push_records",
            "summary": "Push records of a partner source",
            "description": "The records go through the same normalisation, checks and de-duplication as an "
                           "imported file, synchronously, and are logged as one import (\"API push\", with the "
                           "SHA-256 of the body): the same body sent twice adds nothing the second time.",
            "security": [{BEARER: []}],
            "requestBody": {"required": True, "content": json_content(body, example=EXAMPLE)},
            "responses": {
                "200": {"description": "The records were processed (or this body was pushed before).",
                        "content": json_content(result)},
                "400": error_response("The request is malformed: nothing was imported.", BAD_REQUEST),
                "401": error_response("The token is missing or wrong, or the source takes no pushes.",
                                      ["unauthorized"],
                                      headers={"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}),
                "404": {"description": "No such URL: `source_id` is not a whole number.",
                        "content": {"text/html": {"schema": {"type": "string"}}}},
                "413": error_response(f"The body is over {partners.MAX_PUSH_BYTES // (1024 * 1024)} MB, or it has "
                                      f"more than {partners.MAX_PUSH_RECORDS} records.", TOO_LARGE),
            },
        },
    }}


urlpatterns = [
    path("sources/<int:source_id>/records", push_records, name="push_records"),
]
