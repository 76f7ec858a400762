"""Small cross-cutting middleware."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from laojian.core import audit, auth


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


class ContentSecurityPolicyMiddleware:
    """Send ``LAOJIAN_CSP`` on every response (SEC-17): no inline script or style, no framing.

    With ``LAOJIAN_CSP_REPORT_ONLY`` the same policy goes out as
    ``Content-Security-Policy-Report-Only``: browsers report violations but block nothing. A
    view that sets its own policy keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        header = "Content-Security-Policy-Report-Only" if settings.LAOJIAN_CSP_REPORT_ONLY else "Content-Security-Policy"
        if settings.LAOJIAN_CSP and header not in response:
            response[header] = settings.LAOJIAN_CSP
        return response


class SessionSecurityMiddleware:
    """What a signed-in session must satisfy on every request, checked in this order.

    1. Absolute lifetime (SEC-13): ``LAOJIAN_SESSION_MAX_SECONDS`` after login() the session ends,
       however active it was (the idle timeout is SESSION_COOKIE_AGE).
    2. Second factor (SEC-07): a session that reached login() without the second step, for a user
       who needs it, ends. Sessions made by the staff login carry their mark from the start; others
       are checked once and marked (one query), so the check costs nothing afterwards.
    3. Password age (SEC-08): a user whose password expired is sent to the change page until changed.

    An ended session is flushed and the request goes on as anonymous: pages that need a user send
    it to the login page. Each end is written to the audit trail.
    """

    ALLOWED_WHILE_PASSWORD_EXPIRED = ("password_change", "logout", "set_language")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and session is not None and user.is_authenticated:
            ended = self._end_reason(request, user, session)
            if ended:
                audit.record("session_ended", actor=user, obj=user, after={"reason": ended},
                             ip_address=audit.client_ip(request))
                session.flush()
                request.user = AnonymousUser()
                if ended == "max_age":
                    messages.info(request, _("Your session reached its time limit. Please sign in again."))
            elif session.get(auth.PASSWORD_EXPIRED_KEY) and not self._allowed_while_expired(request):
                return redirect("password_change")
        return self.get_response(request)

    def _end_reason(self, request: HttpRequest, user, session) -> str:
        now = int(time.time())
        login_at = session.get(auth.LOGIN_AT_KEY)
        if login_at is None:
            session[auth.LOGIN_AT_KEY] = now  # a session from before this check: its clock starts now
        elif now - int(login_at) >= settings.LAOJIAN_SESSION_MAX_SECONDS:
            return "max_age"
        mark = session.get(auth.SECOND_FACTOR_KEY)
        if mark is None or (mark == auth.EXEMPT_OPTIONAL and auth.second_factor_required()):
            mark = auth.second_factor_mark(user)
            if mark is None:
                return "second_factor_missing"
            session[auth.SECOND_FACTOR_KEY] = mark
        return ""

    def _allowed_while_expired(self, request: HttpRequest) -> bool:
        path = request.path_info
        return any(path == reverse(name) for name in self.ALLOWED_WHILE_PASSWORD_EXPIRED)


refusals_log = logging.getLogger("laojian.access.refused")


def _row_id(value: object) -> bool:
    """A row id, safe to log: digits, and too short to be an ID or phone number typed into a path."""
    text = str(value)
    return text.isdigit() and len(text) <= 10


class RefusalLogMiddleware:
    """Log every 403 and 404 answered to a signed-in user (SEC-27, issue 10).

    The case scoping logs whether a case was out of scope or missing (``laojian.access``); this logs
    every other object the same way, whichever view answered: the user's id, the URL's name and the
    numeric ids in the path. Other path values (keys, tokens) are named, never written.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if response.status_code in (403, 404) and user is not None and user.is_authenticated:
            match = getattr(request, "resolver_match", None)
            where = match.view_name if match else "(no URL)"
            ids = ", ".join(f"{name}={value if _row_id(value) else '…'}"
                            for name, value in (match.kwargs.items() if match else ()))
            refusals_log.info("%s answered to user %s for %s (%s) %s", response.status_code, user.pk, where, ids,
                              request.method)
        return response
