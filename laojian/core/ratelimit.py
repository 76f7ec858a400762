"""Rate limits for public pages, applied by URL name from ``LAOJIAN_RATE_LIMITS`` (SEC-30).

The public pages (document verification ``/v/<code>/``, the portal's SMS sign-in) need no account,
so the only brake on enumeration and SMS bombing is a count per client. Rules are declared in
settings, by URL name, so the apps' views stay as they are::

    LAOJIAN_RATE_LIMITS = {"documents:verify": [{"scope": "ip", "limit": 60, "window": 600}],
                           "portal:sign_in": [{"scope": "post:phone", "limit": 10, "window": 900,
                                               "methods": ["POST"]}]}

``scope`` is ``ip`` (the client address, see ``audit.client_ip``) or ``post:<field>`` /
``get:<field>`` (a form value, compared without spaces, dashes or case). A request over any of
its rules gets 429 with a page in the user's language and ``Retry-After``. Counts live in the
database (``RateCounter``, one row per rule and client, fixed windows), so every worker sees the
same numbers; the key is an HMAC, so phone numbers are not stored. The first refusal of a window is
written to the audit trail.

:func:`rate_limited` is the same check as a view decorator, for views that want one in code.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from laojian.core import audit
from laojian.core.models import RateCounter

logger = logging.getLogger(__name__)

# Rows older than this are deleted now and then: longer than any sensible window.
_STALE_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    name: str  # the URL name the rule belongs to
    scope: str
    limit: int
    window: int  # seconds
    methods: frozenset[str] | None = None

    @classmethod
    def parse(cls, name: str, raw: dict[str, Any]) -> Rule:
        methods = raw.get("methods")
        return cls(name=name, scope=str(raw["scope"]), limit=int(raw["limit"]), window=int(raw["window"]),
                   methods=frozenset(m.upper() for m in methods) if methods else None)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: every rule of ``LAOJIAN_RATE_LIMITS`` parses, with a known scope (fail at start-up)."""
    table = settings.LAOJIAN_RATE_LIMITS
    if not isinstance(table, dict):
        return [checks.Error("LAOJIAN_RATE_LIMITS must map URL names to lists of rules", id="laojian.E101")]
    errors = []
    for name, rules in table.items():
        for raw in rules if isinstance(rules, list) else [rules]:
            try:
                rule = Rule.parse(name, raw)
                valid = (rule.limit > 0 and rule.window > 0
                         and (rule.scope == "ip" or re.fullmatch(r"(post|get):\w+", rule.scope)))
            except (KeyError, TypeError, ValueError, AttributeError):
                valid = False
            if not valid:
                errors.append(checks.Error(
                    f"LAOJIAN_RATE_LIMITS[{name!r}] has an invalid rule: {raw!r}",
                    hint='Each rule is {"scope": "ip" | "post:<field>" | "get:<field>", "limit": N, "window": '
                         'seconds, "methods": [...] (optional)}.',
                    id="laojian.E102",
                ))
    return errors


def rules_for(name: str) -> list[Rule]:
    return [Rule.parse(name, raw) for raw in settings.LAOJIAN_RATE_LIMITS.get(name, ())]


def _client_value(rule: Rule, request: HttpRequest) -> str | None:
    if rule.scope == "ip":
        return audit.client_ip(request) or None
    source, _sep, field = rule.scope.partition(":")
    data = {"post": request.POST, "get": request.GET}.get(source) if field else None
    if data is None:
        raise ValueError(f"unknown rate-limit scope {rule.scope!r} for {rule.name!r}")
    value = re.sub(r"[\s\-]", "", str(data.get(field, ""))).casefold()
    return value or None


def _key(rule: Rule, value: str) -> str:
    material = f"{rule.name}|{rule.scope}|{rule.window}|{value}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).hexdigest()


def _window_start(now: dt.datetime, window: int) -> dt.datetime:
    seconds = int(now.timestamp())
    return dt.datetime.fromtimestamp(seconds - seconds % window, tz=dt.UTC)


def hit(key: str, window: int, now: dt.datetime | None = None) -> tuple[int, dt.datetime]:
    """Count one request for ``key`` in the current window; return the count so far and the window's end.

    Race-safe on both databases: increments and window resets are conditional UPDATEs, and a lost
    race to create the row falls back to the increment.
    """
    now = now or timezone.now()
    start = _window_start(now, window)
    counters = RateCounter.objects.filter(key=key)
    with transaction.atomic():
        if not counters.filter(window_start=start).update(hits=F("hits") + 1):
            if not counters.filter(window_start__lt=start).update(window_start=start, hits=1):
                try:
                    with transaction.atomic():
                        RateCounter.objects.create(key=key, window_start=start, hits=1)
                except IntegrityError:
                    counters.filter(window_start=start).update(hits=F("hits") + 1)
                else:
                    RateCounter.objects.filter(window_start__lt=now - _STALE_AFTER).delete()
        hits = counters.values_list("hits", flat=True).first() or 0
    return hits, start + dt.timedelta(seconds=window)


def check(name: str, request: HttpRequest) -> HttpResponse | None:
    """Count this request against the rules of URL name ``name``; a 429 response if one is exceeded."""
    now = timezone.now()
    for rule in rules_for(name):
        if rule.methods is not None and request.method not in rule.methods:
            continue
        value = _client_value(rule, request)
        if value is None:
            continue
        hits, window_end = hit(_key(rule, value), rule.window, now)
        if hits > rule.limit:
            if hits == rule.limit + 1:
                audit.record("rate_limited", after={"rule": rule.name, "scope": rule.scope, "limit": rule.limit,
                                                    "window": rule.window}, ip_address=audit.client_ip(request))
                logger.warning("rate limit %s (%s) exceeded", rule.name, rule.scope)
            return too_many_requests(request, retry_after=max(1, int((window_end - now).total_seconds())))
    return None


def too_many_requests(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    """429, in the user's language, saying when to try again."""
    minutes = max(1, -(-retry_after // 60))
    response = render(request, "core/rate_limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class RateLimitMiddleware:
    """Apply ``LAOJIAN_RATE_LIMITS`` to the views they name, before the view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any):
        match = getattr(request, "resolver_match", None)
        if match is None or not match.view_name or match.view_name not in settings.LAOJIAN_RATE_LIMITS:
            return None
        return check(match.view_name, request)


def rate_limited(name: str) -> Callable:
    """Decorator: apply the rules of ``LAOJIAN_RATE_LIMITS[name]`` to a view (same as the middleware)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return check(name, request) or view(request, *args, **kwargs)

        return wrapped

    return decorator
