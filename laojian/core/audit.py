"""The audit trail: append-only, hash-chained records of who did what, when, to which object.

Every entry belongs to one chain (one per committee, ``committee:<id>``, plus ``system``). Each
entry stores the hash of the previous entry of its chain and a SHA-256 over its own content, so a
row changed or deleted behind the application's back is found by :func:`verify` (SEC-28, SEC-54).
The chain head row is locked while appending, so two writers never give out the same sequence
number (the chain never forks). The database refuses UPDATE and DELETE on the table (migration
``0002_audit_append_only``); this module only ever inserts.

Call :func:`record` inside the same transaction as the business change it describes (SEC-50):
``transaction.atomic()`` here nests as a savepoint, so the entry commits or rolls back with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from laojian.core.errors import ApplicationError
from laojian.core.models import AuditChainHead, AuditEvent, Committee, User

SYSTEM_CHAIN = "system"

# Reasons a chain fails verification: stable codes for programs, with a translated label for people.
HASH_MISMATCH = "hash_mismatch"
LINK_BROKEN = "link_broken"
SEQUENCE_GAP = "sequence_gap"
HEAD_MISMATCH = "head_mismatch"

REASON_LABELS = {
    HASH_MISMATCH: _("hash mismatch: the entry was changed after it was written"),
    LINK_BROKEN: _("previous-hash link broken: an entry before it was changed or replaced"),
    SEQUENCE_GAP: _("sequence gap: an entry before it is missing"),
    HEAD_MISMATCH: _(
        "head does not match last entry: entries at the end are missing or were added outside the application"
    ),
}

_CHUNK = 2000


class AppendOnlyError(ApplicationError):
    """Something tried to change or delete an audit entry. Entries can only be added."""

    code = "audit_append_only"
    default_message = _("Audit entries cannot be changed or deleted.")


# CANONICAL FORM --------------------------------------------------------------------------------------


def normalise(value: Any) -> Any:
    """Return ``value`` as plain JSON data (str, int, float, bool, None, list, dict with str keys).

    Dates, datetimes, Decimals, UUIDs and lazy strings become strings via DjangoJSONEncoder. Done
    before hashing *and* storing, so the value read back from either database hashes the same.
    NaN and infinity are refused: PostgreSQL's jsonb cannot store them.
    """
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False))


def _canonical_number(value: int | float) -> str:
    """One spelling per numeric value, whichever database stored it.

    PostgreSQL's jsonb keeps numbers as decimals and prints them without exponent, so the float
    ``1e20`` comes back as the int ``100000000000000000000`` and ``1e-07`` as ``0.0000001``. Both
    sides are spelled here as the exact decimal the JSON text denotes: integers without a point,
    others in fixed notation without trailing zeros.
    """
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError("NaN and infinity cannot be stored in the audit trail")
    number = Decimal(repr(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def canonical_json(value: Any) -> str:
    """Serialise normalised data as canonical JSON: sorted keys, no spaces, UTF-8 text kept as is.

    The same as ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``
    except that numbers are spelled by :func:`_canonical_number`.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _canonical_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = sorted((str(key), item) for key, item in value.items())
        return (
            "{"
            + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{canonical_json(item)}" for key, item in items)
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON data; pass it through normalise() first")


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def compute_hash(event: AuditEvent) -> str:
    """SHA-256 (hex) over the canonical JSON of everything an entry says, including the previous hash."""
    payload = {
        "chain": event.chain,
        "seq": event.seq,
        "at": _timestamp(event.at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "committee_id": event.committee_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "ip_address": event.ip_address,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


# WRITING ---------------------------------------------------------------------------------------------


def chain_name(committee_id: int | None) -> str:
    """The chain an entry goes to: its committee's, or the system chain."""
    return f"committee:{committee_id}" if committee_id is not None else SYSTEM_CHAIN


def _actor_parts(actor: User | AnonymousUser | None) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk is None:
        return None, ""
    label = str(actor) or actor.get_username()
    return actor.pk, label[:150]


def record(
    action: str,
    *,
    actor: User | AnonymousUser | None = None,
    committee: Committee | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: dict | None = None,
    after: dict | None = None,
    ip_address: str = "",
) -> AuditEvent:
    """Append one entry to the audit trail and return it.

    ``committee`` chooses the chain; when it is None and ``obj`` has a ``committee_id``, that
    committee's chain is used (a Committee passed as ``obj`` uses its own chain), otherwise the
    system chain. ``obj`` fills ``object_type``
    (``app_label.model``) and ``object_id``. Never put secrets or full ID numbers in
    ``before``/``after``: the trail is kept for years and read by auditors.
    """
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
    if committee is not None:
        committee_id = committee.pk
    elif isinstance(obj, Committee):
        committee_id = obj.pk
    else:
        committee_id = getattr(obj, "committee_id", None)
    actor_id, actor_label = _actor_parts(actor)
    chain = chain_name(committee_id)
    before = normalise(before)
    after = normalise(after)

    pending = _BATCH.get()
    if pending is not None:  # inside ``batched()``: written, in this order, when the batch ends
        event = AuditEvent(chain=chain, at=timezone.now(), actor_id=actor_id, actor_label=actor_label,
                           committee_id=committee_id, action=action, object_type=object_type,
                           object_id=str(object_id), before=before, after=after, ip_address=(ip_address or "")[:45])
        pending.append(event)
        return event

    with transaction.atomic():
        # FOR UPDATE makes concurrent writers of one chain queue on PostgreSQL; SQLite ignores it
        # but starts write transactions with BEGIN IMMEDIATE, which serialises writers anyway.
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
        fields = {
            "chain": chain,
            "seq": head.last_seq + 1,
            "at": timezone.now(),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "committee_id": committee_id,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "before": before,
            "after": after,
            "ip_address": (ip_address or "")[:45],
            "prev_hash": head.last_hash,
        }
        fields["hash"] = compute_hash(AuditEvent(**fields))
        # Only ever an INSERT: entries are never saved a second time (see AppendOnlyError).
        event = AuditEvent.objects.create(**fields)
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


_BATCH: ContextVar[list[AuditEvent] | None] = ContextVar("laojian_audit_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """Collect the entries of a bulk operation and append them at its end: one locked head and one
    insert per chain instead of four statements an entry (a sitting of 200 workers writes ~1,000).

    Use it only inside the operation's own ``transaction.atomic()`` and only where any error aborts
    the whole operation (an entry must never outlive a change that was rolled back). The entries are
    chained in the order they were recorded; nothing reads them before the batch ends.
    """
    if _BATCH.get() is not None:  # already batching: the outer batch writes them
        yield
        return
    token = _BATCH.set([])
    try:
        yield
        events = _BATCH.get() or []
    finally:
        _BATCH.reset(token)
    if events:
        _append(events)


def _append(events: list[AuditEvent]) -> None:
    with transaction.atomic():
        for chain in dict.fromkeys(e.chain for e in events):
            head, _created = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
            seq, prev = head.last_seq, head.last_hash
            mine = [e for e in events if e.chain == chain]
            for event in mine:
                seq += 1
                event.seq, event.prev_hash = seq, prev
                event.hash = prev = compute_hash(event)
            AuditEvent.objects.bulk_create(mine, batch_size=500)
            head.last_seq, head.last_hash = seq, prev
            head.save(update_fields=["last_seq", "last_hash"])


def record_read(
    actor: User | AnonymousUser | None, obj: models.Model, fields: Iterable[str], *, ip_address: str = ""
) -> AuditEvent:
    """Record that ``actor`` saw sensitive fields of ``obj`` (SEC-27, PIPL Art. 51).

    Only the field names are stored, never the values: the log must not become a second copy
    of the medical data or ID numbers.
    """
    return record(
        "read_sensitive", actor=actor, obj=obj, after={"fields": list(fields)}, ip_address=ip_address
    )


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Keep only the keys whose values differ, so an entry shows what changed and nothing else.

    A key present on one side only appears in that side's dict.
    """
    keys = set(before) | set(after)
    changed = {key for key in keys if key not in before or key not in after or before[key] != after[key]}
    return (
        {key: before[key] for key in sorted(changed) if key in before},
        {key: after[key] for key in sorted(changed) if key in after},
    )


def client_ip(request: HttpRequest) -> str:
    """The client's address for the audit trail.

    ``X-Forwarded-For`` is set by whoever sends the request, so it is only believed when
    ``LAOJIAN_TRUST_X_FORWARDED_FOR`` says a reverse proxy in front of us sets it; then the
    right-most address (the one our proxy appended) is used.
    """
    meta = getattr(request, "META", {})
    address = meta.get("REMOTE_ADDR", "") or ""
    if getattr(settings, "LAOJIAN_TRUST_X_FORWARDED_FOR", False):
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            try:
                address = str(ipaddress.ip_address(forwarded[-1]))
            except ValueError:
                pass
    return address[:45]


# VERIFYING -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenEntry:
    id: int
    seq: int
    action: str


@dataclass(frozen=True)
class ChainReport:
    """The result of checking one chain. ``first_broken`` is None when ``ok`` or when only the head is wrong."""

    chain: str
    checked: int
    ok: bool
    first_broken: BrokenEntry | None = None
    reason: str = ""

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS[self.reason]) if self.reason else ""


def chains() -> list[str]:
    """Every chain that has a head or at least one entry (an entry without a head is itself a finding)."""
    names = set(AuditChainHead.objects.values_list("chain", flat=True))
    names.update(AuditEvent.objects.order_by().values_list("chain", flat=True).distinct())
    return sorted(names)


def _entries_beyond_head(chain: str) -> bool:
    """Entries numbered past the head were not written by :func:`record`, which moves both together.

    One statement compares them, so it sees one snapshot: an append committing meanwhile is no alarm.
    """
    head_seq = AuditChainHead.objects.filter(chain=chain).values("last_seq")[:1]
    return AuditEvent.objects.filter(chain=chain, seq__gt=Subquery(head_seq)).exists()


def verify_chain(chain: str) -> ChainReport:
    """Recompute one chain entry by entry; stop at the first entry that does not check out.

    The head is read first and only entries up to its sequence number are checked, so entries
    appended while this runs do not show up as a false alarm. Entries are streamed in chunks:
    memory stays flat however long the chain.
    """
    head = AuditChainHead.objects.filter(chain=chain).first()
    entries = AuditEvent.objects.filter(chain=chain).order_by("seq")
    if head is not None:
        entries = entries.filter(seq__lte=head.last_seq)
    checked = 0
    prev_seq, prev_hash = 0, ""
    for event in entries.iterator(chunk_size=_CHUNK):
        checked += 1
        reason = ""
        if event.seq != prev_seq + 1:
            reason = SEQUENCE_GAP
        elif event.prev_hash != prev_hash:
            reason = LINK_BROKEN
        elif compute_hash(event) != event.hash:
            reason = HASH_MISMATCH
        if reason:
            return ChainReport(chain, checked, False, BrokenEntry(event.pk, event.seq, event.action), reason)
        prev_seq, prev_hash = event.seq, event.hash
    if head is None and checked == 0:
        return ChainReport(chain, 0, True)  # no such chain: nothing to contradict
    if (
        head is None
        or head.last_seq != prev_seq
        or head.last_hash != prev_hash
        or _entries_beyond_head(chain)
    ):
        return ChainReport(chain, checked, False, None, HEAD_MISMATCH)
    return ChainReport(chain, checked, True)


def verify(chain: str | None = None) -> list[ChainReport]:
    """Check one chain, or all of them; a report per chain."""
    names = [chain] if chain is not None else chains()
    return [verify_chain(name) for name in names]
