"""Checking an uploaded file before it becomes a case material (SEC-23). Pure functions: no
database, no storage.

What is accepted, decided by the content and never by the name or the browser's content type:

- **PDF**: must start with ``%PDF-``, parse with pypdf, have at least one page, not need a password,
  and carry no active content: JavaScript (``/JS``, ``/JavaScript``), launch, submit-form or
  import-data actions, additional actions (``/AA``, which run on open, close, print or page
  view), embedded files, rich media or XFA forms. Kept byte for byte.
- **JPEG** (including the MPO a few cameras write) and **PNG**: must open and decode fully with
  Pillow within ``Image.MAX_IMAGE_PIXELS`` (an image bomb is refused before it is decoded). The
  image is re-encoded, upright (the EXIF orientation applied), without EXIF (GPS position, camera,
  time), XMP, comments or text chunks; only the colour profile is kept.
- **HEIC/HEIF** (iPhone photos) is refused with a message asking for JPEG. Pillow cannot open it
  without an extra native library, so it could neither be checked for damage nor stripped of its
  GPS position, and most of the committee's browsers could not show it. A phone's browser
  converts photos to JPEG itself when the file input asks only for JPEG, PNG or PDF, which is what
  our upload form's ``accept`` attribute does; the message covers the rest (cameras set to "High
  Efficiency" and files sent from a computer).
- Everything else (an empty file, a file over ``LAOJIAN_UPLOAD_MAX_BYTES``, a program, a web page or
  script whatever its name, an archive, an office document) is refused with a message saying why.

Malware scanning is not done here: a scan hook (ClamAV or the province's scanner) belongs between
``inspect`` and storage when the deployment has one.
"""

from __future__ import annotations

import io
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from laojian.core.errors import ValidationFailed

PDF, JPEG, PNG = "pdf", "jpeg", "png"
CONTENT_TYPES = {PDF: "application/pdf", JPEG: "image/jpeg", PNG: "image/png"}
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
SUFFIXES = {PDF: {".pdf"}, JPEG: {".jpg", ".jpeg"}, PNG: {".png"}}
# For the file input's ``accept``: phones then offer (and convert to) these only.
ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"

# PDF dictionary keys and action types that make a document do something on its own.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/AA", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute"})
PDF_MAX_OBJECTS = 200_000

HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
PROGRAM_MAGIC = (
    b"\x7fELF",  # Linux/Unix program
    b"MZ",  # Windows program (PE)
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # macOS Mach-O
    b"\xca\xfe\xba\xbe",  # macOS universal binary / Java class
    b"#!",  # script
)
MARKUP_HINTS = (b"<html", b"<!doctype", b"<script", b"<svg", b"<?xml", b"<?php", b"<body", b"<iframe", b"<head")

MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Inspected:
    """A file that passed: what it is, and the bytes to store (re-encoded for images)."""

    kind: str
    content_type: str
    data: bytes
    extension: str


def clean_name(name: str) -> str:
    """The name to show for an uploaded file: no directories, control or direction-override
    characters, at most 200 characters (the extension kept). Never used as a storage name."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"})
    name = name.strip().strip(".") or _("file")
    if len(name) > MAX_NAME_LENGTH:
        suffix = PurePosixPath(name).suffix[:10]
        name = name[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return name


def human_size(size: int) -> str:
    """1.5 MB, 20 MB, 830 KB, 12 bytes."""
    if size >= 1024 * 1024:
        value = size / (1024 * 1024)
        return f"{value:.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size // 1024} KB"
    return _("%(n)s bytes") % {"n": size}


def sniff(head: bytes) -> str:
    """What the first bytes say the file is: pdf, jpeg, png, heif, program, markup or unknown."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heif"
    if head.startswith(PROGRAM_MAGIC):
        return "program"
    text = head.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n").lower()
    if text.startswith(b"<") and any(hint in text for hint in MARKUP_HINTS):
        return "markup"
    return "unknown"


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, extra={"fields": {"file": [message]}})


def inspect(fileobj: IO[bytes], name: str, *, max_bytes: int) -> Inspected:
    """Check one upload; return what to store, or raise ValidationFailed with a message for the user.

    Reads at most ``max_bytes + 1`` bytes, so a file larger than it says is still caught.
    """
    shown = clean_name(name)
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    data = fileobj.read(max_bytes + 1)
    if not data:
        raise _refuse(_("The file “%(name)s” is empty.") % {"name": shown}, "upload_empty")
    if len(data) > max_bytes:
        raise _refuse(
            _("The file “%(name)s” is larger than %(limit)s, the most a file may be. Scan it at a lower "
              "resolution or split it into several files.") % {"name": shown, "limit": human_size(max_bytes)},
            "upload_too_large",
        )
    kind = sniff(data[:1024])
    if kind == PDF:
        _check_pdf(data, shown)
        return Inspected(PDF, CONTENT_TYPES[PDF], data, EXTENSIONS[PDF])
    if kind in {JPEG, PNG}:
        return _reencode_image(data, shown, kind)
    if kind == "heif":
        raise _refuse(
            _("The photo “%(name)s” is in HEIC/HEIF format, which cannot be checked or opened here. Upload it "
              "as JPEG: choose it from the photo gallery in this form (the phone converts it), or set the "
              "camera to “Most Compatible” and take it again.") % {"name": shown},
            "upload_heif",
        )
    if kind in {"program", "markup"}:
        raise _refuse(
            _("The file “%(name)s” is a program, script or web page, not a document, whatever its name says. "
              "Only PDF, JPEG and PNG files are accepted.") % {"name": shown},
            "upload_active_file",
        )
    raise _refuse(
        _("The file “%(name)s” is not a PDF, JPEG or PNG file, whatever its name says. Scan or save it "
          "as PDF, JPEG or PNG.") % {"name": shown},
        "upload_type",
    )


# PDF ---------------------------------------------------------------------------------------------


def _damaged_pdf(name: str) -> ValidationFailed:
    return _refuse(
        _("The file “%(name)s” looks like a PDF but cannot be read: it is damaged or incomplete. Save or "
          "scan it again.") % {"name": name},
        "upload_pdf_damaged",
    )


def _active_pdf(name: str) -> ValidationFailed:
    return _refuse(
        _("The PDF “%(name)s” contains active content (scripts, automatic actions or attached files), "
          "which case materials may not have. Print it to a new PDF or scan the paper copy.") % {"name": name},
        "upload_pdf_active",
    )


def pdf_active_content(reader: PdfReader) -> str:
    """The first key or action that makes the document active, or "" if there is none.

    Walks every object reachable from the trailer (catalog, pages, annotations, forms, name
    trees), so hex-escaped names (``/J#61vaScript``) and objects in object streams are seen too.
    """
    seen: set[tuple[int, int]] = set()
    stack: list[object] = [reader.trailer]
    count = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            item = item.get_object()
        count += 1
        if count > PDF_MAX_OBJECTS:
            raise ValueError("too many objects")
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                if key in ACTIVE_KEYS:
                    return str(key)
                if key == "/S" and isinstance(value, NameObject) and value in ACTIVE_ACTIONS:
                    return str(value)
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return ""


def _check_pdf(data: bytes, name: str) -> None:
    # Parsing hostile input: pypdf raises many exception types on malformed files (its own errors,
    # ValueError, KeyError, TypeError, RecursionError, ...). Any of them means the file cannot be
    # trusted, so all are caught here and turned into one clear refusal.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise _refuse(
                    _("The PDF “%(name)s” is protected with a password. Save it without the password and "
                      "upload it again.") % {"name": name},
                    "upload_pdf_encrypted",
                )
            if len(reader.pages) < 1:
                raise _damaged_pdf(name)
            active = pdf_active_content(reader)
    except ValidationFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - see the comment above
        raise _damaged_pdf(name) from exc
    if active:
        raise _active_pdf(name)


# IMAGES ------------------------------------------------------------------------------------------


def _reencode_image(data: bytes, name: str, kind: str) -> Inspected:
    limit = Image.MAX_IMAGE_PIXELS
    too_big = _refuse(
        _("The image “%(name)s” has too many pixels to be opened safely (more than %(limit)s million). "
          "Take or scan it at a lower resolution.") % {"name": name, "limit": (limit or 0) // 1_000_000},
        "upload_image_bomb",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
            width, height = image.size
            if limit and width * height > limit:
                raise too_big
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _refuse(
            _("The image “%(name)s” cannot be read: it is damaged or incomplete. Take or scan it again.")
            % {"name": name},
            "upload_image_damaged",
        ) from exc

    options: dict[str, object] = {}
    if upright.info.get("icc_profile"):
        options["icc_profile"] = upright.info["icc_profile"]
    out = io.BytesIO()
    if kind == JPEG:
        if upright.mode not in {"L", "RGB", "CMYK"}:
            upright = upright.convert("RGB")
        # A fresh info dict: nothing of the original (EXIF, XMP, comments) goes into the new file.
        upright.info = {}
        upright.save(out, format="JPEG", quality=90, optimize=True, **options)
    else:
        if "transparency" in image.info:
            options["transparency"] = image.info["transparency"]
        upright.info = {}
        upright.save(out, format="PNG", optimize=True, **options)
    return Inspected(kind, CONTENT_TYPES[kind], out.getvalue(), EXTENSIONS[kind])
