"""Writes for case materials: uploading files and the clerk's completeness check (材料审核).

Each call is atomic, permission-checked against the case as the actor sees it (404 when not
visible), recorded on the case timeline and in the audit trail. Reads are in ``selectors``.

No orphan files (REL, issue 3): ``_store`` writes the checked bytes under a random name, then the
rows; if anything after the file write fails, the ``except`` deletes every file this call wrote and
re-raises, so the database transaction and the storage agree. (A process killed between the
write and the commit can still leave a file no row points to; a sweep of such files is not
written yet.) Call these services outside any transaction of your own: the clean-up cannot see a
rollback of an outer transaction after they return.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import breakglass, uploads
from laojian.cases.models import (
    Case,
    Material,
    MaterialCheck,
    MaterialStatus,
    MaterialType,
    Status,
    TimelineEntry,
    material_upload_to,
)
from laojian.cases.selectors import case_for_update, cases_visible_to
from laojian.cases.workflow import TERMINAL_STATES
from laojian.core import audit
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed

if TYPE_CHECKING:
    from laojian.core.models import User

# An applicant adds files until the case is accepted (or while a correction is asked of them);
# the clerk also later (e.g. examination results the panel asked for), until the case is closed.
APPLICANT_UPLOAD_STATES = frozenset({Status.DRAFT, Status.SUBMITTED, Status.CORRECTION_REQUESTED})
# The completeness check happens between receipt and acceptance.
CHECK_STATES = frozenset({Status.SUBMITTED, Status.CORRECTION_REQUESTED})


# WHO MAY --------------------------------------------------------------------------------------------


def can_view_files(user: User, case: Case) -> bool:
    """Medical staff on a visible case, the applicant who owns it (it is their own file), and the
    system administrator under a break-glass grant for this case (laojian.cases.breakglass)."""
    return (user.has_perm("cases.view_medical")
            or (case.applicant_user_id is not None and case.applicant_user_id == user.pk)
            or breakglass.active_grant(user, case) is not None)


def can_upload(user: User, case: Case) -> bool:
    """The clerk at the counter (scanning paper) on an open case of their committee, or the
    applicant who owns the case before it is accepted or while a correction is asked of them."""
    if case.status in TERMINAL_STATES:
        return False
    if user.has_perm("cases.register_case") and user.committee_id == case.committee_id:
        return True
    return (
        case.applicant_user_id is not None
        and case.applicant_user_id == user.pk
        and user.has_perm("cases.submit_case")
        and case.status in APPLICANT_UPLOAD_STATES
    )


def can_check(user: User, case: Case) -> bool:
    return user.has_perm("cases.request_correction") and case.status in CHECK_STATES




def _check_type(case: Case, material_type: MaterialType) -> None:
    if (
        material_type.case_type != case.case_type
        or material_type.committee_id not in (None, case.committee_id)
        or not material_type.active
    ):
        raise ValidationFailed(
            _("“%(name)s” is not on the checklist of this case.") % {"name": material_type.name},
            code="material_type_mismatch",
        )


# UPLOADS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One file to add: the checklist item and the uploaded file (Django ``UploadedFile`` or any
    binary file object with a ``name``)."""

    material_type: MaterialType
    file: IO[bytes]
    name: str = ""


def material_upload(case: Case, material_type: MaterialType, uploaded_file: IO[bytes], actor: User, *,
                    ip_address: str = "", at: dt.datetime | None = None) -> Material:
    """Check one file and add it to the case; see :func:`materials_upload`."""
    return materials_upload(case, [Upload(material_type, uploaded_file)], actor, ip_address=ip_address, at=at)[0]


def materials_upload(case: Case, items: Sequence[Upload], actor: User, *, ip_address: str = "",
                     at: dt.datetime | None = None) -> list[Material]:
    """Check every file, then store them all or none.

    Every file is inspected before anything is written (``uploads.inspect``: content, not
    name); one bad file refuses the whole upload with that file's message. Files that replace
    ones the clerk marked unreadable mark those ``superseded``.
    """
    if not items:
        raise ValidationFailed(_("Choose a file to upload."), code="upload_missing")
    if len(items) > settings.LAOJIAN_UPLOAD_MAX_FILES:
        raise ValidationFailed(
            _("At most %(n)s files can be uploaded at once.") % {"n": settings.LAOJIAN_UPLOAD_MAX_FILES},
            code="upload_too_many",
        )
    if not cases_visible_to(actor).filter(pk=case.pk).exists():
        raise NotFoundError()
    if not can_upload(actor, case):
        raise PermissionDeniedError(_("You cannot add materials to this case at this step."))
    for item in items:
        _check_type(case, item.material_type)
    checked = [
        (item, uploads.inspect(item.file, item.name or getattr(item.file, "name", "") or "",
                               max_bytes=settings.LAOJIAN_UPLOAD_MAX_BYTES))
        for item in items
    ]
    return _store(case.pk, checked, actor, ip_address=ip_address, at=at)


def _store(case_id: int, checked: Iterable[tuple[Upload, uploads.Inspected]], actor: User, *,
           ip_address: str, at: dt.datetime | None) -> list[Material]:
    storage = Material._meta.get_field("file").storage
    written: list[str] = []
    created: list[Material] = []
    try:
        with transaction.atomic():
            case = case_for_update(actor, case_id)
            if not can_upload(actor, case):  # the case may have moved on since the form was shown
                raise PermissionDeniedError(_("You cannot add materials to this case at this step."))
            now = timezone.now()
            unreadable = set(
                MaterialCheck.objects.filter(case=case, status=MaterialStatus.UNREADABLE)
                .values_list("material_type_id", flat=True)
            )
            for item, inspected in checked:
                material = Material(
                    case=case, material_type=item.material_type,
                    original_name=_display_name(item, inspected), content_type=inspected.content_type,
                    size=len(inspected.data), sha256=hashlib.sha256(inspected.data).hexdigest(),
                    uploaded_by=actor, uploaded_at=now,
                )
                name = storage.save(material_upload_to(material, "upload" + inspected.extension),
                                    ContentFile(inspected.data))
                written.append(name)
                material.file.name = name
                if item.material_type.pk in unreadable:
                    Material.objects.filter(case=case, material_type=item.material_type, superseded=False,
                                            uploaded_at__lt=now).update(superseded=True)
                material.save()
                created.append(material)
                TimelineEntry.objects.create(
                    case=case, at=at or now, actor=actor, action="material_upload",
                    # The file's name can itself be medical ("…HIV检验.pdf"): it stays in the
                    # Materials section, which only medical roles see; the timeline names the item.
                    note=item.material_type.name,
                    data={"material_id": material.pk, "material_type": item.material_type.code},
                )
                audit.record(
                    "material.upload", actor=actor, obj=material, committee=case.committee,
                    after={"case_id": case.pk, "material_type": item.material_type.code,
                           "content_type": material.content_type, "size": material.size,
                           "sha256": material.sha256},
                    ip_address=ip_address,
                )
    except BaseException:
        for name in written:
            storage.delete(name)
        raise
    return created


def _display_name(item: Upload, inspected: uploads.Inspected) -> str:
    """The name as the user knows it, with the extension of what the file really is."""
    name = uploads.clean_name(item.name or getattr(item.file, "name", "") or "")
    path = PurePosixPath(name)
    if path.suffix.lower() in uploads.SUFFIXES[inspected.kind]:
        return name
    return uploads.clean_name((path.stem if path.suffix else name) + inspected.extension)


# THE COMPLETENESS CHECK ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    material_type: MaterialType
    status: str
    note: str = ""


def material_check(case: Case, material_type: MaterialType, status: str, note: str, actor: User, *,
                   ip_address: str = "", at: dt.datetime | None = None) -> MaterialCheck:
    """Record the clerk's finding on one checklist item (latest wins; history in audit and timeline)."""
    return materials_check(case, [Mark(material_type, status, note)], actor, ip_address=ip_address, at=at)[0]


def materials_check(case: Case, marks: Sequence[Mark], actor: User, *, ip_address: str = "",
                    at: dt.datetime | None = None) -> list[MaterialCheck]:
    """Record findings on several items at once: one timeline entry, one audit entry per item.

    Marks that repeat the current finding and note are skipped.
    """
    for mark in marks:
        _check_type(case, mark.material_type)
        if mark.status not in MaterialStatus.values:
            raise ValidationFailed(_("Choose present, missing or unreadable."), code="material_status")
        if len(mark.note) > MaterialCheck._meta.get_field("note").max_length:
            raise ValidationFailed(_("The note on “%(name)s” is too long (500 characters at most).")
                                   % {"name": mark.material_type.name}, code="material_note_too_long")
    saved: list[MaterialCheck] = []
    with transaction.atomic():
        case = case_for_update(actor, case.pk)
        if not actor.has_perm("cases.request_correction"):
            raise PermissionDeniedError()
        if case.status not in CHECK_STATES:
            raise ValidationFailed(
                _("Materials are checked while the application waits for acceptance; the case is now "
                  "“%(status)s”.") % {"status": case.get_status_display()},
                code="material_check_state",
            )
        now = timezone.now()
        current = {c.material_type_id: c for c in MaterialCheck.objects.filter(case=case)}
        lines = []
        for mark in marks:
            note = mark.note.strip()
            before = current.get(mark.material_type.pk)
            if before is not None and before.status == mark.status and before.note == note:
                saved.append(before)
                continue
            check, _created = MaterialCheck.objects.update_or_create(
                case=case, material_type=mark.material_type,
                defaults={"status": mark.status, "note": note, "checked_by": actor, "checked_at": now},
            )
            saved.append(check)
            label = MaterialStatus(mark.status).label
            lines.append(f"{mark.material_type.name}: {label}" + (f" ({note})" if note else ""))
            audit.record(
                "material.check", actor=actor, obj=check, committee=case.committee,
                before={"status": before.status, "note": before.note} if before else None,
                after={"case_id": case.pk, "material_type": mark.material_type.code, "status": mark.status,
                       "note": note},
                ip_address=ip_address,
            )
        if lines:
            TimelineEntry.objects.create(case=case, at=at or now, actor=actor, action="material_check",
                                         note="\n".join(lines))
    return saved


__all__ = [
    "APPLICANT_UPLOAD_STATES", "CHECK_STATES", "Mark", "Upload", "can_check", "can_upload", "can_view_files",
    "material_check", "material_upload", "materials_check", "materials_upload",
]
