"""Re-encrypt every sealed field under the current key and recompute the blind indexes (issue 10).

Run by ``laojian rotate_keys`` after a new key was put first in ``LAOJIAN_FIELD_KEYS`` (or a new
``LAOJIAN_INDEX_KEY`` was set); docs/data-inventory.md gives the whole procedure. Stored files
(``laojian/core/sealed_storage.py``) are re-sealed after the rows, one file at a time, each
replaced whole, so a run that stops half-way is simply run again. The plain values
do not change, so a row that the application otherwise never updates (a signed opinion) may be
rewritten here: an app whose database refuses such updates registers a guard that lifts the refusal
for the rotation only, inside the same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models, transaction

from laojian.core import audit
from laojian.core.fields import BlindIndexField, Encrypted
from laojian.core.sealed_storage import SealedFileError, SealedStorage

Guard = Callable[[object], AbstractContextManager[None]]
_GUARDS: list[Guard] = []
CHUNK = 500


def register_guard(guard: Guard) -> None:
    """``guard(connection)`` is entered around the rotation (an app's ``ready()`` calls this)."""
    if guard not in _GUARDS:
        _GUARDS.append(guard)


@dataclass(frozen=True)
class Sealed:
    model: type[models.Model]
    encrypted: tuple[str, ...]
    indexes: tuple[BlindIndexField, ...]


def sealed_models() -> list[Sealed]:
    """Every model with an encrypted field or a blind index, with those fields."""
    found = []
    for model in apps.get_models():
        fields = model._meta.concrete_fields
        encrypted = tuple(f.name for f in fields if isinstance(f, Encrypted))
        indexes = tuple(f for f in fields if isinstance(f, BlindIndexField))
        if encrypted or indexes:
            found.append(Sealed(model, encrypted, indexes))
    return found


@contextlib.contextmanager
def _guards_lifted() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for guard in _GUARDS:
            stack.enter_context(guard(connection))
        yield


def rotate(*, actor=None) -> dict[str, int]:
    """Rewrite every sealed row; all or nothing. Returns rows rewritten per model label."""
    counts: dict[str, int] = {}
    with transaction.atomic(), _guards_lifted():
        for sealed in sealed_models():
            names = [*sealed.encrypted, *(f.name for f in sealed.indexes)]
            pks = list(sealed.model._base_manager.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(pks), CHUNK):
                rows = list(sealed.model._base_manager.filter(pk__in=pks[start:start + CHUNK]).only("pk", *names))
                for row in rows:
                    for index in sealed.indexes:
                        setattr(row, index.attname, index.index_of(getattr(row, index.source) or ""))
                sealed.model._base_manager.bulk_update(rows, names)
            counts[sealed.model._meta.label_lower] = len(pks)
        audit.record("keys.rotated", actor=actor, object_type="core.fieldkeys",
                     after={"rows": sum(counts.values()), "models": len(counts)})
    return counts


# FILES --------------------------------------------------------------------------------------------

@dataclass
class FileReport:
    resealed: int = 0  # sealed again under the current key (legacy plain files included)
    current: int = 0  # already under the current key: left alone
    failed: list[str] = field(default_factory=list)  # "name: why" of files that do not open


def sealed_storages() -> list[SealedStorage]:
    """One instance of every sealed storage a model's file field uses (each holds its own files)."""
    found: dict[type, SealedStorage] = {}
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            storage = getattr(f, "storage", None)
            if isinstance(f, models.FileField) and isinstance(storage, SealedStorage):
                found.setdefault(type(storage), storage)
    return list(found.values())


def reseal_files(*, actor=None) -> FileReport:
    """Seal every stored file under the current key; files already under it are skipped, so the
    run is idempotent. A file that does not open is reported and left as it is."""
    report = FileReport()
    for storage in sealed_storages():
        try:
            names = list(storage.names())
        except FileNotFoundError:  # nothing was ever stored
            continue
        for name in names:
            try:
                if storage.reseal(name):
                    report.resealed += 1
                else:
                    report.current += 1
            except (SealedFileError, OSError) as exc:
                report.failed.append(f"{name}: {exc}")
    audit.record("keys.files_resealed", actor=actor, object_type="core.fieldkeys",
                 after={"resealed": report.resealed, "current": report.current, "failed": len(report.failed)})
    return report
