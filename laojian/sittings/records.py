"""Photos and video taken at the examination (检查影像记录), kept with the case like a material:
checked by content (never the name), stored privately under a random name with its SHA-256, read
back only through a permission-checked download that verifies the SHA-256. Uploads and reads are
audited.

Images (JPEG, PNG) go through the materials' checker (``cases.uploads.inspect``): decoded fully,
re-encoded without EXIF (no GPS position). Video (MP4, WebM) is recognised by its container header
and kept byte for byte, up to ``LAOJIAN_RECORD_MAX_BYTES``.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import breakglass, uploads
from laojian.cases import services as case_services
from laojian.cases.models import Mode
from laojian.cases.selectors import case_for_update, case_get_for
from laojian.cases.workflow import TERMINAL_STATES
from laojian.core import audit, purposes
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.sittings import selectors
from laojian.sittings.models import Appointment, ExaminationRecord, record_upload_to
from laojian.sittings.services import PLAN

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User

MP4, WEBM = "mp4", "webm"
VIDEO_TYPES = {MP4: "video/mp4", WEBM: "video/webm"}
VIDEO_EXTENSIONS = {MP4: ".mp4", WEBM: ".webm"}
# ISO base media brands of ordinary MP4 video (not HEIF stills, which share the container).
MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VP",
                        b"dash", b"mmp4", b"MSNV", b"qt  "})
ACCEPT = "image/jpeg,image/png,video/mp4,video/webm,.jpg,.jpeg,.png,.mp4,.webm"
CHUNK = 1024 * 1024


def max_video_bytes() -> int:
    return getattr(settings, "LAOJIAN_RECORD_MAX_BYTES", 500 * 1024 * 1024)


def max_image_bytes() -> int:
    return settings.LAOJIAN_UPLOAD_MAX_BYTES


@dataclass(frozen=True)
class Checked:
    """A file that passed: what to store (bytes for an image, the uploaded file for a video)."""

    kind: str
    content_type: str
    extension: str
    size: int
    sha256: str
    data: bytes | None = None
    fileobj: IO[bytes] | None = None


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, extra={"fields": {"file": [message]}})


def sniff_video(head: bytes) -> str:
    """mp4, webm or "" from the first bytes of a file."""
    if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return WEBM
    return ""


def inspect(fileobj: IO[bytes], name: str) -> Checked:
    """Check one upload by its content; raise ValidationFailed with a message saying why not."""
    shown = uploads.clean_name(name)
    fileobj.seek(0)
    head = fileobj.read(1024)
    fileobj.seek(0)
    if not head:
        raise _refuse(_("The file “%(name)s” is empty.") % {"name": shown}, "upload_empty")
    kind = uploads.sniff(head)
    if kind in (uploads.JPEG, uploads.PNG):
        inspected = uploads.inspect(fileobj, name, max_bytes=max_image_bytes())
        return Checked(inspected.kind, inspected.content_type, inspected.extension, len(inspected.data),
                       hashlib.sha256(inspected.data).hexdigest(), data=inspected.data)
    video = sniff_video(head)
    if not video:
        raise _refuse(_("The file “%(name)s” is not a JPEG or PNG photo or an MP4 or WebM video, whatever its "
                        "name says.") % {"name": shown}, "upload_type")
    digest, size, limit = hashlib.sha256(), 0, max_video_bytes()
    while chunk := fileobj.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise _refuse(_("The video “%(name)s” is larger than %(limit)s, the most a video may be. Record a "
                            "shorter one or at a lower resolution.")
                          % {"name": shown, "limit": uploads.human_size(limit)}, "upload_too_large")
        digest.update(chunk)
    fileobj.seek(0)
    return Checked(video, VIDEO_TYPES[video], VIDEO_EXTENSIONS[video], size, digest.hexdigest(), fileobj=fileobj)


# WHO MAY -----------------------------------------------------------------------------------------

def can_view(user: User, case: Case) -> bool:
    """Medical staff of the case's committee and the case's panel experts; never the applicant. The
    system administrator of the committee only under a break-glass grant for this case."""
    if not user.has_perm("cases.view_medical"):
        return breakglass.active_grant(user, case) is not None and user.committee_id == case.committee_id
    return user.committee_id == case.committee_id or user.pk in selectors.panel_experts(case)


def can_upload(user: User, case: Case) -> bool:
    if case.status in TERMINAL_STATES:
        return False
    if user.has_perm(PLAN) and user.committee_id == case.committee_id:
        return True
    return user.pk in selectors.panel_experts(case)


def records_of(case: Case) -> QuerySet[ExaminationRecord]:
    return ExaminationRecord.objects.filter(case=case).select_related("uploaded_by", "appointment")


def _display_name(name: str, extension: str) -> str:
    """The name as the user knows it, with the extension of what the file really is."""
    path = PurePosixPath(uploads.clean_name(name))
    suffix = path.suffix.lower()
    if suffix == extension or (suffix == ".jpeg" and extension == ".jpg"):
        return str(path)
    return f"{path.stem or _('record')}{extension}"


# WRITES AND READS --------------------------------------------------------------------------------

def record_upload(case_id: int, uploaded_file: IO[bytes], *, actor: User, name: str = "", description: str = "",
                  appointment_id: int | None = None, ip_address: str = "") -> ExaminationRecord:
    """Attach one photo or video of the examination to the case. A refused file leaves nothing behind."""
    case = case_get_for(actor, case_id)
    if not can_upload(actor, case):
        raise PermissionDeniedError(_("You cannot add examination records to this case."))
    name = name or getattr(uploaded_file, "name", "") or ""
    checked = inspect(uploaded_file, name)
    appointment = _taken_at(case, appointment_id)
    if appointment is not None and appointment.mode == Mode.REMOTE and checked.content_type.startswith("video/"):
        # Keeping a video of a remote appraisal rests on the worker's consent (SEC-60).
        purposes.require_consent("remote_recording", consent=appointment.recording_consent, actor=actor,
                                 obj=appointment, committee=case.committee, ip_address=ip_address)
    storage = ExaminationRecord._meta.get_field("file").storage
    written = ""
    try:
        with transaction.atomic():
            case = case_for_update(actor, case_id)
            if not can_upload(actor, case):
                raise PermissionDeniedError(_("You cannot add examination records to this case."))
            appointment_id = appointment.pk if appointment is not None else None
            now = timezone.now()
            record = ExaminationRecord(
                case=case, appointment_id=appointment_id, original_name=_display_name(name, checked.extension),
                content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                description=(description or "").strip()[:200], uploaded_by=actor, uploaded_at=now)
            content = ContentFile(checked.data) if checked.data is not None else File(checked.fileobj)
            written = storage.save(record_upload_to(record, "upload" + checked.extension), content)
            record.file.name = written
            record.save()
            case_services.timeline_add(case.pk, "examination_record_upload", actor=actor, at=now,
                                       note=record.description, data={"record_id": record.pk})
            audit.record("examination_record.upload", actor=actor, obj=record, committee=case.committee,
                         after={"case_id": case.pk, "content_type": record.content_type, "size": record.size,
                                "sha256": record.sha256}, ip_address=ip_address)
    except BaseException:
        if written:
            storage.delete(written)
        raise
    return record


def _taken_at(case: Case, appointment_id: int | None) -> Appointment | None:
    """The examination a record was taken at: the one named (of this case), else the live or the
    last examined one."""
    if appointment_id is not None:
        appointment = Appointment.objects.filter(pk=appointment_id, case=case).first()
        if appointment is None:
            raise NotFoundError()
        return appointment
    return (Appointment.objects.filter(case=case, state__in=(*Appointment.LIVE, Appointment.State.EXAMINED))
            .order_by("-starts_at", "-id").first())


def record_get_for(user: User, record_id: int) -> ExaminationRecord:
    """The record if the user may see it; NotFoundError for missing and forbidden alike."""
    record = ExaminationRecord.objects.filter(pk=record_id).first()
    if record is None:
        raise NotFoundError()
    case = case_get_for(user, record.case_id)
    if not can_view(user, case):
        raise NotFoundError()
    record.case = case
    return record


def record_read(record_id: int, *, actor: User, ip_address: str = "") -> tuple[ExaminationRecord, bytes]:
    """The stored bytes after checking their SHA-256; each read is in the audit trail."""
    from laojian.documents.services import read_checked

    record = record_get_for(actor, record_id)
    try:
        content = read_checked(record.file, record.sha256)
    except FileNotFoundError:
        raise ConflictError(_("The file is missing from storage. Tell the system administrator."),
                            code="missing") from None
    if content is None:
        raise ConflictError(_("The stored file does not match its recorded SHA-256. Tell the system "
                              "administrator."), code="tampered")
    audit.record("examination_record.download", actor=actor, obj=record, committee=record.case.committee,
                 after={"case_id": record.case_id, "sha256": record.sha256}, ip_address=ip_address)
    if grant := breakglass.grant_in_use(actor, record.case):
        breakglass.record_read(grant, actor=actor, case=record.case, fields=[f"examination_record:{record.pk}"],
                               ip_address=ip_address)
    return record, content


def spooled(data: bytes) -> IO[bytes]:
    """A file object for bytes (tests and imports call ``record_upload`` without a request)."""
    handle = tempfile.SpooledTemporaryFile()
    handle.write(data)
    handle.seek(0)
    return handle
