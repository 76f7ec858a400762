"""Workflow guards the experts app adds to the case workflow (registered in ``apps.py``).

Cases without a drawn panel (paper files, the demo city, panels assigned before the draw existed)
are not blocked: these guards only hold a drawn panel to its own rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from laojian.cases.workflow import Context, TransitionRefused
from laojian.experts import selectors

if TYPE_CHECKING:
    from laojian.cases.models import Case


def panel_not_short(case: Case, ctx: Context) -> None:
    """No scheduling while a seat of the drawn panel is empty (a decline that could not be replaced)."""
    panel = selectors.active_panel(case)
    if panel is not None and selectors.panel_is_short(panel):
        raise TransitionRefused(
            _("A seat of the expert panel is empty: draw a replacement before scheduling."), code="panel_short"
        )


def panel_confirmed(case: Case, ctx: Context) -> None:
    """The examination is recorded only once every drawn expert has confirmed."""
    panel = selectors.active_panel(case)
    if panel is not None and not selectors.panel_is_confirmed(panel):
        raise TransitionRefused(
            _("Not every expert of the panel has confirmed yet."), code="panel_not_confirmed"
        )
