"""``GET /api/openapi.json``: the OpenAPI document, public (it describes the API, it opens nothing)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from laojian.api import openapi


@csrf_exempt  # it changes nothing: any other method than GET or HEAD is a 405, not a CSRF refusal
@require_safe
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.document(), json_dumps_params={"ensure_ascii": False})


def openapi_paths() -> dict[str, dict[str, Any]]:
    """This module's path items, by URL pattern name (see ``laojian.api.openapi``)."""
    return {"openapi": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "description": "The OpenAPI 3.1 document of the API. Public: it needs no token.",
            "security": [],
            "responses": {
                "200": {"description": "The document.",
                        "content": openapi.json_content({"type": "object", "required": ["openapi", "info", "paths"]})},
            },
        },
    }}
