"""Field encryption at rest and the blind index (issue 10; SEC-55, docs/data-inventory.md).

A sensitive value is stored as ``enc1:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>``. The
associated data is the field's label (``cases.worker.id_number``), so a ciphertext copied into another
column does not decrypt. The keys come from the environment, never from the database:

``LAOJIAN_FIELD_KEYS``  ``<id>:<base64 of 32 bytes>`` pairs separated by commas. The first encrypts; all
                        of them decrypt, so a new key goes in front and ``laojian rotate_keys``
                        re-encrypts every row with it before the old one is removed.
``LAOJIAN_INDEX_KEY``   base64 of 32 bytes: the HMAC-SHA256 key of the blind index, which finds a
                        worker by exact ID number without decrypting every row.

Without them (development and tests only) fixed development keys are used; the production profile
refuses to start without both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1"
NONCE_BYTES = 12
KEY_BYTES = 32


class DecryptionError(Exception):
    """A stored value that the configured keys cannot open (wrong key, changed row, or plain text)."""


@dataclass(frozen=True)
class Keys:
    current: str
    by_id: dict[str, bytes]
    index: bytes


def _decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{what} is not base64.") from None
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured(f"{what} must be {KEY_BYTES} bytes (base64 of 32 random bytes).")
    return key


def parse_keys(field_keys: str, index_key: str) -> Keys:
    """The keys from the two settings' text; a malformed one stops the start with a clear message."""
    by_id: dict[str, bytes] = {}
    for part in (p.strip() for p in field_keys.split(",") if p.strip()):
        key_id, sep, text = part.partition(":")
        if not sep or not key_id.isalnum():
            raise ImproperlyConfigured("LAOJIAN_FIELD_KEYS: each key is <id>:<base64>, the id letters and digits.")
        if key_id in by_id:
            raise ImproperlyConfigured(f"LAOJIAN_FIELD_KEYS names key {key_id} twice.")
        by_id[key_id] = _decode_key(text, f"LAOJIAN_FIELD_KEYS key {key_id}")
    if not by_id:
        raise ImproperlyConfigured("LAOJIAN_FIELD_KEYS holds no key.")
    return Keys(current=next(iter(by_id)), by_id=by_id, index=_decode_key(index_key, "LAOJIAN_INDEX_KEY"))


@cache
def _keys(field_keys: str, index_key: str) -> Keys:
    return parse_keys(field_keys, index_key)


def keys() -> Keys:
    return _keys(settings.LAOJIAN_FIELD_KEYS, settings.LAOJIAN_INDEX_KEY)


def new_key() -> str:
    """A fresh random key, base64, for either setting."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _aesgcm(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def encrypt(plain: str, label: str) -> str:
    """The stored form of ``plain`` for the field ``label``; a fresh nonce every time."""
    ring = keys()
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aesgcm(ring.by_id[ring.current]).encrypt(nonce, plain.encode(), label.encode())
    return f"{PREFIX}:{ring.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> str:
    """The id of the key a stored value was sealed with ("" for a value that is not sealed)."""
    prefix, _sep, rest = stored.partition(":")
    return rest.partition(":")[0] if prefix == PREFIX else ""


def decrypt(stored: str, label: str) -> str:
    from cryptography.exceptions import InvalidTag

    prefix, _sep, rest = stored.partition(":")
    key_id, _sep, body = rest.partition(":")
    if prefix != PREFIX or not body:
        raise DecryptionError(f"{label}: the stored value is not encrypted.")
    key = keys().by_id.get(key_id)
    if key is None:
        raise DecryptionError(f"{label}: sealed with key {key_id}, which LAOJIAN_FIELD_KEYS does not hold.")
    try:
        raw = base64.urlsafe_b64decode(body)
        return _aesgcm(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], label.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError(f"{label}: the stored value does not open with key {key_id}.") from None


def blind_index(value: str, label: str) -> str:
    """HMAC-SHA256 of the (normalised) value, keyed and bound to the field: equal values, equal index."""
    return hmac.new(keys().index, f"{label}\x00{value}".encode(), hashlib.sha256).hexdigest()
