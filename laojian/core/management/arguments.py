"""Argument parsing shared by Laojian's management commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils.translation import gettext as _


def parse_date(value: str) -> dt.date:
    """A YYYY-MM-DD command-line date, or a CommandError that says how to write one."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(value)s is not a valid date; write it as YYYY-MM-DD, e.g. 2025-01-20.") % {"value": value}
        ) from None
