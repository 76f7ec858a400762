"""Tags other apps' pages use to show cross-checks without knowing their models: the case page's
link, and the override form next to the conclusion's approve button (grading)."""

from __future__ import annotations

from typing import Any

from django import template

from laojian.crosscheck import selectors
from laojian.crosscheck.models import Flag

register = template.Library()


@register.inclusion_tag("crosscheck/_case_link.html", takes_context=True)
def crosscheck_case_link(context: dict[str, Any], case: Any) -> dict[str, Any]:
    """Staff who see flags get the case's cross-check page (with its open doubts); the applicant
    and the clerk get the claimed care."""
    user = context["request"].user
    may_view = user.has_perm("crosscheck.view_flag")
    return {
        "case": case,
        "may_view": may_view,
        "may_enter": user.has_perm("crosscheck.enter_claimed_care"),
        "open": (Flag.objects.filter(case=case, state__in=selectors.UNRESOLVED).count() if may_view else 0),
    }


def _covering_override(case: Any, flags: list[Flag]) -> Any:
    """The unused override the next approval would use: one that covers every open flag."""
    pending = selectors.pending_override(case) if flags else None
    if pending is not None and {flag.pk for flag in flags} <= set(pending.open_flags):
        return pending
    return None


@register.inclusion_tag("crosscheck/_override.html", takes_context=True)
def crosscheck_override(context: dict[str, Any], case: Any) -> dict[str, Any]:
    """While doubts are open: say so next to the approve button, and give a leader who may
    override the form for the written reason (or show the override already recorded)."""
    request = context["request"]
    flags = list(Flag.objects.filter(case=case, state__in=selectors.UNRESOLVED).order_by("found_at", "id"))
    return {
        "case": case,
        "flags": flags,
        "shown": [selectors.flag_short(flag) for flag in flags[:5]],
        "may_override": bool(flags) and request.user.has_perm("crosscheck.override_flags"),
        "pending": _covering_override(case, flags),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
