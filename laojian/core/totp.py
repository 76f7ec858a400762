"""The second factor for staff: time-based one-time passwords (RFC 6238) and recovery codes.

SEC-07 / SEC-43 (MLPS level 3) ask for two factors, one of them cryptographic, for every staff
sign-in. A code is HOTP (RFC 4226: HMAC-SHA1 over the step counter, dynamic truncation) of the
30-second step since the Unix epoch, six digits. A code is accepted for the current step and one
step either side (clock drift), and only for a step newer than the last one accepted, so a code
seen over a shoulder cannot be used again (ASVS V6.5.1).

The shared secret is stored encrypted with AES-256-GCM under ``LAOJIAN_TOTP_ENCRYPTION_KEY``
(or a key derived from ``SECRET_KEY``), bound to the user's id, and shown only until the first
code confirms it. Recovery codes are 80 random bits each; only their SHA-256 is kept, and each
works once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import struct
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from laojian.core import audit
from laojian.core.models import RecoveryCode, TOTPDevice, User

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # accept the step before and the step after the current one
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA1 block the RFC 4226 reference uses
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper
_RECOVERY_LENGTH = 16  # 16 symbols of a 31-letter alphabet: > 79 bits
_ENCRYPTED_PREFIX = "v1:"


# RFC 4226 / RFC 6238 ----------------------------------------------------------------------------------


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """The HOTP value of ``counter`` (RFC 4226 section 5.3), zero-padded to ``digits``."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: float | None = None) -> int:
    """The RFC 6238 counter T = floor((now - T0) / X) with T0 = 0 and X = 30 seconds."""
    return int((time.time() if at is None else at) // STEP_SECONDS)


def totp(key: bytes, at: float | None = None, digits: int = DIGITS, digest: str = "sha1") -> str:
    """The code an authenticator app shows at Unix time ``at``."""
    return hotp(key, time_step(at), digits=digits, digest=digest)


def matching_step(key: bytes, code: str, *, at: float | None = None, after_step: int = 0) -> int | None:
    """The step (within ±``DRIFT_STEPS`` of ``at``) whose code is ``code`` and newer than ``after_step``.

    Every candidate is compared in constant time, and all of them are always computed.
    """
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(rf"\d{{{DIGITS}}}", code):
        return None
    now = time_step(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), code) and step > after_step and found is None:
            found = step
    return found


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def secret_text(key: bytes) -> str:
    """The secret as an app expects it typed: base32 without padding, in groups of four."""
    raw = base64.b32encode(key).decode("ascii").rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def provisioning_uri(key: bytes, account: str, issuer: str | None = None) -> str:
    """The ``otpauth://`` URI (Google Authenticator key-URI format) that the QR code carries."""
    issuer = issuer if issuer is not None else settings.LAOJIAN_TOTP_ISSUER
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode({
        "secret": base64.b32encode(key).decode("ascii").rstrip("="),
        "issuer": issuer,
        "algorithm": "SHA1",
        "digits": DIGITS,
        "period": STEP_SECONDS,
    }, quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URI (allowed by the CSP's ``img-src data:``)."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff")


# ENCRYPTION AT REST ------------------------------------------------------------------------------------


def _key() -> bytes:
    configured = settings.LAOJIAN_TOTP_ENCRYPTION_KEY
    material = (configured or settings.SECRET_KEY).encode("utf-8")
    # HKDF (RFC 5869) with SHA-256: a 32-byte AES key whatever the configured string looks like.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"laojian-totp", info=b"totp secret v1").derive(material)


def encrypt_secret(key: bytes, user_id: int) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key()).encrypt(nonce, key, f"user:{user_id}".encode())
    return _ENCRYPTED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt_secret(stored: str, user_id: int) -> bytes:
    """The secret of a device; raises ``cryptography.exceptions.InvalidTag`` if the key or the row is wrong."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not stored.startswith(_ENCRYPTED_PREFIX):
        raise ValueError("unknown TOTP secret format")
    blob = base64.urlsafe_b64decode(stored[len(_ENCRYPTED_PREFIX):])
    return AESGCM(_key()).decrypt(blob[:12], blob[12:], f"user:{user_id}".encode())


# DEVICES --------------------------------------------------------------------------------------------


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def device_start(user: User) -> tuple[TOTPDevice, bytes]:
    """The unconfirmed device of ``user`` and its secret, made on first call (enrolment page).

    Refuses a user who already has a confirmed device: its secret is never shown again.
    """
    device = TOTPDevice.objects.filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise ValueError("already enrolled")
    if device is None:
        key = new_secret()
        try:
            with transaction.atomic():
                return TOTPDevice.objects.create(user=user, secret=encrypt_secret(key, user.pk)), key
        except IntegrityError:  # the same page opened twice at once: use the secret the other request made
            device = TOTPDevice.objects.get(user=user)
    return device, decrypt_secret(device.secret, user.pk)


def _claim_step(device: TOTPDevice, step: int) -> bool:
    """Compare-and-set: record ``step`` as used unless a request got there first (both databases)."""
    return TOTPDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(last_used_step=step) == 1


@transaction.atomic
def device_confirm(user: User, code: str, *, ip_address: str = "", at: float | None = None) -> list[str] | None:
    """Confirm the unconfirmed device with its first code; return the new recovery codes, or None."""
    device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        return None
    step = matching_step(decrypt_secret(device.secret, user.pk), code, at=at, after_step=device.last_used_step)
    if step is None or not _claim_step(device, step):
        return None
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
    codes = _recovery_codes_replace(device)
    audit.record("second_factor_enrolled", actor=user, obj=user, ip_address=ip_address)
    return codes


@dataclass(frozen=True)
class Verified:
    method: str  # "totp" or "recovery"


def verify(user: User, code: str, *, at: float | None = None) -> Verified | None:
    """Check a sign-in code: a TOTP code of the confirmed device, or an unused recovery code.

    Each succeeds once: the TOTP step and the recovery code are claimed with a conditional UPDATE.
    """
    device = confirmed_device(user)
    if device is None:
        return None
    compact = re.sub(r"[\s-]", "", code or "").lower()
    if re.fullmatch(rf"\d{{{DIGITS}}}", compact):
        step = matching_step(decrypt_secret(device.secret, user.pk), compact, at=at,
                             after_step=device.last_used_step)
        if step is not None and _claim_step(device, step):
            return Verified("totp")
        return None
    if len(compact) == _RECOVERY_LENGTH:
        used = RecoveryCode.objects.filter(
            device=device, code_hash=_recovery_hash(compact), used_at__isnull=True
        ).update(used_at=timezone.now())
        if used == 1:
            return Verified("recovery")
    return None


def device_reset(user: User, *, actor: User, ip_address: str = "") -> bool:
    """Remove a user's authenticator app and recovery codes (lost phone); audited. True if there was one.

    The user enrols again at the next sign-in (or may sign in without, if two factors are not required).
    """
    with transaction.atomic():
        deleted, _per_model = TOTPDevice.objects.filter(user=user).delete()
        audit.record("second_factor_reset", actor=actor, obj=user, after={"had_device": bool(deleted)},
                     ip_address=ip_address)
    return bool(deleted)


# RECOVERY CODES -------------------------------------------------------------------------------------


def _recovery_hash(compact: str) -> str:
    return hashlib.sha256(compact.encode("ascii")).hexdigest()


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def _recovery_codes_replace(device: TOTPDevice) -> list[str]:
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.filter(device=device).delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, code_hash=_recovery_hash(code.replace("-", ""))) for code in codes
    )
    return codes


def recovery_codes_renew(user: User, *, ip_address: str = "") -> list[str]:
    """Ten new recovery codes for an enrolled user; the old ones stop working. Audited."""
    device = confirmed_device(user)
    if device is None:
        raise ValueError("not enrolled")
    with transaction.atomic():
        codes = _recovery_codes_replace(device)
        audit.record("recovery_codes_renewed", actor=user, obj=user, ip_address=ip_address)
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user, device__confirmed_at__isnull=False,
                                       used_at__isnull=True).count()


def device_confirmed_at(user: User) -> dt.datetime | None:
    device = confirmed_device(user)
    return device.confirmed_at if device else None
