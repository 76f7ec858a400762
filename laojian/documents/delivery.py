"""Writes for delivery (送达): sending a document, the proof of receipt, and the reminders.

When the applicant's receipt of the conclusion letter (or period confirmation) is recorded, the
case moves to delivered with the day of receipt, which starts the re-appraisal window. The copy
to the social-insurance agency is a delivery of its own (``to_agency``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases import services as case_services
from laojian.cases.models import CaseAssignment, Status
from laojian.cases.selectors import case_get_for
from laojian.cases.uploads import inspect
from laojian.core import audit
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.documents.models import Delivery, Document, Kind
from laojian.notify import services as notify

if TYPE_CHECKING:
    from laojian.core.models import User

# Receiving one of these is what the case's delivery step waits for.
CONCLUDING = frozenset({Kind.CONCLUSION, Kind.PERIOD})
REMINDER_TEMPLATE = "delivery.due_soon"


def register_templates() -> None:
    notify.register_template(
        REMINDER_TEMPLATE,
        "{{ committee }}：案件{{ number }}的鉴定结论应于{{ due }}前送达，目前尚未送达，请及时办理。",
        email_subject="{{ committee }}：{{ number }}送达提醒",
        email_body="案件{{ number }}的鉴定结论应于{{ due }}前送达，目前尚未送达，请及时办理。")


def _check_date(day: dt.date, today: dt.date, *, not_before: dt.date | None, what: str) -> None:
    if day > today:
        raise ValidationFailed(_("%(what)s cannot be in the future.") % {"what": what}, code="date_in_future")
    if not_before and day < not_before:
        raise ValidationFailed(_("%(what)s (%(date)s) cannot be before %(earliest)s.")
                               % {"what": what, "date": day.isoformat(), "earliest": not_before.isoformat()},
                               code="date_too_early")


def delivery_send(document_id: int, *, actor: User, method: str, recipient: str, sent_on: dt.date,
                  tracking_number: str = "", to_agency: bool = False, today: dt.date | None = None) -> Delivery:
    """Record that a document went out: how, to whom, when (never before it was issued)."""
    if not actor.has_perm("documents.record_delivery"):
        raise PermissionDeniedError(_("Your role cannot record deliveries."))
    today = today or clocks.today()
    document = Document.objects.select_related("case").filter(pk=document_id).first()
    if document is None:
        raise ValidationFailed(_("No such document."), code="not_found")
    case = case_get_for(actor, document.case_id)
    recipient, tracking_number = (recipient or "").strip(), (tracking_number or "").strip()
    if method not in Delivery.Method.values:
        raise ValidationFailed(_("Choose how the document is delivered."), code="method")
    if not recipient:
        raise ValidationFailed(_("Name the recipient."), code="recipient")
    if method == Delivery.Method.POST and not tracking_number:
        raise ValidationFailed(_("Registered post needs its tracking number."), code="tracking_number")
    _check_date(sent_on, today, not_before=max(filter(None, (document.issued_on, case.concluded_on
                                                             if document.kind in CONCLUDING else None))),
                what=_("The sending date"))
    with transaction.atomic():
        delivery = Delivery.objects.create(document=document, case=case, recipient=recipient, to_agency=to_agency,
                                           method=method, tracking_number=tracking_number, sent_on=sent_on,
                                           recorded_by=actor)
        case_services.timeline_add(case.pk, "delivery_sent", actor=actor,
                                   data={"number": document.number, "method": method, "recipient": recipient})
        audit.record("document.delivery_send", actor=actor, obj=delivery, committee=case.committee,
                     after={"number": document.number, "method": method, "sent_on": sent_on.isoformat(),
                            "tracking_number": tracking_number, "to_agency": to_agency})
    return delivery


def delivery_receive(delivery_id: int, *, actor: User, received_on: dt.date, receipt: IO[bytes] | None = None,
                     receipt_name: str = "", confirmation: str = "", today: dt.date | None = None) -> Delivery:
    """Record the proof of receipt. For the applicant's conclusion letter this delivers the case:
    the re-appraisal window starts from ``received_on``. All or nothing."""
    if not actor.has_perm("documents.record_delivery"):
        raise PermissionDeniedError(_("Your role cannot record deliveries."))
    today = today or clocks.today()
    confirmation = (confirmation or "").strip()
    with transaction.atomic():
        delivery = (Delivery.objects.select_for_update().select_related("document", "case", "case__committee")
                    .filter(pk=delivery_id).first())
        if delivery is None:
            raise ValidationFailed(_("No such delivery."), code="not_found")
        case_get_for(actor, delivery.case_id)
        if delivery.received_on:
            raise ValidationFailed(_("The receipt of this delivery is already recorded."), code="already_received")
        _check_date(received_on, today, not_before=delivery.sent_on, what=_("The day of receipt"))
        if delivery.method == Delivery.Method.ELECTRONIC:
            if not confirmation and receipt is None:
                raise ValidationFailed(_("Give the e-delivery confirmation."), code="proof_missing")
        elif receipt is None:
            raise ValidationFailed(_("Upload the scan of the signed delivery receipt."), code="proof_missing")
        if receipt is not None:
            checked = inspect(receipt, receipt_name or "receipt", max_bytes=settings.LAOJIAN_UPLOAD_MAX_BYTES)
            delivery.receipt.save(f"{secrets.token_hex(16)}{checked.extension}", ContentFile(checked.data),
                                  save=False)
            delivery.receipt_sha256 = hashlib.sha256(checked.data).hexdigest()
        delivery.received_on = received_on
        delivery.confirmation = confirmation
        try:
            delivery.save()
            case = delivery.case
            case_services.timeline_add(case.pk, "delivery_received", actor=actor,
                                       data={"number": delivery.document.number, "recipient": delivery.recipient,
                                             "received_on": received_on.isoformat()})
            if (delivery.document.kind in CONCLUDING and not delivery.to_agency
                    and case.status == Status.CONCLUDED):
                case_services.transition(case.pk, "deliver", actor=actor, today=today,
                                         data={"received_on": received_on.isoformat()})
            audit.record("document.delivery_receive", actor=actor, obj=delivery, committee=case.committee,
                         after={"number": delivery.document.number, "received_on": received_on.isoformat(),
                                "receipt_sha256": delivery.receipt_sha256, "confirmation": confirmation})
        except Exception:
            if delivery.receipt:
                delivery.receipt.storage.delete(delivery.receipt.name)
            raise
    return delivery


def delivery_reminders(*, today: dt.date | None = None) -> int:
    """Remind the clerks of concluded cases whose delivery deadline is near and not yet met.

    Run daily (``laojian documents remind-delivery``); each case is reminded once per deadline."""
    from laojian.cases.models import Case

    today = today or clocks.today()
    sent = 0
    due = (Case.objects.filter(status=Status.CONCLUDED, delivery_due__isnull=False)
           .select_related("committee").order_by("delivery_due", "id"))
    for case in due:
        if (case.delivery_due - today).days > case.committee.risk_warning_days:
            continue
        clerks = [a.user for a in CaseAssignment.objects.filter(case=case, role=CaseAssignment.Role.CLERK, active=True)
                  .select_related("user")] or list(case.committee.users.filter(groups__name="clerk", is_active=True))
        for clerk in clerks:
            rows = notify.send(REMINDER_TEMPLATE, phone=clerk.phone, email=clerk.email, case_id=case.pk,
                               committee_id=case.committee_id,
                               context={"committee": case.committee.name, "number": case.number,
                                        "due": f"{case.delivery_due.year}年{case.delivery_due.month}月"
                                               f"{case.delivery_due.day}日"},
                               key=f"{REMINDER_TEMPLATE}:{case.pk}:{case.delivery_due}:{clerk.pk}")
            sent += len(rows)
    return sent
