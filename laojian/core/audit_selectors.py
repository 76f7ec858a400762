"""Reading the audit trail: which entries an auditor may see, the filters, and the chain check.

The auditor (``core.view_auditevent``) reads the entries of their own committee; the auditor of a
provincial committee also those of its city committees. Entries of the system chain (sign-ins and
other events without a committee) are shown when their actor belongs to a committee in scope.
Nothing is shown that the entry itself does not hold.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from laojian.core import audit
from laojian.core.calendar import local_day_bounds
from laojian.core.models import AuditEvent, Committee

if TYPE_CHECKING:
    from laojian.core.models import User

PERMISSION = "core.view_auditevent"
# Longer details are cut here: the page is for finding an entry, the admin shows it whole.
DETAILS_MAX = 300


@dataclass(frozen=True)
class TrailFilters:
    """What the auditor narrows the list to; empty values do not filter."""

    first: dt.date | None = None
    last: dt.date | None = None
    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""

    def for_audit(self) -> dict[str, Any]:
        """The filters used, for the ``audit.read`` entry: the actor text is a name, so only its use is kept."""
        used = {key: value for key, value in asdict(self).items() if value not in (None, "")}
        if "actor" in used:
            used["actor"] = True
        return used


def committee_ids_in_audit_scope(user: User) -> list[int]:
    """The committees whose entries ``user`` may read: none without the permission or a committee."""
    if not (user.is_authenticated and user.committee_id and user.has_perm(PERMISSION)):
        return []
    own = user.committee
    if own.level == Committee.Level.PROVINCE:
        return list(Committee.objects.filter(Q(pk=own.pk) | Q(province_id=own.pk))
                    .order_by("pk").values_list("pk", flat=True))
    return [own.pk]


def events_visible_to(user: User, filters: TrailFilters | None = None) -> QuerySet[AuditEvent]:
    """The entries ``user`` may read, narrowed by ``filters``, newest first."""
    ids = committee_ids_in_audit_scope(user)
    if not ids:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(
        Q(committee_id__in=ids) | Q(committee__isnull=True, actor__committee_id__in=ids)
    )
    f = filters or TrailFilters()
    if f.first is not None:
        events = events.filter(at__gte=local_day_bounds(f.first, f.first)[0])
    if f.last is not None:
        events = events.filter(at__lt=local_day_bounds(f.last, f.last)[1])
    if f.action:
        events = events.filter(action__startswith=f.action)
    if f.actor:
        events = events.filter(actor_label__icontains=f.actor)
    if f.object_type:
        events = events.filter(object_type=f.object_type.lower())
    if f.object_id:
        events = events.filter(object_id=f.object_id)
    return events.defer("prev_hash", "hash").order_by("-at", "-id")


def chains_in_scope(user: User) -> list[str]:
    """The chains the entries of ``user``'s scope live in: their committees' and the system chain."""
    ids = committee_ids_in_audit_scope(user)
    if not ids:
        return []
    return [audit.chain_name(pk) for pk in ids] + [audit.SYSTEM_CHAIN]


def verify_scope(user: User) -> list[audit.ChainReport]:
    """Recompute every chain in ``user``'s scope (reads each chain whole: on demand, not per page)."""
    return [report for name in chains_in_scope(user) for report in audit.verify(name)]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_details(event: AuditEvent, limit: int | None = DETAILS_MAX) -> str:
    """``before → after`` as compact JSON text (escaped by the template), cut at ``limit`` if given."""
    parts = []
    if event.before is not None:
        parts.append(_compact(event.before))
    if event.after is not None:
        parts.append(_compact(event.after))
    text = " → ".join(parts)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
