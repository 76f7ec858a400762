"""Deadline badges, as template tags rather than includes: the worklist draws 50 per page."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

register = template.Library()

_RISK = {
    "overdue": ("●", gettext_lazy("Overdue")),
    "at_risk": ("▲", gettext_lazy("Due soon")),
    "ok": ("✓", gettext_lazy("On track")),
}


@register.simple_tag
def days_left_text(due: Any) -> str:
    """'3 days left', 'due today' or '2 days overdue' for a ``views.Due``; empty when not counting."""
    days = getattr(due, "days_left", None)
    if days is None:
        return ""
    if days > 0:
        return ngettext("%(days)s day left", "%(days)s days left", days) % {"days": days}
    if days == 0:
        return _("due today")
    return ngettext("%(days)s day overdue", "%(days)s days overdue", -days) % {"days": -days}


@register.simple_tag
def risk_badge(risk: str | None) -> SafeString | str:
    """A risk badge that says its meaning in words as well as colour."""
    if risk not in _RISK:
        return ""
    mark, label = _RISK[risk]
    return format_html('<span class="badge risk-{}"><span aria-hidden="true">{}</span> {}</span>',
                       risk, mark, label)


@register.simple_tag
def due_summary(due: Any) -> SafeString:
    """The next deadline of a case: date, which clock, days left and the risk badge."""
    if not getattr(due, "date", None):
        return format_html('<span class="muted">{}</span>', _("no deadline running"))
    label = format_html('<span class="due-label muted">{}</span>', due.label) if due.label else ""
    return format_html(
        '<span class="due"><span class="due-date">{}</span> {} <span class="due-left">{}</span> {}</span>',
        date_filter(due.date), label, days_left_text(due), risk_badge(due.risk),
    )
