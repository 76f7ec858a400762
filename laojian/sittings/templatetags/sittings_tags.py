"""The case page's appointment box, without the cases app knowing the sittings models: the live
appointment (when, where, how), what the case waits for (extra examinations), and the link."""

from __future__ import annotations

from typing import Any

from django import template

from laojian.sittings import selectors, visits

register = template.Library()


@register.inclusion_tag("sittings/_case_box.html", takes_context=True)
def sittings_case_box(context: dict[str, Any], case: Any) -> dict[str, Any]:
    user = context["request"].user
    staff = user.has_perm("cases.view_committee_cases")
    return {
        "case": case,
        "live": selectors.live_appointment(case),
        "waiting_for": list(selectors.open_extra_examinations(case)),
        "staff": staff,
        "can_plan": user.has_perm("sittings.plan_sitting"),
    }


register.inclusion_tag("sittings/remote/_my_rooms.html", takes_context=True)(visits.my_remote_rooms)
