"""What a crash can leave behind, found and removed: half-written files and stored files no row
points to (REL-03, the issue's crash-safety point).

Uploads are written to storage before their row commits; a server killed in between leaves a file
without a row, which nobody can open (files go out only through the views that read the row). Files
written as ``*.part`` / ``*.partial`` and renamed when whole (imports, backups, restores) leave the
partial file. Both are only touched once they are older than a grace period, so an upload or a
backup that is still running is never mistaken for debris.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import models

from laojian.core import audit, idempotency

TEMP_SUFFIXES = (".part", ".partial", ".tmp")
GRACE = dt.timedelta(hours=24)


@dataclass
class Report:
    temp: list[Path] = field(default_factory=list)  # half-written files and directories
    orphans: list[str] = field(default_factory=list)  # names in the materials storage without a row
    expired_keys: int = 0  # idempotency keys past their retention, removed with the debris
    deleted: bool = False
    note: str = ""


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def temp_files(root: Path, *, cutoff: float) -> Iterator[Path]:
    """The half-written files and directories under ``root`` last touched before ``cutoff``."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.name.endswith(TEMP_SUFFIXES) and _older(path, cutoff) and not any(
                parent.name.endswith(TEMP_SUFFIXES) for parent in path.relative_to(root).parents):
            yield path


def upload_temp_files(*, cutoff: float) -> Iterator[Path]:
    """Uploads Django was still receiving when its server died: every file of
    ``FILE_UPLOAD_TEMP_DIR`` (nothing else is written there) last touched before ``cutoff``."""
    root = Path(settings.FILE_UPLOAD_TEMP_DIR) if getattr(settings, "FILE_UPLOAD_TEMP_DIR", None) else None
    if root is None or not root.exists():
        return
    for path in sorted(root.iterdir()):
        if path.is_file() and _older(path, cutoff):
            yield path


def referenced_names() -> set[str]:
    """Every file name a row of any model stores in the materials storage."""
    names: set[str] = set()
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if isinstance(f, models.FileField) and f.concrete:
                names.update(model._default_manager.exclude(**{f.name: ""}).exclude(**{f"{f.name}__isnull": True})
                             .values_list(f.name, flat=True).iterator(chunk_size=10_000))
    return names


def orphaned_files(*, cutoff: float) -> tuple[list[str], str]:
    """Files of the materials storage older than ``cutoff`` that no row names, and a note when the
    storage cannot be listed here (an object store keeps its own lifecycle rules)."""
    backend = storages["materials"]
    if not isinstance(backend, FileSystemStorage):
        return [], f"the materials storage is {type(backend).__name__}: orphans are not looked for"
    root = Path(backend.location)
    if not root.exists():
        return [], ""
    known = referenced_names()
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(TEMP_SUFFIXES) and _older(path, cutoff):
            name = path.relative_to(root).as_posix()
            if name not in known:
                found.append(name)
    return found, ""


def cleanup(*, grace: dt.timedelta = GRACE, delete: bool = False, now: float | None = None) -> Report:
    """Find (and with ``delete``, remove) the debris older than ``grace``; a removal is audited."""
    cutoff = (now if now is not None else time.time()) - grace.total_seconds()
    temp = list(temp_files(Path(settings.DATA_DIR), cutoff=cutoff))
    report = Report(temp=temp + [p for p in upload_temp_files(cutoff=cutoff) if p not in temp])
    report.orphans, report.note = orphaned_files(cutoff=cutoff)
    if delete:
        report.expired_keys = idempotency.expired()
    if delete and (report.temp or report.orphans):
        for path in report.temp:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        backend = storages["materials"]
        for name in report.orphans:
            backend.delete(name)
        audit.record("system.cleanup", after={"temp": [str(p) for p in report.temp], "orphans": report.orphans})
        report.deleted = True
    return report
