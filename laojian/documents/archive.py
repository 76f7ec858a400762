"""The archive (归档): closing a case freezes its file into one package, kept 50 years.

A package is a ZIP of every document, material and delivery receipt of the case, with the case's
record (parties, timeline, conclusion, signed opinions, documents, deliveries) as ``record.json``
and a ``manifest.json`` listing each file's SHA-256. The package's own SHA-256 is stored;
``laojian archive verify`` re-reads every package and names what no longer matches. Opening a
package needs a reason and is logged (the lending log).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from laojian.cases import clocks
from laojian.cases import services as case_services
from laojian.cases.models import Case, Material, Status, Worker
from laojian.cases.selectors import case_get_for
from laojian.core import audit
from laojian.core.errors import ApplicationError, PermissionDeniedError, ValidationFailed
from laojian.core.sealed_storage import SealedFileError
from laojian.core.validators import normalize_resident_id
from laojian.documents.models import ArchiveAccess, ArchivePackage, Delivery, Document
from laojian.documents.services import read_checked
from laojian.grading import selectors as grading_selectors

if TYPE_CHECKING:
    from laojian.core.models import User

RETENTION_YEARS = 50
MANIFEST = "manifest.json"
RECORD = "record.json"
# ZIP entries get a fixed date so the same file always packs to the same bytes.
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


class ArchiveRefused(ApplicationError):
    code = "archive_refused"


def kept_until_its_date(today: dt.date) -> Exists:
    """SEC-64: an archived case is kept at least until its package's ``retain_until`` (a condition on
    ``cases.Case``, registered with ``cases.retention``)."""
    return Exists(ArchivePackage.objects.filter(case=OuterRef("pk"), retain_until__gt=today))


def _safe(name: str) -> str:
    """A path element without separators or control characters (names come from uploads)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .") or "file"


def _retain_until(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + RETENTION_YEARS, day=28)


def _read(field_file, expected_sha256: str, what: str) -> bytes:
    data = read_checked(field_file, expected_sha256)
    if data is None:
        raise ArchiveRefused(_("%(what)s no longer matches its recorded SHA-256; the case cannot be archived "
                               "until this is resolved.") % {"what": what}, code="tampered_source")
    return data


def _record(case: Case, documents: list[Document], deliveries: list[Delivery]) -> dict[str, Any]:
    conclusion = grading_selectors.conclusion_of(case)
    opinions = [o for o in grading_selectors.latest_opinions(case).values() if o.signed]
    return {
        "case": {"number": case.number, "type": case.case_type, "mode": case.mode, "status": case.status,
                 "received_on": str(case.received_on or ""), "accepted_on": str(case.accepted_on or ""),
                 "concluded_on": str(case.concluded_on or ""), "delivered_on": str(case.delivered_on or "")},
        "worker": {"name": case.worker.name, "id_number": case.worker.id_number},
        "employer": {"name": case.employer.name, "credit_code": case.employer.credit_code},
        "determination": {"number": case.determination.number, "injury_date": str(case.determination.injury_date),
                          "diagnosis": case.determination.diagnosis},
        "conclusion": None if conclusion is None else {
            "number": conclusion.number, "grade": conclusion.grade_label, "care_level": conclusion.care_level,
            "medical_dependency": conclusion.medical_dependency, "months": conclusion.months,
            "clauses": conclusion.clauses, "edition": conclusion.edition.code, "basis": conclusion.basis,
            "approved_by": str(conclusion.approved_by or ""), "source": conclusion.source},
        "opinions": [{"expert": str(o.author), "version": o.version, "grade": o.grade_label, "signed_at":
                      o.signed_at.isoformat() if o.signed_at else "", "signature": o.signature} for o in opinions],
        "documents": [{"number": d.number, "title": d.title, "issued_on": str(d.issued_on), "sha256": d.sha256,
                       "verify_code": d.verify_code} for d in documents],
        "deliveries": [{"document": d.document.number, "recipient": d.recipient, "method": d.method,
                        "sent_on": str(d.sent_on), "received_on": str(d.received_on or ""),
                        "tracking_number": d.tracking_number} for d in deliveries],
        "timeline": [{"at": e.at.isoformat(), "action": e.action, "from": e.from_status, "to": e.to_status,
                      "actor": str(e.actor or ""), "note": e.note} for e in case.timeline.select_related("actor")
                     .order_by("at", "id")],
    }


def _pack(files: list[tuple[str, bytes]]) -> tuple[bytes, list[dict[str, Any]]]:
    manifest = [{"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for path, data in files]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in [*files, (MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())]:
            info = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue(), manifest


def package_build(case_id: int, *, actor: User, today: dt.date | None = None) -> ArchivePackage:
    """Freeze an archived case's file into its package (once: a second call returns the first)."""
    existing = ArchivePackage.objects.filter(case_id=case_id).first()
    if existing:
        return existing
    case = (Case.objects.select_related("committee", "worker", "employer", "determination")
            .filter(pk=case_id).first())
    if case is None or case.status != Status.ARCHIVED:
        raise ArchiveRefused(_("Only an archived case is packed into the archive."), code="not_archived")
    today = today or clocks.today()
    documents = list(Document.objects.filter(case=case).order_by("id"))
    deliveries = list(Delivery.objects.filter(case=case).select_related("document").order_by("id"))
    files: list[tuple[str, bytes]] = []
    for document in documents:
        files.append((f"documents/{document.pk}-{_safe(document.number)}.pdf",
                      _read(document.file, document.sha256, document.number)))
    for material in Material.objects.filter(case=case).select_related("material_type").order_by("id"):
        state = "superseded" if material.superseded else "current"
        files.append((f"materials/{state}/{material.pk}-{_safe(material.original_name)}",
                      _read(material.file, material.sha256, material.original_name)))
    for delivery in deliveries:
        if delivery.receipt:
            suffix = delivery.receipt.name.rsplit(".", 1)[-1] if "." in delivery.receipt.name else "bin"
            files.append((f"deliveries/{delivery.pk}-receipt.{suffix}",
                          _read(delivery.receipt, delivery.receipt_sha256, delivery.document.number)))
    files.append((RECORD, json.dumps(_record(case, documents, deliveries), ensure_ascii=False, indent=1).encode()))
    content, manifest = _pack(files)
    # The ID number is encrypted at rest: the search text keeps only its masked form (last 4 shown);
    # a full number is found through the worker's blind index (archive_search).
    search = " ".join(filter(None, [case.number, case.worker.name, case.worker.masked_id_number, case.employer.name,
                                    *(d.number for d in documents)]))
    with transaction.atomic():
        package = ArchivePackage(case=case, committee=case.committee, archived_on=today,
                                 retain_until=_retain_until(today), sha256=hashlib.sha256(content).hexdigest(),
                                 manifest=manifest, search_text=search, created_by=actor)
        package.file.save(f"{case.committee.code}-{case.pk}.zip", ContentFile(content), save=False)
        try:
            package.save()
            case_services.timeline_add(case.pk, "archive_packed", actor=actor,
                                       data={"files": len(manifest), "sha256": package.sha256})
            audit.record("archive.pack", actor=actor, obj=package, committee=case.committee,
                         after={"case_id": case.pk, "sha256": package.sha256, "files": len(manifest),
                                "retain_until": package.retain_until.isoformat()})
        except Exception:
            package.file.storage.delete(package.file.name)
            raise
    return package


MISSING = gettext_noop("the package file is missing")
# The stored (sealed) package does not decrypt: a changed or cut-short file, or a key that is gone.
UNSEALABLE = gettext_noop("the package file does not decrypt: it was changed or cut short on disk, or its key "
                          "is no longer configured")


@dataclass(frozen=True)
class Check:
    package: ArchivePackage
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def package_verify(package: ArchivePackage) -> Check:
    """Re-read a package: its SHA-256, its manifest, and every file in it against the manifest."""
    try:
        with package.file.open("rb") as handle:
            content = handle.read()
    except SealedFileError:
        return Check(package, (_(UNSEALABLE),))
    except (OSError, ValueError):
        return Check(package, (_(MISSING),))
    return _check_bytes(package, content)


def _check_bytes(package: ArchivePackage, content: bytes) -> Check:
    problems: list[str] = []
    if hashlib.sha256(content).hexdigest() != package.sha256:
        problems.append(_("the package's SHA-256 differs from the one recorded when it was archived"))
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            inside = json.loads(archive.read(MANIFEST)) if MANIFEST in names else None
            if inside != package.manifest:
                problems.append(_("the manifest inside the package differs from the recorded one"))
            for entry in package.manifest:
                if entry["path"] not in names:
                    problems.append(_("%(path)s is missing") % {"path": entry["path"]})
                elif hashlib.sha256(archive.read(entry["path"])).hexdigest() != entry["sha256"]:
                    problems.append(_("%(path)s has changed") % {"path": entry["path"]})
            extra = names - {e["path"] for e in package.manifest} - {MANIFEST}
            problems += [_("%(path)s is not in the manifest") % {"path": p} for p in sorted(extra)]
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, zlib.error):
        problems.append(_("the package cannot be read as a ZIP archive"))
    return Check(package, tuple(problems))


def package_open(package_id: int, *, actor: User, reason: str) -> tuple[ArchivePackage, bytes]:
    """Lend an archived file: the reason is required and logged; a package that fails its check is
    not handed out."""
    reason = (reason or "").strip()
    if not actor.has_perm("documents.view_archive"):
        raise PermissionDeniedError(_("Your role cannot open the archive."))
    package = ArchivePackage.objects.select_related("case", "committee").filter(pk=package_id).first()
    if package is None:
        raise ValidationFailed(_("No such archived file."), code="not_found")
    case_get_for(actor, package.case_id)
    if not reason:
        raise ValidationFailed(_("Say why the archived file is opened."), code="reason_required")
    if len(reason) > ArchiveAccess._meta.get_field("reason").max_length:
        raise ValidationFailed(_("Keep the reason under 200 characters."), code="reason_too_long")
    try:  # one read: the bytes handed out are the bytes checked
        with package.file.open("rb") as handle:
            content = handle.read()
        check = _check_bytes(package, content) if content else Check(package, (_(MISSING),))
    except SealedFileError:
        content, check = b"", Check(package, (_(UNSEALABLE),))
    except (OSError, ValueError):
        content, check = b"", Check(package, (_(MISSING),))
    if not check.ok:
        raise ArchiveRefused(_("The archived file of %(case)s failed its check (%(problem)s); it is not handed out. "
                               "Tell the system administrator.") % {"case": package.case, "problem": check.problems[0]},
                             code="tampered")
    with transaction.atomic():
        ArchiveAccess.objects.create(package=package, user=actor, reason=reason)
        audit.record("archive.open", actor=actor, obj=package, committee=package.committee,
                     after={"case_id": package.case_id, "reason": reason})
    return package, content


def archive_search(user: User, q: str = "", *, year: int | None = None) -> QuerySet[ArchivePackage]:
    """Archived files of the user's committee matching every word (case number, names, the full ID
    number or its last four characters, document numbers; letters in any case; the first six words)."""
    if not user.has_perm("documents.view_archive") or not user.committee_id:
        return ArchivePackage.objects.none()
    packages = ArchivePackage.objects.filter(committee_id=user.committee_id).select_related("case", "case__worker")
    for term in q.split()[:6]:
        match = Q(search_text__icontains=term)
        try:
            match |= Q(case__worker__id_number_index=Worker.index_of(normalize_resident_id(term)))
        except ValidationError:
            pass
        packages = packages.filter(match)
    if year:
        packages = packages.filter(archived_on__year=year)
    return packages.order_by("-archived_on", "-id")


def verify_all() -> list[Check]:
    # A package whose file was deleted by `laojian retention apply` (past its retain_until) has an empty file.
    return [package_verify(p) for p in ArchivePackage.objects.select_related("case").exclude(file="").order_by("id")]
