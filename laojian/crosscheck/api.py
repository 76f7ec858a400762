"""The push API of partner sources (mounted at /api/crosscheck/).

``POST /api/crosscheck/sources/<id>/records`` with ``Authorization: Bearer <token>`` (the token made
on the source's page) and a JSON body ``{"records": [{...our field names...}, ...]}``, at most
``partners.MAX_PUSH_RECORDS`` records. The records go through the same normalisation, checks and
de-duplication as a file; the push is logged as an import ("API push", SHA-256 of the body), so
the same body sent twice adds nothing. Answers are JSON: 200 with the counts and every rejected
record (its 0-based index in ``records`` and the reason), 400 for a malformed request, 401 for a
wrong token, 413 for a body too large.

CSRF-exempt, this endpoint only: it is called by the department's system with its token, never by
a browser session (a session cookie opens nothing here).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from laojian.core.errors import ValidationFailed
from laojian.crosscheck import partners


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
    except ValueError:
        return _error(400, "bad_json", _("The body is not JSON (UTF-8)."))
    if not isinstance(data, dict) or "records" not in data:
        return _error(400, "bad_body", _("The body must be a JSON object with a list called records."))
    try:
        result = partners.push_records(source, body, data["records"])
    except ValidationFailed as exc:
        return _error(413 if exc.code == "too_many" else 400, exc.code, exc.message)
    return JsonResponse(_result(result), json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("sources/<int:source_id>/records", push_records, name="push_records"),
]
