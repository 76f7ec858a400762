"""Idempotency keys on POSTs (REL-20): a form sent twice, or an API call retried, does the work once.

**Forms.** Every ``<form method="post">`` of a page shown to a signed-in user gets a hidden
``idempotency_key`` with a fresh random value, written into the page as it leaves the server (no
template needs to know). A double click, a resend after a timeout or a reload of the result sends the
same key again. **API.** A client sends an ``Idempotency-Key`` header.

For a key seen before, by the same user (or the same API credentials):

- the first request finished: its response is sent again (status, redirect, body), nothing is done;
- it is still running: wait for it a few seconds, then send its response, or 409 if it is still busy;
- the key comes with other content: 422, nothing is done.

Only successes without cookies are kept (a failed request may be sent again and runs again); they
are kept ``LAOJIAN_IDEMPOTENCY_HOURS`` (48 by default, at least the 24 REL-20 asks) and then removed
by ``laojian cleanup``. HTMX forms are left out: they update the page in place and may be sent
again on purpose (calling the next worker is pressed once per worker). Views that read the request
body themselves (``csrf_exempt`` uploads) are left out for form posts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.core.models import IdempotencyKey

FIELD = "idempotency_key"
HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,80}$")
KEPT_HEADERS = ("Content-Type", "Location", "Content-Disposition", "HX-Redirect", "HX-Location", "HX-Refresh",
                "HX-Trigger")
MAX_BODY = 2 * 1024 * 1024
WAIT_SECONDS = 10.0
STALE = dt.timedelta(minutes=10)  # longer than any request may run behind the proxy's timeout
_FORM_TAG = re.compile(rb"<form\b[^>]*>", re.IGNORECASE)
_POST = re.compile(rb"""\bmethod\s*=\s*["']?post\b""", re.IGNORECASE)
_HTMX = re.compile(rb"\bhx-(post|put|patch|delete|boost)\b", re.IGNORECASE)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# Every HTMX POST of the site, and why sending it twice is harmless without a key (checked by
# core/tests/test_idempotency_htmx.py: an HTMX POST to a view not listed here fails the test, so a new
# creating HTMX action must either be made repeatable or be given a plain form with its key).
HTMX_REPEATABLE: dict[str, str] = {
    "review:discussion_vote": "sets the member's vote on the motion (one vote a member: a repeat leaves one)",
    "grading:combine_preview": "computes the combined grade for display and saves nothing",
    "documents:template_edit": "the HTMX request renders the preview only; saving is the plain form's button",
    "portal:draft": "overwrites the applicant's one draft (update_or_create), never adds one",
}


def hours() -> int:
    return getattr(settings, "LAOJIAN_IDEMPOTENCY_HOURS", 48)


def new_key() -> str:
    return secrets.token_urlsafe(24)


def add_keys_to_forms(html: bytes) -> bytes:
    """Each plain POST form gets its own hidden key right after its opening tag."""
    def add(match: re.Match[bytes]) -> bytes:
        tag = match.group(0)
        if not _POST.search(tag) or _HTMX.search(tag):
            return tag
        return tag + b'<input type="hidden" name="' + FIELD.encode() + b'" value="' + new_key().encode() + b'">'
    return _FORM_TAG.sub(add, html)


def _scope(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    credentials = request.headers.get("Authorization", "")
    if credentials:
        return "auth:" + hashlib.sha256(credentials.encode()).hexdigest()[:40]
    return None


def _is_form(request: HttpRequest) -> bool:
    return (request.content_type or "") in _FORM_TYPES


def _request_hash(request: HttpRequest) -> str:
    """What the request asks for: the form's fields (not the CSRF token) and files, or the raw body."""
    digest = hashlib.sha256(request.path.encode())
    if _is_form(request):
        for name, values in sorted(request.POST.lists()):
            if name not in ("csrfmiddlewaretoken", FIELD):
                digest.update(repr((name, values)).encode())
        for name, files in sorted(request.FILES.lists()):
            digest.update(repr((name, [(f.name, f.size) for f in files])).encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status)
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replay"] = "true"
    return response


def _refusal(message: str, status: int) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def _keepable(response: HttpResponse) -> bool:
    return (response.status_code < 400 and not response.cookies and not response.streaming
            and len(response.content) <= MAX_BODY)


class IdempotencyMiddleware:
    """See the module's docstring. After CSRF and authentication, so neither is bypassed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        record: IdempotencyKey | None = getattr(request, "_idempotency", None)
        if record is not None:
            self._finish(record, response)  # kept as sent the first time; a replay carries no fresh keys
        if (not response.streaming and "text/html" in response.get("Content-Type", "")
                and getattr(request, "user", None) is not None and request.user.is_authenticated):
            response.content = add_keys_to_forms(response.content)
        return response

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
                     ) -> HttpResponse | None:
        if request.method != "POST":
            return None
        scope = _scope(request)
        if scope is None:
            return None
        header = request.headers.get(HEADER)
        if header is None and (getattr(view_func, "csrf_exempt", False) or not _is_form(request)
                               or request.headers.get("HX-Request")):  # an HTMX preview sends the form's key too
            return None
        key = header if header is not None else request.POST.get(FIELD)
        if not key:
            return None
        if not KEY_RE.match(key):
            return _refusal(_("The idempotency key must be 16 to 80 letters, digits, - or _."), 400)
        body = _request_hash(request)
        try:
            with transaction.atomic():
                request._idempotency = IdempotencyKey.objects.create(scope=scope, key=key, path=request.path[:300],
                                                                     body_sha256=body)
            return None
        except IntegrityError:
            pass
        return self._seen_before(scope, key, body)

    def _seen_before(self, scope: str, key: str, body: str) -> HttpResponse:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            record = IdempotencyKey.objects.filter(scope=scope, key=key).first()
            if record is None:  # the first attempt failed meanwhile: this one may try again
                return _refusal(_("The first attempt with this form failed. Reload the page and send it again."), 409)
            if record.body_sha256 != body:
                return _refusal(_("This form was already sent with other content. Reload the page to start again."),
                                422)
            if record.state == IdempotencyKey.State.DONE:
                return _replay(record)
            if record.created_at < timezone.now() - STALE:  # its server stopped mid-request: let it go
                IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.PENDING).delete()
                return _refusal(_("The first attempt with this form failed. Reload the page and send it again."), 409)
            if time.monotonic() >= deadline:
                return _refusal(_("This form is still being processed. Wait a moment, then reload the page."), 409)
            time.sleep(0.1)

    def _finish(self, record: IdempotencyKey, response: HttpResponse) -> None:
        if not _keepable(response):
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            return
        headers = {name: response[name] for name in KEPT_HEADERS if name in response}
        IdempotencyKey.objects.filter(pk=record.pk).update(state=IdempotencyKey.State.DONE,
                                                           status=response.status_code, headers=headers,
                                                           body=response.content)


def expired(now: dt.datetime | None = None) -> int:
    """Remove the keys older than the retention period; how many were removed."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=hours())
    deleted, _detail = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
