"""The electronic seal: each committee signs its PDFs with its own key (PAdES, through pyHanko).

Pure: no models, no database. A signer takes the bytes ``pdf.render`` produced and returns signed
bytes; ``validate`` tells whether a PDF's signature still covers every byte of it.

Trust, stated plainly: the default certificate is self-signed, made on first use. "Intact" therefore
means integrity (the bytes are the bytes the committee's key signed), not trust in a certificate
authority. A deployment that wants readers to show a trusted signature puts a certificate issued by
its CA, as ``<committee code>.p12``, in ``LAOJIAN_SIGNING_KEY_DIR``; nothing else changes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import hashlib
import io
import logging
import os
import re
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

T = TypeVar("T")

__all__ = ("NullSigner", "PadesSigner", "Signer", "Validation", "certificate_fingerprint", "get_signer",
           "validate")

logger = logging.getLogger(__name__)

CERT_YEARS = 10
# A committee code names a file: letters, digits, dot, dash, underscore; no path, no leading dot.
CODE_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")


class Signer(Protocol):
    name: str

    def sign(self, pdf: bytes, *, committee_code: str, committee_name: str) -> bytes: ...


class NullSigner:
    """No seal: for deployments that sign elsewhere, or not at all."""

    name = "none"

    def sign(self, pdf: bytes, *, committee_code: str, committee_name: str) -> bytes:
        return pdf


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one of pyHanko's coroutines from synchronous code. pyHanko's own sync wrappers call
    ``asyncio.run``, which fails when the calling thread already runs an event loop (an async view,
    a task worker); then the coroutine runs on a loop of its own in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class PadesSigner:
    """PAdES baseline signature with the committee's key; any PDF reader shows whether it was altered."""

    name = "pades"

    def sign(self, pdf: bytes, *, committee_code: str, committee_name: str) -> bytes:
        signer = _load_signer(committee_code, committee_name)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(
            field_name="LaojianSeal",
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            name=committee_name,
            reason="劳动能力鉴定委员会电子印章",
        )
        return _run(signers.async_sign_pdf(writer, meta, signer=signer)).getvalue()


def get_signer() -> Signer:
    """The signer ``LAOJIAN_DOCUMENT_SIGNER`` names: "pades" (default) or "none"."""
    choice = settings.LAOJIAN_DOCUMENT_SIGNER
    if choice == "pades":
        return PadesSigner()
    if choice == "none":
        return NullSigner()
    raise ValueError(f"LAOJIAN_DOCUMENT_SIGNER must be pades or none, not {choice!r}")


@dataclass(frozen=True)
class Validation:
    """What a PDF's signature says about it. ``intact`` is integrity, not trust (see the module)."""

    signed: bool
    intact: bool
    signer: str
    signed_at: datetime.datetime | None


UNSIGNED = Validation(signed=False, intact=False, signer="", signed_at=None)


def validate(pdf: bytes) -> Validation:
    """Check the last signature: it must be cryptographically valid and cover the whole file.

    Never raises: this reads untrusted uploads and archive files, and a damaged or unsigned file is
    an answer (``signed``/``intact`` False), not an error.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - any parse failure of untrusted bytes means "not a signed PDF"
        logger.info("validate: unreadable PDF", exc_info=True)
        return UNSIGNED
    if not embedded:
        return UNSIGNED
    sig = embedded[-1]
    try:
        cert = sig.signer_cert
        signer = cert.subject.native.get("common_name", "")
    except Exception:  # noqa: BLE001 - a signature dictionary without a usable certificate
        return Validation(signed=True, intact=False, signer="", signed_at=None)
    try:
        status = _run(async_validate_pdf_signature(
            sig, ValidationContext(trust_roots=[cert], allow_fetching=False), skip_diff=True
        ))
        intact = bool(status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
        signed_at = status.signer_reported_dt
    except Exception:  # noqa: BLE001 - a broken signature is "not intact", whatever broke it
        logger.info("validate: signature check failed", exc_info=True)
        intact, signed_at = False, None
    return Validation(signed=True, intact=intact, signer=str(signer), signed_at=signed_at)


def certificate_fingerprint(committee_code: str) -> str:
    """SHA-256 (hex) of the committee's certificate, for the public verification page.

    Empty when the committee has no key yet (nothing was ever signed with ``PadesSigner``).
    """
    path = _key_path(committee_code)
    if not path.exists():
        return ""
    _key, cert = _read_p12(path)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# KEYS ----------------------------------------------------------------------------------------------

_create_lock = threading.Lock()
_signers: dict[tuple[str, int, int], signers.SimpleSigner] = {}


def _key_path(committee_code: str) -> Path:
    if not CODE_RE.match(committee_code):
        raise ValueError(f"not a usable committee code for a key file name: {committee_code!r}")
    return Path(settings.LAOJIAN_SIGNING_KEY_DIR) / f"{committee_code}.p12"


def _password() -> bytes | None:
    return settings.LAOJIAN_SIGNING_KEY_PASSWORD.encode() or None


def _read_p12(path: Path) -> tuple[object, x509.Certificate]:
    key, cert, _extra = pkcs12.load_key_and_certificates(path.read_bytes(), _password())
    if cert is None or key is None:
        raise ValueError(f"{path} holds no key and certificate")
    return key, cert


def _load_signer(committee_code: str, committee_name: str) -> signers.SimpleSigner:
    """The committee's pyHanko signer, its key file created on first use; cached while the file is unchanged."""
    path = _key_path(committee_code)
    if not path.exists():
        _create_key(path, committee_code, committee_name)
    stat = path.stat()
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
    signer = _signers.get(cache_key)
    if signer is None:
        signer = signers.SimpleSigner.load_pkcs12_data(path.read_bytes(), other_certs=(),
                                                       passphrase=_password())
        if signer is None:
            raise ValueError(f"could not load the signing key {path}")
        _signers[cache_key] = signer
    return signer


def _create_key(path: Path, committee_code: str, committee_name: str) -> None:
    """EC P-256 key and a self-signed certificate (CN and O = committee, 10 years), written atomically.

    Written to a temporary file with mode 0600 and linked into place: if another process made the
    key first, its key is kept and ours is dropped, so a committee never has two keys.
    """
    with _create_lock:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, committee_name),
            x509.NameAttribute(NameOID.COMMON_NAME, committee_name),
        ])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365 * CERT_YEARS + CERT_YEARS // 4))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=False,
                              crl_sign=False, encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        password = _password()
        encryption = (serialization.BestAvailableEncryption(password) if password
                      else serialization.NoEncryption())
        data = pkcs12.serialize_key_and_certificates(committee_code.encode(), key, cert, None, encryption)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: keep theirs
        finally:
            tmp.unlink(missing_ok=True)
