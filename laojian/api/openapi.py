"""The OpenAPI 3.1 document of Laojian's REST API (issue 10), served at ``/api/openapi.json``.

Each endpoint describes itself next to its view: the view's module has a function
``openapi_paths()`` giving a path item per URL pattern name (``{"push_records": {"post": ...}}``).
This module walks the URL configuration, turns the route of each described pattern into an OpenAPI
path template (``sources/<int:source_id>/records`` → ``sources/{source_id}/records``) and puts the
path items together with the shared components: the error body and the bearer token. So a path in
the document is always the one the URL configuration serves, and a view no module describes is not
in the document (the test in ``laojian/api/tests`` requires every ``/api/`` URL to be described).

The document is in English (an API's documentation is for the partner's developers); the
``message`` of an error answer is in the request's language.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

import laojian

OPENAPI_VERSION = "3.1.0"
ERROR_REF = "#/components/schemas/Error"
BEARER = "bearer"
_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "description": "Every refusal: a stable code to act on and a message for people.",
            "required": ["error", "message"],
            "additionalProperties": False,
            "properties": {
                "error": {"type": "string", "description": "Stable, machine-readable code."},
                "message": {"type": "string", "description": "What went wrong, in the request's language "
                                                             "(Accept-Language; Simplified Chinese by default)."},
            },
        },
    },
    "securitySchemes": {
        BEARER: {
            "type": "http", "scheme": "bearer",
            "description": "The token made on the source's page (shown once; making a new one ends the old one).",
        },
    },
}


def json_content(schema: dict[str, Any], *, example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def error_response(description: str, codes: Iterable[str], *,
                   headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response whose body is the shared ``Error`` with one of ``codes`` as its ``error``."""
    schema = {"allOf": [{"$ref": ERROR_REF}, {"properties": {"error": {"enum": sorted(codes)}}}]}
    response: dict[str, Any] = {"description": description, "content": json_content(schema)}
    if headers:
        response["headers"] = headers
    return response


def _patterns(patterns: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern with the route that leads to it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def path_template(route: str) -> str:
    """``api/crosscheck/sources/<int:source_id>/records`` → ``/api/crosscheck/sources/{source_id}/records``."""
    if route.startswith("^") or "(?P<" in route:
        raise ImproperlyConfigured(f"An API endpoint must be declared with path(), not a regex: {route}")
    return "/" + _PARAMETER.sub(r"{\1}", route)


def described() -> Iterator[tuple[str, URLPattern, dict[str, Any]]]:
    """(path template, pattern, path item) of each URL pattern whose view's module describes it."""
    for route, pattern in _patterns(get_resolver().url_patterns):
        module = importlib.import_module(pattern.callback.__module__)
        paths = getattr(module, "openapi_paths", None)
        item = paths().get(pattern.name) if paths is not None and pattern.name else None
        if item is not None:
            yield path_template(route), pattern, item


def document() -> dict[str, Any]:
    """The OpenAPI document, built from the URL configuration and the endpoints' own descriptions."""
    with translation.override("en"):
        paths = {template: item for template, _pattern, item in described()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Laojian partner API",
            "version": laojian.__version__,
            "description": "The REST API partner departments' systems call (issue 10). Answers are JSON "
                           "(UTF-8); a refusal is an `Error` with a stable `error` code.",
        },
        "paths": dict(sorted(paths.items())),
        "components": COMPONENTS,
    }
