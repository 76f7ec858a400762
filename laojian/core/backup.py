"""Backup and restore of a whole instance: the database, the files under the data directory, and a
manifest with their SHA-256 hashes and a fingerprint of the data (REL-02, REL-04, SEC-56).

A backup is one directory, ``laojian-backup-<UTC time>/``::

    manifest.json          what is in it, with hashes, and the fingerprint below
    database.sqlite3       SQLite: an online copy (the backup API), integrity-checked
    database.pgdump        PostgreSQL: ``pg_dump --format=custom`` of one exported snapshot
    files/...              the data directory's files (materials, examination records, partner data, keys)

The **fingerprint** is taken at the very point the database copy is taken (SQLite: read back from the
copy; PostgreSQL: inside the snapshot that pg_dump is given): the row count of every table and a
SHA-256 over rows that must survive unchanged, which apps register with :func:`register_digest`
(the approved conclusions, the audit chain heads). A restore goes into an empty instance, checks every
hash before it writes anything, and recomputes the fingerprint afterwards: a restore that does not
give back the same counts and digests is reported as failed.

Files are copied after the database: a file written meanwhile may be in the backup without its row
(harmless: nothing points to it); materials are never deleted, so no row points to a missing file.
Stored files are sealed by the application (``laojian/core/sealed_storage.py``) and copied as they
are: the manifest hashes the sealed bytes, and a restore needs the ``LAOJIAN_FIELD_KEYS`` of then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FILES = "files"
CHUNK = 1024 * 1024
# Not data: the database itself (copied through its own API), what is rebuilt (static files),
# backups, and half-written uploads a crash may leave.
_SKIP_DIRS = frozenset({"static", "backups"})
_SKIP_SUFFIXES = (".part", ".partial", ".tmp")
_DIGESTS: dict[str, str] = {}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the administrator."""


def register_digest(name: str, sql: str) -> None:
    """Declare rows whose content the fingerprint hashes: a SELECT in a fixed order, plain SQL that
    runs on both databases. Call from ``AppConfig.ready``."""
    if _DIGESTS.get(name, sql) != sql:
        raise ValueError(f"backup digest {name!r} is already registered with other SQL")
    _DIGESTS[name] = sql


# THE FINGERPRINT ---------------------------------------------------------------------------------

def _digest_rows(rows: Iterable[tuple[Any, ...]]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([_plain(v) for v in row], ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """One representation for what the two drivers return (PostgreSQL parses JSON and timestamps)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def fingerprint(cursor: Any, tables: Iterable[str]) -> dict[str, Any]:
    """Row counts of these tables and the registered digests, through any DB-API cursor."""
    counts = {}
    for table in sorted(tables):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (table names from the schema)
        counts[table] = cursor.fetchone()[0]
    digests = {}
    for name, sql in sorted(_DIGESTS.items()) if counts else ():  # an empty instance has nothing to digest
        cursor.execute(sql)
        digests[name] = _digest_rows(cursor.fetchall())
    return {"tables": counts, "digests": digests}


def differences(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, one line each (empty: the same)."""
    lines = []
    for key, kind in (("tables", _("table")), ("digests", _("digest"))):
        a, b = expected.get(key, {}), found.get(key, {})
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                lines.append(_("%(kind)s %(name)s: %(backup)s in the backup, %(restored)s restored") % {
                    "kind": kind, "name": name, "backup": a.get(name, "—"), "restored": b.get(name, "—")})
    return lines


def current_fingerprint() -> dict[str, Any]:
    with connection.cursor() as cursor:
        return fingerprint(cursor, connection.introspection.table_names(cursor))


# THE FILES ---------------------------------------------------------------------------------------

def data_dir() -> Path:
    return Path(settings.DATA_DIR)


def _database_files() -> set[Path]:
    names = set()
    db = settings.DATABASES["default"]
    for name in (db.get("NAME"), (db.get("TEST") or {}).get("NAME")):
        if name and str(name) != ":memory:":
            base = Path(name).resolve()
            names |= {base, *(base.with_name(base.name + s) for s in ("-wal", "-shm", "-journal"))}
    return names


def data_files(root: Path | None = None, *, skip: Iterable[Path] = ()) -> Iterator[Path]:
    """The files to back up under the data directory, relative to it, in a fixed order."""
    root = root or data_dir()
    if not root.exists():
        return
    skipped = _database_files() | {Path(p).resolve() for p in skip}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not (here == root and d in _SKIP_DIRS)
                             and (here / d).resolve() not in skipped)
        for filename in sorted(filenames):
            path = here / filename
            if path.resolve() in skipped or filename.endswith(_SKIP_SUFFIXES) or not path.is_file():
                continue
            yield path.relative_to(root)


def _copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy a file, fsync it, and return its SHA-256 and size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copymode(source, target)
    return digest.hexdigest(), size


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# THE DATABASE ------------------------------------------------------------------------------------

def _pg_env() -> tuple[dict[str, str], str]:
    db = connection.settings_dict
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env, str(db["NAME"])


def _tool(name: str) -> str:
    path = shutil.which(getattr(settings, f"LAOJIAN_{name.upper()}", name))
    if path is None:
        raise BackupError(_("%(tool)s is not installed: install the PostgreSQL client (Debian: postgresql-client).")
                          % {"tool": name})
    return path


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(_("%(tool)s failed: %(error)s") % {"tool": Path(args[0]).name,
                                                              "error": done.stderr.strip()[-2000:]})


def _sqlite_copy(target: Path) -> dict[str, Any]:
    connection.ensure_connection()
    # The same type detection as Django's connection, so the digests read the same values back.
    copy = sqlite3.connect(target, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
    try:
        connection.connection.backup(copy)
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(_("The copy of the database failed its integrity check: %(result)s") % {"result": check})
        tables = [r[0] for r in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return fingerprint(copy.cursor(), tables)
    finally:
        copy.close()


def _pg_dump(target: Path) -> dict[str, Any]:
    """Dump one exported snapshot and fingerprint that same snapshot."""
    env, name = _pg_env()
    pg_dump = _tool("pg_dump")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        found = fingerprint(cursor, connection.introspection.table_names(cursor))
        _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              f"--file={target}", name], env)
    return found


# BACKUP ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]


def backup(destination: Path, *, now: dt.datetime | None = None) -> Backup:
    """Back up the database and the data files into a new directory under ``destination``; written
    as ``<name>.partial`` and renamed when complete, so a crash never leaves something that looks whole."""
    import django

    from laojian import __version__

    now = now or dt.datetime.now(dt.UTC)
    destination.mkdir(parents=True, exist_ok=True)
    name = f"laojian-backup-{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}"
    final, work = destination / name, destination / f"{name}.partial"
    work.mkdir()
    try:
        if connection.vendor == "sqlite":
            db_file = work / SQLITE_FILE
            found = _sqlite_copy(db_file)
        elif connection.vendor == "postgresql":
            db_file = work / PG_FILE
            found = _pg_dump(db_file)
        else:
            raise BackupError(_("Backups support SQLite and PostgreSQL, not %(vendor)s.") % {"vendor": connection.vendor})
        files = []
        for relative in data_files(skip=[destination]):
            sha, size = _copy_hashed(data_dir() / relative, work / FILES / relative)
            files.append({"path": relative.as_posix(), "sha256": sha, "size": size})
        manifest = {
            "format": FORMAT, "created_at": now.isoformat(), "laojian": __version__, "django": django.get_version(),
            "vendor": connection.vendor,
            "database": {"file": db_file.name, "sha256": sha256_of(db_file), "size": db_file.stat().st_size},
            "files": files, "fingerprint": found,
            "materials_storage": settings.STORAGES["materials"]["BACKEND"],
        }
        with (work / MANIFEST).open("w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Backup(final, manifest)


# RESTORE -----------------------------------------------------------------------------------------

def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a backup, after checking every file against its hash."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(_("%(path)s is not a Laojian backup (no readable manifest.json).") % {"path": path}) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(_("This backup has format %(found)s; this version reads format %(wanted)s.")
                          % {"found": manifest.get("format"), "wanted": FORMAT})
    wanted = [(path / manifest["database"]["file"], manifest["database"]["sha256"])]
    wanted += [(path / FILES / entry["path"], entry["sha256"]) for entry in manifest["files"]]
    for file, sha in wanted:
        if not file.is_file():
            raise BackupError(_("The backup is incomplete: %(file)s is missing.") % {"file": file.relative_to(path)})
        if sha256_of(file) != sha:
            raise BackupError(_("The backup is damaged: %(file)s does not match its SHA-256. Nothing was restored.")
                              % {"file": file.relative_to(path)})
    return manifest


def _require_empty_instance(manifest: dict[str, Any]) -> None:
    if manifest["vendor"] != connection.vendor:
        raise BackupError(_("This is a %(backup)s backup; this instance runs on %(here)s. Restore it into a "
                            "%(backup)s instance.") % {"backup": manifest["vendor"], "here": connection.vendor})
    with connection.cursor() as cursor:
        if connection.introspection.table_names(cursor):
            raise BackupError(_("The database is not empty. A restore goes into an empty instance: a new "
                                "LAOJIAN_DATA_DIR, or an empty PostgreSQL database in DATABASE_URL."))
    clashes = [entry["path"] for entry in manifest["files"] if (data_dir() / entry["path"]).exists()]
    if clashes:
        raise BackupError(_("The data directory already holds files of the backup (e.g. %(file)s). A restore goes "
                            "into an empty instance.") % {"file": clashes[0]})


def restore(path: Path) -> list[str]:
    """Restore a backup into this (empty) instance; returns the differences between the restored
    data and the backup's fingerprint (empty when the restore is exact)."""
    manifest = read_manifest(path)
    _require_empty_instance(manifest)
    source = path / manifest["database"]["file"]
    if connection.vendor == "sqlite":
        target = Path(connection.settings_dict["NAME"])
        connection.close()
        partial = target.with_name(target.name + ".partial")
        _copy_hashed(source, partial)
        for suffix in ("-wal", "-shm", "-journal"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(partial, target)
    else:
        env, name = _pg_env()
        connection.close()
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={name}", str(source)], env)
    for entry in manifest["files"]:
        target = data_dir() / entry["path"]
        partial = target.with_name(target.name + ".partial")
        _copy_hashed(path / FILES / entry["path"], partial)
        os.replace(partial, target)
    return differences(manifest["fingerprint"], current_fingerprint())
