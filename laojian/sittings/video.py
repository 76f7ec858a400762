"""Video rooms for remote appraisal (远程鉴定), from a configurable provider.

The default provider names a room on the committee's self-hosted Jitsi-compatible server
(``LAOJIAN_VIDEO_BASE_URL``): a Jitsi room exists as soon as someone opens its URL, so making one
needs no call to the server. A provider for another system implements ``room_for``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from laojian.cases.models import Case


class VideoProvider(Protocol):
    def room_for(self, case: Case, starts_at: dt.datetime) -> str:
        """The URL the worker's local doctor and the experts open at the appointment."""


class JitsiRooms:
    """A hard-to-guess room name (no case number or name in it: URLs end up in logs) on the base URL."""

    def room_for(self, case: Case, starts_at: dt.datetime) -> str:
        base = settings.LAOJIAN_VIDEO_BASE_URL.rstrip("/")
        return f"{base}/laojian-{secrets.token_urlsafe(18)}"


def provider() -> VideoProvider:
    return import_string(settings.LAOJIAN_VIDEO_PROVIDER)()
