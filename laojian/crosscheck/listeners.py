"""Workflow hooks of cross-checks (registered from AppConfig.ready).

While a case has unresolved flags (open, or waiting for a letter's reply) its conclusion cannot
be approved, unless a leader has recorded an override with a written reason; the approval then
uses it, once (``services.conclusion_check``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from laojian.cases.workflow import Context, register_guard

if TYPE_CHECKING:
    from laojian.cases.models import Case


def conclusion_blocked_by_open_flags(case: Case, ctx: Context) -> None:
    from laojian.crosscheck.services import conclusion_check  # services import the cases services

    conclusion_check(case, ctx.actor)


register_guard("conclude", conclusion_blocked_by_open_flags)
