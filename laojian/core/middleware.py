"""Small cross-cutting middleware."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class NoStoreForAuthenticatedMiddleware:
    """Pages for a signed-in user carry case data: browsers and proxies must not keep them (SEC-26)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


class SessionIdleRefreshMiddleware:
    """Slide the idle timeout (SESSION_COOKIE_AGE) without a session write on every request.

    ``SESSION_SAVE_EVERY_REQUEST`` would turn every page view into a write transaction, which
    on SQLite queues every reader behind the write lock. Touching the session at most once a
    minute keeps the timeout within a minute of exact.
    """

    REFRESH_SECONDS = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            if now - int(session.get("_refreshed", 0)) >= self.REFRESH_SECONDS:
                session["_refreshed"] = now
        return self.get_response(request)
