"""Re-appraisal (再次鉴定) at the provincial committee: the party's request, the file the city sends
to the province, and the province's result (domain.md step 9).

A party who disagrees with the city's conclusion asks the provincial committee within 15 days of
receiving it (the window runs from ``case.delivered_on`` to ``case.reappraisal_window_ends``, a
clock). The city records the request, exports the case's file for the province as one ZIP whose
``manifest.json`` lists every file with its SHA-256, and later records the provincial conclusion,
which is final; whether it upheld or changed the city's conclusion is computed, never typed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import secrets
import zipfile
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases import selectors as case_selectors
from laojian.cases import services as case_services
from laojian.cases.models import MaterialsStorage, Status
from laojian.core import audit
from laojian.core.errors import ApplicationError, PermissionDeniedError, ValidationFailed
from laojian.core.sealed_storage import SealedFileError
from laojian.documents import selectors as document_selectors
from laojian.documents.services import read_checked
from laojian.grading import selectors as grading_selectors
from laojian.grading.rules import CareLevel, grade_label
from laojian.review.models import Reappraisal

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User
    from laojian.grading.models import Conclusion

PERMISSION = "review.record_reappraisal"
# A re-appraisal is asked for once the conclusion reached the parties.
ELIGIBLE_STATES = frozenset({Status.DELIVERED, Status.ARCHIVED})
MANIFEST = "manifest.json"
# ZIP entries get a fixed date so the same file always packs to the same bytes (as the archive does).
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
GRADES = range(1, 11)


class ReappraisalRefused(ApplicationError):
    code = "reappraisal_refused"


def _storage() -> Storage:
    """The private storage of case files (documents, materials, archive packages): never served by
    URL, and sealed at rest like them (the package holds the case's medical files)."""
    return MaterialsStorage()


# READS --------------------------------------------------------------------------------------------

def reappraisal_of(case: Case) -> Reappraisal | None:
    return Reappraisal.objects.filter(case=case).select_related("recorded_by", "result_recorded_by").first()


def city_conclusion(case: Case) -> Conclusion | None:
    """The city's approved conclusion, the one a re-appraisal is about (None before approval)."""
    conclusion = grading_selectors.conclusion_of(case)
    return conclusion if conclusion is not None and conclusion.state == "approved" else None


def not_eligible_reason(case: Case, conclusion: Conclusion | None) -> str:
    """Why no re-appraisal can be recorded for this case ("" when it can)."""
    if case.status not in ELIGIBLE_STATES:
        return _("A re-appraisal is asked for after the conclusion has been delivered; this case is “%(status)s”.") % {
            "status": case.get_status_display()}
    if conclusion is None:
        return _("This case has no approved conclusion in the system, so there is nothing to re-appraise.")
    return ""


@dataclass(frozen=True)
class Window:
    """The re-appraisal window: from the delivery of the conclusion to the last day a party may ask."""

    starts: dt.date | None
    ends: dt.date | None
    today: dt.date

    @property
    def open(self) -> bool:
        return self.starts is not None and self.ends is not None and self.starts <= self.today <= self.ends

    @property
    def days_left(self) -> int | None:
        return clocks.days_left(self.ends, self.today) if self.open else None


def window_of(case: Case, *, today: dt.date | None = None) -> Window:
    return Window(starts=case.delivered_on, ends=case.reappraisal_window_ends, today=today or clocks.today())


@dataclass(frozen=True)
class Comparison:
    """One value of the city's conclusion beside the province's."""

    label: str
    city: str
    province: str

    @property
    def differs(self) -> bool:
        return self.city != self.province


def _care_label(value: str | None) -> str:
    try:
        return str(CareLevel(value or CareLevel.NONE).label)
    except ValueError:
        return value or ""


def comparison(conclusion: Conclusion | None, reappraisal: Reappraisal) -> list[Comparison]:
    """Grade, care dependency and months, city against province (empty until the result is in)."""
    if conclusion is None or reappraisal.outcome == Reappraisal.Outcome.PENDING:
        return []
    return [
        Comparison(_("Grade"), grade_label(conclusion.grade), grade_label(reappraisal.provincial_grade)),
        Comparison(_("Care dependency"), _care_label(conclusion.care_level),
                   _care_label(reappraisal.provincial_care_level)),
        Comparison(_("Months"), str(conclusion.months if conclusion.months is not None else "—"),
                   str(reappraisal.provincial_months if reappraisal.provincial_months is not None else "—")),
    ]


def outcome(conclusion: Conclusion, *, grade: int | None, care_level: str, months: int | None) -> str:
    """Upheld when the province's grade, care dependency and months are the city's; else changed."""
    same = (grade == conclusion.grade
            and (care_level or CareLevel.NONE) == (conclusion.care_level or CareLevel.NONE)
            and months == conclusion.months)
    return Reappraisal.Outcome.UPHELD if same else Reappraisal.Outcome.CHANGED


# THE REQUEST --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestInput:
    requested_on: dt.date
    party: str  # Reappraisal.Party
    requester_name: str
    grounds: str


def _window_text(window: Window) -> str:
    return _("The re-appraisal window runs from %(start)s (delivery of the conclusion) to %(end)s.") % {
        "start": window.starts.isoformat() if window.starts else "—",
        "end": window.ends.isoformat() if window.ends else "—"}


def check_request_date(case: Case, requested_on: dt.date, *, today: dt.date) -> None:
    """A request counts only within the window: not before delivery, not after the window's last day,
    and not in the future."""
    window = window_of(case, today=today)
    if window.starts is None or window.ends is None:
        raise ReappraisalRefused(_("The delivery of the conclusion is not recorded, so the re-appraisal window "
                                   "is not known."), code="no_window")
    if requested_on > today:
        raise ReappraisalRefused(_("The request date %(date)s is in the future. %(window)s")
                                 % {"date": requested_on.isoformat(), "window": _window_text(window)},
                                 code="date_in_future")
    if requested_on < window.starts:
        raise ReappraisalRefused(_("A request dated %(date)s is before the conclusion was delivered. %(window)s")
                                 % {"date": requested_on.isoformat(), "window": _window_text(window)},
                                 code="before_delivery")
    if requested_on > window.ends:
        raise ReappraisalRefused(_("A request dated %(date)s is after the re-appraisal window closed. %(window)s")
                                 % {"date": requested_on.isoformat(), "window": _window_text(window)},
                                 code="window_closed")


def _require_permission(actor: User) -> None:
    if not actor.has_perm(PERMISSION):
        raise PermissionDeniedError(_("Your role cannot record re-appraisals."))


def _already_recorded(existing: Reappraisal) -> ReappraisalRefused:
    return ReappraisalRefused(
        _("A re-appraisal request is already recorded for this case (dated %(date)s, by %(party)s). A case has "
          "one request: its file and the provincial result are recorded on the same page.")
        % {"date": existing.requested_on.isoformat(), "party": existing.get_party_display()},
        code="already_requested")


def request_record(case_id: int, data: RequestInput, *, actor: User, today: dt.date | None = None,
                   ip_address: str = "") -> Reappraisal:
    """Record a party's request for re-appraisal, within the window, once per case."""
    _require_permission(actor)
    today = today or clocks.today()
    name, grounds = (data.requester_name or "").strip(), (data.grounds or "").strip()
    try:
        with transaction.atomic():
            case = case_selectors.case_for_update(actor, case_id)
            refusal = not_eligible_reason(case, city_conclusion(case))
            if refusal:
                raise ReappraisalRefused(refusal, code="not_eligible")
            existing = Reappraisal.objects.filter(case=case).first()
            if existing is not None:
                raise _already_recorded(existing)
            if data.party not in Reappraisal.Party.values:
                raise ValidationFailed(_("Say which party asks: the worker or the employer."),
                                       extra={"fields": {"party": [_("Choose a party.")]}})
            if not name:
                raise ValidationFailed(_("Enter the name of the person who asks."),
                                       extra={"fields": {"requester_name": [_("This field is required.")]}})
            if not grounds:
                raise ValidationFailed(_("Enter the grounds the party gives."),
                                       extra={"fields": {"grounds": [_("This field is required.")]}})
            check_request_date(case, data.requested_on, today=today)
            reappraisal = Reappraisal.objects.create(
                case=case, committee=case.committee, requested_on=data.requested_on, party=data.party,
                requester_name=name, grounds=grounds, recorded_by=actor)
            case_services.timeline_add(case.pk, "reappraisal_requested", actor=actor, note=grounds,
                                       data={"requested_on": data.requested_on.isoformat(), "party": data.party,
                                             "requester": name})
            audit.record("reappraisal.request", actor=actor, obj=reappraisal, committee=case.committee,
                         after={"case_id": case.pk, "requested_on": data.requested_on, "party": data.party,
                                "requester_name": name, "window_ends": case.reappraisal_window_ends},
                         ip_address=ip_address)
    except IntegrityError:  # a second clerk recorded it at the same moment
        existing = Reappraisal.objects.filter(case_id=case_id).first()
        if existing is None:
            raise
        raise _already_recorded(existing) from None
    return reappraisal


# THE FILE FOR THE PROVINCE ------------------------------------------------------------------------

def _safe(name: str) -> str:
    """A path element without separators or control characters (names come from uploads)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .") or "file"


def _read(field_file: Any, sha256: str, what: str) -> bytes:
    """The stored bytes, checked against the SHA-256 recorded when they were stored."""
    try:
        data = read_checked(field_file, sha256)
    except (OSError, ValueError):
        raise ReappraisalRefused(_("%(what)s is missing from storage; nothing was exported. Tell the system "
                                   "administrator.") % {"what": what}, code="missing_source") from None
    if data is None:
        raise ReappraisalRefused(_("%(what)s no longer matches its recorded SHA-256; nothing was exported. Tell "
                                   "the system administrator.") % {"what": what}, code="tampered_source")
    return data


def _conclusion_summary(case: Case, conclusion: Conclusion) -> dict[str, Any]:
    return {"number": conclusion.number, "concluded_on": str(case.concluded_on or ""), "grade": conclusion.grade,
            "grade_label": conclusion.grade_label, "care_level": conclusion.care_level,
            "medical_dependency": conclusion.medical_dependency, "months": conclusion.months,
            "clauses": list(conclusion.clauses), "edition": conclusion.edition.code, "basis": conclusion.basis}


def _case_summary(case: Case) -> dict[str, Any]:
    return {
        "number": case.number, "type": case.case_type, "status": case.status, "committee": case.committee.name,
        "received_on": str(case.received_on or ""), "accepted_on": str(case.accepted_on or ""),
        "concluded_on": str(case.concluded_on or ""), "delivered_on": str(case.delivered_on or ""),
        "reappraisal_window_ends": str(case.reappraisal_window_ends or ""),
        "worker": {"name": case.worker.name, "id_number": case.worker.id_number},
        "employer": {"name": case.employer.name, "credit_code": case.employer.credit_code},
        "determination": {"number": case.determination.number,
                          "injury_date": str(case.determination.injury_date),
                          "injured_parts": case.determination.injured_parts,
                          "diagnosis": case.determination.diagnosis},
    }


def build_package(case: Case, reappraisal: Reappraisal, conclusion: Conclusion) -> tuple[bytes, dict[str, Any]]:
    """The ZIP for the provincial committee and its manifest: every document of the case and its
    current materials, each read back and checked against its SHA-256; one bad file stops it all."""
    files: list[tuple[str, bytes, dict[str, Any]]] = []
    for document in document_selectors.case_documents(case):
        data = _read(document.file, document.sha256, document.number)
        files.append((f"documents/{document.pk}-{_safe(document.number)}.pdf", data,
                      {"kind": "document", "document_kind": document.kind, "number": document.number,
                       "title": document.title, "issued_on": str(document.issued_on)}))
    for item in case_selectors.case_checklist(case):
        for material in item.current:
            data = _read(material.file, material.sha256, material.original_name)
            files.append((f"materials/{_safe(item.material_type.code)}/{material.pk}-{_safe(material.original_name)}",
                          data, {"kind": "material", "number": "", "title": str(item.material_type.name),
                                 "original_name": material.original_name}))
    manifest = {
        "format": "laojian-reappraisal/1",
        "case": _case_summary(case),
        "conclusion": _conclusion_summary(case, conclusion),
        "request": {"requested_on": reappraisal.requested_on.isoformat(), "party": reappraisal.party,
                    "requester_name": reappraisal.requester_name, "grounds": reappraisal.grounds},
        "files": [{"path": path, **meta, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for path, data, meta in files],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries = [(path, data) for path, data, _meta in files]
        for path, data in [*entries, (MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())]:
            info = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue(), manifest


def package_export(case_id: int, *, actor: User, ip_address: str = "") -> Reappraisal:
    """Build and store the file for the provincial committee; a new export replaces the last one."""
    _require_permission(actor)
    case = case_selectors.case_get_for(actor, case_id)
    reappraisal = reappraisal_of(case)
    if reappraisal is None:
        raise ReappraisalRefused(_("Record the party's request before exporting the file."), code="no_request")
    conclusion = city_conclusion(case)
    if conclusion is None:
        raise ReappraisalRefused(not_eligible_reason(case, conclusion), code="not_eligible")
    content, manifest = build_package(case, reappraisal, conclusion)
    sha256 = hashlib.sha256(content).hexdigest()
    storage = _storage()
    name = storage.save(f"reappraisal/{case.committee.code}/{case.pk}-{secrets.token_hex(8)}.zip",
                        ContentFile(content))
    try:
        with transaction.atomic():
            locked = Reappraisal.objects.select_for_update().get(pk=reappraisal.pk)
            previous = {"package": locked.package, "sha256": locked.package_sha256}
            locked.package, locked.package_sha256, locked.exported_at = name, sha256, timezone.now()
            locked.save(update_fields=["package", "package_sha256", "exported_at", "updated_at"])
            case_services.timeline_add(case.pk, "reappraisal_exported", actor=actor,
                                       data={"files": len(manifest["files"]), "sha256": sha256})
            audit.record("reappraisal.export", actor=actor, obj=locked, committee=case.committee,
                         before={"sha256": previous["sha256"]} if previous["sha256"] else None,
                         after={"case_id": case.pk, "sha256": sha256, "files": len(manifest["files"]),
                                "replaces": bool(previous["package"])}, ip_address=ip_address)
            if previous["package"]:
                transaction.on_commit(partial(storage.delete, previous["package"]))
    except Exception:
        storage.delete(name)  # nothing stored when nothing was recorded
        raise
    return locked


def package_read(case_id: int, *, actor: User, ip_address: str = "") -> tuple[Reappraisal, bytes]:
    """The exported file, once its SHA-256 is checked; each download is in the audit trail."""
    _require_permission(actor)
    case = case_selectors.case_get_for(actor, case_id)
    reappraisal = reappraisal_of(case)
    if reappraisal is None or not reappraisal.package:
        raise ReappraisalRefused(_("The file for the provincial committee has not been exported yet."),
                                 code="not_exported")
    try:
        with _storage().open(reappraisal.package, "rb") as handle:
            content = handle.read()
    except SealedFileError:
        content = b""  # changed or cut short on disk: refused below like any changed file
    except (OSError, ValueError):
        raise ReappraisalRefused(_("The exported file is missing from storage: export it again."),
                                 code="missing_package") from None
    if hashlib.sha256(content).hexdigest() != reappraisal.package_sha256:
        raise ReappraisalRefused(_("The exported file no longer matches its recorded SHA-256: export it again."),
                                 code="tampered_package")
    audit.record("reappraisal.download", actor=actor, obj=reappraisal, committee=case.committee,
                 after={"case_id": case.pk, "sha256": reappraisal.package_sha256}, ip_address=ip_address)
    return reappraisal, content


# THE PROVINCIAL RESULT ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultInput:
    number: str
    concluded_on: dt.date
    grade: int | None  # None: no grade reached (未达到伤残等级)
    care_level: str = CareLevel.NONE
    months: int | None = None
    note: str = ""


def result_record(case_id: int, data: ResultInput, *, actor: User, today: dt.date | None = None,
                  ip_address: str = "") -> Reappraisal:
    """Record the provincial committee's conclusion (final) and whether it upheld the city's."""
    _require_permission(actor)
    today = today or clocks.today()
    number = (data.number or "").strip()
    care_level = data.care_level or CareLevel.NONE
    with transaction.atomic():
        case = case_selectors.case_for_update(actor, case_id)
        reappraisal = Reappraisal.objects.select_for_update().filter(case=case).first()
        if reappraisal is None:
            raise ReappraisalRefused(_("Record the party's request before the provincial result."),
                                     code="no_request")
        if reappraisal.outcome != Reappraisal.Outcome.PENDING:
            raise ReappraisalRefused(
                _("The provincial result is already recorded (%(number)s of %(date)s); the provincial conclusion "
                  "is final.") % {"number": reappraisal.provincial_number,
                                  "date": reappraisal.provincial_concluded_on.isoformat()
                                  if reappraisal.provincial_concluded_on else "—"},
                code="result_recorded")
        conclusion = city_conclusion(case)
        if conclusion is None:
            raise ReappraisalRefused(not_eligible_reason(case, conclusion), code="not_eligible")
        fields: dict[str, list[str]] = {}
        if not number:
            fields["number"] = [_("Enter the number of the provincial conclusion.")]
        if data.concluded_on > today:
            fields["concluded_on"] = [_("The provincial conclusion cannot be dated in the future.")]
        elif data.concluded_on < reappraisal.requested_on:
            fields["concluded_on"] = [_("The provincial conclusion cannot be dated before the request (%(date)s).")
                                      % {"date": reappraisal.requested_on.isoformat()}]
        if data.grade is not None and data.grade not in GRADES:
            fields["grade"] = [_("A grade is 1 to 10, or no grade reached.")]
        if care_level not in CareLevel.values:
            fields["care_level"] = [_("Choose a care dependency level.")]
        if data.months is not None and data.months < 1:
            fields["months"] = [_("Months are at least 1; leave the field empty when none are set.")]
        if fields:
            first = next(iter(fields.values()))[0]
            raise ValidationFailed(first, extra={"fields": fields})
        result = outcome(conclusion, grade=data.grade, care_level=care_level, months=data.months)
        reappraisal.provincial_number = number
        reappraisal.provincial_concluded_on = data.concluded_on
        reappraisal.provincial_grade = data.grade
        reappraisal.provincial_care_level = care_level
        reappraisal.provincial_months = data.months
        reappraisal.result_note = (data.note or "").strip()
        reappraisal.outcome = result
        reappraisal.result_recorded_by = actor
        reappraisal.result_recorded_at = timezone.now()
        reappraisal.save()
        case_services.timeline_add(case.pk, "reappraisal_result", actor=actor, note=reappraisal.result_note,
                                   data={"outcome": result, "number": number,
                                         "concluded_on": data.concluded_on.isoformat(),
                                         "grade": grade_label(data.grade)})
        audit.record("reappraisal.result", actor=actor, obj=reappraisal, committee=case.committee,
                     after={"case_id": case.pk, "number": number, "concluded_on": data.concluded_on,
                            "grade": data.grade, "care_level": care_level, "months": data.months,
                            "outcome": result, "city": {"grade": conclusion.grade,
                                                        "care_level": conclusion.care_level,
                                                        "months": conclusion.months}},
                     ip_address=ip_address)
    return reappraisal
