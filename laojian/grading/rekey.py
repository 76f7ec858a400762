"""Lift the signed-opinion triggers while the field keys rotate (laojian/core/keyrotation.py).

A signed opinion never changes; re-encrypting its findings under a new key changes only the
ciphertext. The triggers of migration 0002 are dropped and put back inside the rotation's
transaction, so a failure puts them back by rolling back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module


def statements(kind: str, vendor: str) -> list[str]:
    """The trigger statements of migration 0002: kind "INSTALL" or "REMOVE"."""
    triggers = import_module("laojian.grading.migrations.0002_signed_opinions_immutable")
    return getattr(triggers, kind).get(vendor, [])


@contextmanager
def signed_rows_rewritable(connection) -> Iterator[None]:
    with connection.cursor() as cursor:
        for statement in statements("REMOVE", connection.vendor):
            cursor.execute(statement)
    yield  # no finally: on an error the caller's transaction rolls the drop back
    with connection.cursor() as cursor:
        for statement in statements("INSTALL", connection.vendor):
            cursor.execute(statement)
