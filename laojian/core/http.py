"""HTTP helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class HttpResponseSeeOther(HttpResponseRedirect):
    """POST/redirect/GET: the browser fetches the target with GET."""

    status_code = 303


def attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A file to download under ``filename`` (any script, RFC 6266 encoded), never sniffed or cached."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
