"""Files encrypted at rest by the application (SEC-55; docs/adr/0013, docs/data-inventory.md).

Every file of the materials storage (case materials, examination records, documents, delivery
receipts, archive and re-appraisal packages) is sealed with AES-256-GCM under the first key of
``LAOJIAN_FIELD_KEYS`` (:mod:`laojian.core.crypto`), so a copied disk, volume snapshot or backup
holds no readable medical file. The layout of a sealed file::

    header  MAGIC (8) ‖ key id length (1) ‖ key id ‖ chunk size (4, big-endian) ‖ file id (16)
    chunk*  nonce (12) ‖ AES-GCM ciphertext of up to ``chunk size`` bytes ‖ tag (16)

Every chunk but the last holds exactly ``chunk size`` plain bytes. The associated data of a chunk
is the context, the whole header, the chunk's number and a "last chunk" flag: a changed header or
chunk, chunks swapped or moved between files, and a file cut short (even at a chunk boundary) all
fail to open. Chunks let a 50 MB upload be sealed and read back one MiB at a time, and let a
reader seek (a download's Content-Length, a ZIP read in place).

A file without the magic was stored before sealing existed: it is read as it is, and
``laojian rotate_keys`` seals it.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage

from laojian.core import crypto

MAGIC = b"\x89LJSEAL\x01"
CHUNK = 1024 * 1024
NONCE = 12
TAG = 16
OVERHEAD = NONCE + TAG
FILE_ID = 16
MAX_CHUNK = 64 * 1024 * 1024
CONTEXT = b"laojian.sealed-file\x00"
# Written beside a file being re-sealed and renamed over it; the cleanup sweep removes stale ones.
TEMP_SUFFIX = ".part"


class SealedFileError(Exception):
    """A sealed file that does not open: changed or cut short on disk, or sealed with a key that
    ``LAOJIAN_FIELD_KEYS`` does not hold. The message is for the administrator."""


@dataclass(frozen=True)
class Header:
    key_id: str
    chunk_size: int
    raw: bytes  # the header's bytes, bound into every chunk's associated data


def _header_bytes(key_id: str, chunk_size: int) -> bytes:
    kid = key_id.encode("ascii")
    return MAGIC + bytes([len(kid)]) + kid + struct.pack(">I", chunk_size) + os.urandom(FILE_ID)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return CONTEXT + header + struct.pack(">QB", index, 1 if final else 0)


def _read_exact(source: IO[bytes], size: int) -> bytes:
    """``size`` bytes, or fewer only at the end (some streams return short reads)."""
    parts, wanted = [], size
    while wanted > 0:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def read_header(raw: IO[bytes], what: str = "file") -> Header | None:
    """The header at the start of ``raw`` (left positioned after it), or None for a plain file
    (then ``raw`` is back at its start)."""
    start = _read_exact(raw, len(MAGIC))
    if start != MAGIC:
        if start and len(start) < len(MAGIC) and MAGIC.startswith(start):
            raise SealedFileError(f"{what}: the sealed file is cut short or damaged.")
        raw.seek(0)
        return None
    length = _read_exact(raw, 1)
    kid = _read_exact(raw, length[0]) if length else b""
    rest = _read_exact(raw, 4 + FILE_ID)
    if not length or len(kid) != length[0] or len(rest) != 4 + FILE_ID or not kid.isalnum():
        raise SealedFileError(f"{what}: the sealed file's header is damaged.")
    chunk_size = struct.unpack(">I", rest[:4])[0]
    if not 0 < chunk_size <= MAX_CHUNK:
        raise SealedFileError(f"{what}: the sealed file's header is damaged.")
    return Header(kid.decode("ascii"), chunk_size, MAGIC + length + kid + rest)


def sealed_length(plain_size: int, key_id: str, chunk_size: int = CHUNK) -> int:
    """The size on disk of ``plain_size`` bytes sealed under ``key_id``."""
    chunks = max(1, -(-plain_size // chunk_size))
    return len(MAGIC) + 1 + len(key_id) + 4 + FILE_ID + chunks * OVERHEAD + plain_size


def seal_chunks(source: IO[bytes], *, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The sealed form of ``source``, piece by piece (at most two chunks in memory)."""
    ring = crypto.keys()
    aead = crypto._aesgcm(ring.by_id[ring.current])
    header = _header_bytes(ring.current, chunk_size)
    yield header
    index, current = 0, _read_exact(source, chunk_size)
    while True:
        following = _read_exact(source, chunk_size) if len(current) == chunk_size else b""
        final = not following
        nonce = os.urandom(NONCE)
        yield nonce + aead.encrypt(nonce, current, _aad(header, index, final))
        if final:
            return
        index, current = index + 1, following


class _SealingReader(io.RawIOBase):
    """A readable stream of the sealed bytes of a plain source, for a storage backend's ``save``."""

    def __init__(self, source: IO[bytes], plain_size: int | None, chunk_size: int = CHUNK) -> None:
        super().__init__()
        self._pieces = seal_chunks(source, chunk_size=chunk_size)
        self._buffer = b""
        if plain_size is not None:
            self.size = sealed_length(plain_size, crypto.keys().current, chunk_size)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buffer:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._buffer = piece
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class _OpenedReader(io.RawIOBase):
    """The plain bytes of a sealed file, decrypted chunk by chunk as they are read; seekable."""

    def __init__(self, raw: IO[bytes], header: Header, what: str, *, verify: bool = True,
                 close_raw: bool = True) -> None:
        super().__init__()
        self._raw, self._header, self._what, self._close_raw = raw, header, what, close_raw
        key = crypto.keys().by_id.get(header.key_id)
        if key is None:
            raise SealedFileError(f"{what}: sealed with key {header.key_id}, which LAOJIAN_FIELD_KEYS does not hold.")
        self._aead = crypto._aesgcm(key)
        body = raw.seek(0, io.SEEK_END) - len(header.raw)
        step = header.chunk_size + OVERHEAD
        full, rest = divmod(body, step)
        if body < OVERHEAD or 0 < rest < OVERHEAD:
            raise SealedFileError(f"{what}: the sealed file is cut short or damaged.")
        self._chunks = full + (1 if rest else 0)
        self.size = body - self._chunks * OVERHEAD
        self._pos, self._cached = 0, (-1, b"")
        if verify:  # a bad file fails here, before a response or a package is started
            for index in range(self._chunks):
                self._chunk(index)

    def _chunk(self, index: int) -> bytes:
        if self._cached[0] == index:
            return self._cached[1]
        from cryptography.exceptions import InvalidTag

        step = self._header.chunk_size + OVERHEAD
        self._raw.seek(len(self._header.raw) + index * step)
        sealed = _read_exact(self._raw, step)
        try:
            plain = self._aead.decrypt(sealed[:NONCE], sealed[NONCE:],
                                       _aad(self._header.raw, index, index == self._chunks - 1))
        except (InvalidTag, ValueError):
            raise SealedFileError(f"{self._what}: the sealed file was changed or cut short on disk "
                                  f"(chunk {index} does not open with key {self._header.key_id}).") from None
        self._cached = (index, plain)
        return plain

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self.size:
            return 0
        index, within = divmod(self._pos, self._header.chunk_size)
        plain = self._chunk(index)
        n = min(len(buffer), len(plain) - within)
        buffer[:n] = plain[within:within + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed and self._close_raw:
            self._raw.close()
        super().close()


def _seekable(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` itself when it can seek, else a spooled copy of it (a streaming object store)."""
    if getattr(raw, "seekable", lambda: False)():
        return raw
    copy = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)  # noqa: SIM115 (closed with the reader)
    while piece := raw.read(CHUNK):
        copy.write(piece)
    raw.close()
    copy.seek(0)
    return copy


def open_stream(raw: IO[bytes], what: str = "file", *, verify: bool = True,
                close_raw: bool = True) -> tuple[IO[bytes], str]:
    """A readable stream of the plain bytes of ``raw`` (sealed or not) and the key id it is sealed
    with ("" for a plain file). With ``verify`` every chunk is checked first, so a changed file
    fails here rather than half-way through a download."""
    raw = _seekable(raw)
    try:
        header = read_header(raw, what)
        if header is None:
            return raw, ""
        reader = _OpenedReader(raw, header, what, verify=verify, close_raw=close_raw)
        return io.BufferedReader(reader, CHUNK), header.key_id
    except BaseException:
        if close_raw:
            raw.close()
        raise


def seal_bytes(data: bytes, *, chunk_size: int = CHUNK) -> bytes:
    """``data`` sealed under the current key (tests, tools)."""
    return b"".join(seal_chunks(io.BytesIO(data), chunk_size=chunk_size))


def open_bytes(data: bytes, what: str = "data") -> bytes:
    """The plain bytes of sealed (or plain) ``data``."""
    stream, _key = open_stream(io.BytesIO(data), what)
    with stream:
        return stream.read()


class _StoredFile(File):
    """A file opened from a sealed storage; reopening goes through the storage again, never to a
    path on disk (Django's ``File.open`` would reopen the sealed bytes)."""

    def __init__(self, file: IO[bytes], name: str, reopen: Callable[[], IO[bytes]]) -> None:
        super().__init__(file, name)
        self._reopen = reopen

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> _StoredFile:
        if not self.closed:
            self.seek(0)
        else:
            self.file = self._reopen()
        return self


class SealedStorage(Storage):
    """A storage that seals what it saves and opens what it reads, over another storage
    (``backend``) that holds the sealed bytes. Subclasses say which backend."""

    @property
    def backend(self) -> Storage:  # pragma: no cover - subclasses name it
        raise NotImplementedError

    # Writing ------------------------------------------------------------------------------------

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        if name is None:
            name = content.name
        if hasattr(content, "seek"):
            try:
                content.seek(0)
            except (OSError, ValueError):
                pass
        try:
            plain_size = content.size
        except (AttributeError, OSError, TypeError, ValueError):
            plain_size = None
        sealed = File(_SealingReader(content, plain_size), name=name)
        return self.backend.save(name, sealed, max_length=max_length)

    def _save(self, name: str, content: Any) -> str:  # pragma: no cover - save() does it whole
        return self.save(name, content)

    # Reading ------------------------------------------------------------------------------------

    def _plain(self, name: str, *, verify: bool = True) -> tuple[IO[bytes], str]:
        return open_stream(self.backend.open(name, "rb"), name, verify=verify)

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode not in ("rb", "br"):
            raise ValueError("Sealed files are opened for reading (rb) only; save a new file to change one.")
        stream, _key = self._plain(name)
        return _StoredFile(stream, name, lambda: self._plain(name)[0])

    def size(self, name: str) -> int:
        """The plain size (what a reader gets), not the sealed size on disk."""
        stream, _key = self._plain(name, verify=False)
        with stream:
            return stream.seek(0, io.SEEK_END)

    def key_of(self, name: str) -> str:
        """The id of the key the file is sealed with ("" for a file stored before sealing)."""
        with self.backend.open(name, "rb") as raw:
            header = read_header(_seekable(raw), name)
        return header.key_id if header else ""

    def path(self, name: str) -> str:
        raise NotImplementedError("Sealed files have no usable path on disk: read them with open().")

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Sealed files have no URL: serve them through a checked view.")

    # Delegated ----------------------------------------------------------------------------------

    def delete(self, name: str) -> None:
        self.backend.delete(name)

    def exists(self, name: str) -> bool:
        return self.backend.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.backend.listdir(path)

    def generate_filename(self, filename: str) -> str:
        return self.backend.generate_filename(filename)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.backend.get_available_name(name, max_length=max_length)

    def get_modified_time(self, name: str) -> Any:
        return self.backend.get_modified_time(name)

    # Key rotation -------------------------------------------------------------------------------

    def names(self, path: str = "") -> Iterator[str]:
        """Every stored file, half-written ones left out, in a fixed order."""
        directories, files = self.backend.listdir(path)
        for file in sorted(files):
            if not file.endswith((TEMP_SUFFIX, ".partial", ".tmp")):
                yield f"{path}/{file}" if path else file
        for directory in sorted(directories):
            yield from self.names(f"{path}/{directory}" if path else directory)

    def reseal(self, name: str) -> bool:
        """Seal the file under the current key in place (same name); False when it already is.
        The new bytes are checked to open to the same content before they replace the old ones."""
        if self.key_of(name) == crypto.keys().current:  # the header is enough to skip it
            return False
        stream, _key = self._plain(name)
        with stream:
            digest = hashlib.sha256()
            backend = self.backend
            if isinstance(backend, FileSystemStorage):
                target = backend.path(name)
                temp = f"{target}{TEMP_SUFFIX}"
                try:
                    with open(temp, "xb") as out:
                        for piece in seal_chunks(_Hashing(stream, digest)):
                            out.write(piece)
                        out.flush()
                        os.fsync(out.fileno())
                    if backend.file_permissions_mode is not None:
                        os.chmod(temp, backend.file_permissions_mode)
                    with open(temp, "rb") as check:
                        _same(check, digest.hexdigest(), name)
                    os.replace(temp, target)
                finally:
                    if os.path.exists(temp):
                        os.unlink(temp)
            else:  # an object store: a PUT replaces the object whole
                spooled = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)  # noqa: SIM115
                with spooled:
                    for piece in seal_chunks(_Hashing(stream, digest)):
                        spooled.write(piece)
                    spooled.seek(0)
                    _same(spooled, digest.hexdigest(), name, close=False)
                    spooled.seek(0)
                    backend._save(name, File(spooled, name=name))
        return True


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, source: IO[bytes], digest: Any) -> None:
        self._source, self._digest = source, digest

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._digest.update(data)
        return data


def _same(sealed: IO[bytes], sha256: str, name: str, *, close: bool = True) -> None:
    """Refuse a re-sealed copy that does not open to the content it was made from."""
    stream, _key = open_stream(sealed, name, close_raw=close)
    digest = hashlib.sha256()
    with stream:
        while piece := stream.read(CHUNK):
            digest.update(piece)
    if digest.hexdigest() != sha256:
        raise SealedFileError(f"{name}: the re-sealed copy does not read back the same; the file was left as it was.")
