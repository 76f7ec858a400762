"""Individuals' rights requests (SEC-65, PIPL Chapter IV, Arts. 45-46): a copy of a worker's personal
data, and the correction of their name, phone, address or ID number.

Staff holding ``cases.handle_rights_request`` (clerks and leaders) answer them from a case of the
worker that they may see; the request is reached through that case, so it is scoped like the case
(missing and forbidden alike are ``NotFoundError``). Each answer is recorded in the audit trail with
the reason the staff member gives, in the case committee's chain, and on the case's timeline. A
correction keeps the old value in the audit trail (the ID number and the phone masked, SEC-62); a
refused request is recorded with its reason and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db import models as db
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laojian.cases.models import Case, Material, TimelineEntry, Worker
from laojian.cases.selectors import case_for_update, case_get_for, cases_visible_to
from laojian.core import audit, notices
from laojian.core.calendar import iso_local
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.core.validators import MOBILE, mask_id_number, mask_phone, parse_resident_id
from laojian.core.versioning import bump, check_version

if TYPE_CHECKING:
    from laojian.core.models import User

PERMISSION = "cases.handle_rights_request"
REASON_MAX_LENGTH = 1000
EXPORT_FORMAT = "laojian.personal-data/1"


class Field(db.TextChoices):
    """The worker's fields a correction may change."""

    NAME = "name", gettext_lazy("name")
    PHONE = "phone", gettext_lazy("phone")
    ADDRESS = "address", gettext_lazy("address")
    ID_NUMBER = "id_number", gettext_lazy("ID number")


class Outcome(db.TextChoices):
    CORRECTED = "corrected", gettext_lazy("corrected as requested")
    REFUSED = "refused", gettext_lazy("refused (the record is right)")


def may_handle(user: User) -> bool:
    return user.has_perm(PERMISSION)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason: it is kept in the audit trail with the request."),
                               code="reason_required", extra={"fields": {"reason": [_("Give the reason.")]}})
    return reason[:REASON_MAX_LENGTH]


def _require(actor: User) -> None:
    if not may_handle(actor):
        raise PermissionDeniedError()


# A COPY OF THE PERSONAL DATA ----------------------------------------------------------------------


# What other apps hold of the worker goes into the copy through these, registered in each app's
# AppConfig.ready(), so this module reaches into no other app: per case (grading: the approved
# conclusion) and for the whole copy (notify: what was sent to the worker).
CasePart = Callable[[list[Case]], dict[int, Any]]
CopyPart = Callable[[list[Case], Worker], list[dict[str, Any]]]
_CASE_PARTS: dict[str, CasePart] = {}
_COPY_PARTS: dict[str, CopyPart] = {}


def register_case_part(name: str, part: CasePart) -> None:
    """Add ``name`` to each case of the copy: ``part(cases)`` gives {case id: value}."""
    _CASE_PARTS[name] = part


def register_copy_part(name: str, part: CopyPart) -> None:
    """Add ``name`` to the copy: ``part(cases, worker)`` gives a list of records."""
    _COPY_PARTS[name] = part


def personal_data_copy(actor: User, case_id: int, *, reason: str, ip_address: str = "") -> dict[str, Any]:
    """The worker of ``case_id``'s personal data as the committee holds it (decrypted), for handing to
    them: the worker record, their cases visible to ``actor`` (statuses, dates, the injury, the notice
    version each application acknowledged), each case's materials (names and dates, not the files),
    and what the other apps registered (approved conclusions, the SMS and e-mails sent to the worker).
    Audited with ``reason``."""
    reason = _reason(reason)
    case = case_get_for(actor, case_id)
    _require(actor)
    worker = case.worker
    cases = list(cases_visible_to(actor).filter(worker=worker)
                 .select_related("committee", "employer", "determination").order_by("created_at", "id"))
    case_parts = {name: part(cases) for name, part in _CASE_PARTS.items()}
    files: dict[int, list[dict[str, Any]]] = {}
    for material in (Material.objects.filter(case__in=cases).select_related("material_type")
                     .order_by("uploaded_at", "id")):
        files.setdefault(material.case_id, []).append({
            "material": material.material_type.name, "file_name": material.original_name,
            "uploaded_at": iso_local(material.uploaded_at), "superseded": material.superseded,
        })

    def notice(c: Case) -> dict[str, Any]:
        shown = notices.get(c.notice_version) if c.notice_version else None
        return {"version": c.notice_version or None, "acknowledged_at": iso_local(c.notice_acknowledged_at),
                "title": str(shown.title) if shown else None}

    data = {
        "format": EXPORT_FORMAT,
        "generated_at": iso_local(timezone.now()),
        "committee": case.committee.name,
        "legal_basis": _("Personal Information Protection Law, Art. 45: a copy of the personal information "
                         "the committee processes to appraise labour capacity (statutory duty)."),
        "worker": {
            "name": worker.name, "id_number": worker.id_number, "sex": worker.get_sex_display(),
            "birth_date": iso_local(worker.birth_date), "phone": worker.phone, "address": worker.address,
            "county": worker.county,
        },
        "cases": [
            {
                "number": c.number, "committee": c.committee.name,
                "case_type": c.get_case_type_display(), "status": c.get_status_display(),
                "applicant": c.get_applicant_kind_display(), "applicant_name": c.applicant_name,
                "applicant_phone": c.applicant_phone, "mode": c.get_mode_display(),
                "received_on": iso_local(c.received_on), "accepted_on": iso_local(c.accepted_on),
                "concluded_on": iso_local(c.concluded_on), "delivered_on": iso_local(c.delivered_on),
                "employer": c.employer.name,
                "injury": {"determination_number": c.determination.number,
                           "injury_date": iso_local(c.determination.injury_date),
                           "determination_date": iso_local(c.determination.determination_date),
                           "injured_parts": c.determination.injured_parts,
                           "diagnosis": c.determination.diagnosis},
                "personal_information_notice": notice(c),
                "materials": files.get(c.pk, []),
                **{name: values.get(c.pk) for name, values in case_parts.items()},
            }
            for c in cases
        ],
        **{name: part(cases, worker) for name, part in _COPY_PARTS.items()},
    }
    with transaction.atomic():
        audit.record("worker.data_copy", actor=actor, obj=worker, committee=case.committee, ip_address=ip_address,
                     after={"case_id": case.pk, "reason": reason, "format": EXPORT_FORMAT,
                            "cases": [c.pk for c in cases], "fields": ["worker.id_number", "worker.phone",
                                                                       "determination.diagnosis"]})
        TimelineEntry.objects.create(case=case, at=timezone.now(), actor=actor, action="rights_copy", note=reason)
    return data


# CORRECTIONS ----------------------------------------------------------------------------------------

def _shown(field: str, value: str) -> str:
    """A value as the audit trail keeps it: the ID number and the phone masked (SEC-62)."""
    if field == Field.ID_NUMBER:
        return mask_id_number(value)
    if field == Field.PHONE:
        return mask_phone(value)
    return value


def _clean_value(field: str, value: str) -> dict[str, Any]:
    """The worker's new values for a correction of ``field`` (an ID number also sets birth date and sex)."""
    value = (value or "").strip()
    if field == Field.NAME:
        if not value:
            raise _invalid(_("Enter the worker's name."))
        if len(value) > Worker._meta.get_field("name").max_length:
            raise _invalid(_("The name is too long."))
        return {"name": value}
    if field == Field.PHONE:
        value = value.replace(" ", "").replace("-", "")
        if value and not MOBILE.match(value):
            raise _invalid(_("Enter an 11-digit mainland mobile number, e.g. 13800000000, or leave it empty."))
        return {"phone": value}
    if field == Field.ADDRESS:
        if len(value) > Worker._meta.get_field("address").max_length:
            raise _invalid(_("The address is too long."))
        return {"address": value}
    try:
        parsed = parse_resident_id(value)
    except ValidationError as exc:
        raise _invalid(exc.messages[0]) from None
    return {"id_number": parsed.number, "birth_date": parsed.birth_date, "sex": parsed.sex}


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="correction_invalid", extra={"fields": {"value": [message]}})


def worker_correct(
    actor: User,
    case_id: int,
    *,
    field: str,
    value: str,
    reason: str,
    outcome: str = Outcome.CORRECTED,
    expected_version: int | None = None,
    ip_address: str = "",
) -> Worker:
    """Record a correction request about the worker of ``case_id`` and its outcome.

    ``corrected``: the field takes ``value`` (checked as at intake), the worker's version goes up and
    the audit entry keeps the old and the new value; ``refused``: nothing changes and the entry keeps
    what was asked. ``expected_version`` is the worker's version the form was filled in against
    (optimistic lock, ``core.versioning``).
    """
    if field not in Field.values:
        raise _invalid(_("Choose which detail is to be corrected."))
    if outcome not in Outcome.values:
        raise ValidationFailed(_("Choose the outcome of the request."), code="correction_invalid",
                               extra={"fields": {"outcome": [_("Choose the outcome of the request.")]}})
    reason = _reason(reason)
    try:
        new = _clean_value(field, value)
    except ValidationFailed:
        if outcome != Outcome.REFUSED:
            raise
        new = {field: (value or "").strip()[:200]}  # a request refused as wrong is kept as asked (masked)
    try:
        with transaction.atomic():
            case = case_for_update(actor, case_id)
            _require(actor)
            workers = Worker.objects.filter(pk=case.worker_id)
            if connection.features.has_select_for_update:
                workers = workers.select_for_update()
            worker = workers.get()
            check_version(worker, expected_version)
            old = {name: getattr(worker, name) for name in new}
            if outcome == Outcome.CORRECTED and old == new:
                raise _invalid(_("This is already the recorded value: nothing to correct."))
            if field == Field.ID_NUMBER and outcome == Outcome.CORRECTED and Worker.objects.filter(
                    id_number_index=Worker.index_of(new["id_number"])).exclude(pk=worker.pk).exists():
                raise _invalid(_("Another worker is recorded with this ID number. Tell the system administrator: "
                                 "the two records must be merged, not corrected."))
            before = {name: _shown(name, str(v)) for name, v in old.items()}
            after = {name: _shown(name, str(v)) for name, v in new.items()}
            if outcome == Outcome.REFUSED:
                audit.record("worker.correction_refused", actor=actor, obj=worker, committee=case.committee,
                             before=before, after={**after, "reason": reason, "case_id": case.pk},
                             ip_address=ip_address)
            else:
                for name, v in new.items():
                    setattr(worker, name, v)
                bump(worker)
                update = [*new, "version", "updated_at"] + (["id_number_index"] if field == Field.ID_NUMBER else [])
                worker.save(update_fields=update)
                audit.record("worker.correction", actor=actor, obj=worker, committee=case.committee,
                             before=before, after={**after, "reason": reason, "case_id": case.pk},
                             ip_address=ip_address)
            TimelineEntry.objects.create(case=case, at=timezone.now(), actor=actor, action="rights_correction",
                                         note=reason, data={"field": field, "outcome": outcome})
    except IntegrityError as exc:  # the same number saved for another worker at the same moment
        raise _invalid(_("Another worker is recorded with this ID number.")) from exc
    return worker
