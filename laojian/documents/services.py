"""Writes for documents: issuing (render, sign, store, number), reprints, template versions.

The service that takes a decision issues its document: the workflow's steps through ``listeners``
(after the step commits, as a background task), the rest from the case page. A document is never
changed once stored; its SHA-256 is recorded and its short code lets anyone verify it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.selectors import case_get_for
from laojian.core import audit
from laojian.core.errors import ApplicationError, ConflictError, PermissionDeniedError, ValidationFailed
from laojian.core.sealed_storage import SealedFileError
from laojian.documents import pdf, signing, values
from laojian.documents.models import Document, Kind, Reprint, Template
from laojian.documents.selectors import template_for
from laojian.grading import selectors as grading_selectors

if TYPE_CHECKING:
    import datetime as dt

    from laojian.cases.models import Case
    from laojian.core.models import Committee, User

logger = logging.getLogger(__name__)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper
CODE_LENGTH = 10
# Documents that carry the QR code and short code of the public verification page.
VERIFIABLE = frozenset({Kind.CONCLUSION, Kind.PERIOD, Kind.ACCEPTANCE, Kind.REJECTION, Kind.TERMINATION})


class DocumentRefused(ApplicationError):
    code = "document_refused"


def _verify_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def verify_url(code: str) -> str:
    return settings.LAOJIAN_PUBLIC_URL.rstrip("/") + reverse("documents:verify", args=[code])


def _number(case: Case, kind: str, template: Template, today: dt.date, rendered: dict[str, Any]) -> str:
    """The conclusion letter carries the conclusion's own number; every other document gets the next
    number of its kind for the committee and year."""
    if kind in (Kind.CONCLUSION, Kind.PERIOD) and rendered["conclusion"]["number"]:
        return rendered["conclusion"]["number"]
    seq = case_services.next_seq(case.committee, today.year, kind=f"doc:{kind}")
    try:
        return template.number_format.format(prefix=case.committee.case_number_prefix, year=today.year, seq=seq)
    except (KeyError, IndexError, ValueError):
        raise ValidationFailed(_("The template's number format is not valid: %(format)s")
                               % {"format": template.number_format}) from None


def letter_for(document: Document, *, copy: bool = False) -> pdf.Letter:
    """The letter as rendered from the stored values (for the original and for reprints alike)."""
    template, rendered = document.template, document.values
    body = values.render_text(template.body, rendered)
    return pdf.Letter(
        committee_name=rendered["committee"]["name"], title=document.title, number=document.number,
        issued_on=document.issued_on, recipient=values.render_text(template.recipient, rendered),
        paragraphs=values.paragraphs(body),
        verify_url=verify_url(document.verify_code) if document.kind in VERIFIABLE else "",
        verify_code=document.verify_code if document.kind in VERIFIABLE else "",
        copy=copy, footer=rendered["case"]["number"])


def document_issue(case_id: int, kind: str, *, actor: User, note: str = "", extra: dict[str, Any] | None = None,
                   today: dt.date | None = None, at: dt.datetime | None = None) -> Document:
    """Render, sign, number and store one document for a case. All or nothing: if rendering or
    signing fails, no number is used and nothing is stored. ``today``/``at`` are for batch loaders."""
    if kind not in Kind.values:
        raise DocumentRefused(_("There is no document called “%(kind)s”.") % {"kind": kind})
    if not actor.has_perm("documents.issue_document"):
        raise PermissionDeniedError(_("Your role cannot issue documents."))
    today = today or clocks.today()
    case = case_get_for(actor, case_id)
    if case.status == Status.ARCHIVED:
        raise DocumentRefused(_("The case is archived: its file is closed."), code="archived")
    conclusion = grading_selectors.conclusion_of(case)
    if kind in (Kind.CONCLUSION, Kind.PERIOD) and (conclusion is None or conclusion.state != "approved"):
        raise DocumentRefused(_("The conclusion letter is issued once the conclusion is approved."),
                              code="no_conclusion")
    template = template_for(case.committee, kind)
    rendered = values.case_values(case, note=note.strip(), extra=extra, conclusion=conclusion)
    missing = [name for name in values.REQUIRED.get(kind, ()) if not values.lookup(rendered, name)]
    if missing:
        raise ValidationFailed(_("This document needs {{ %(field)s }}, which is empty for this case.")
                               % {"field": missing[0]}, code="value_missing")
    try:
        with transaction.atomic():
            document = Document(case=case, committee=case.committee, kind=kind, template=template, values=rendered,
                                title=values.render_text(template.title, rendered), issued_on=today,
                                issued_by=actor, verify_code=_verify_code())
            document.number = _number(case, kind, template, today, rendered)
            signer = signing.get_signer()
            content = signer.sign(pdf.render(letter_for(document)), committee_code=case.committee.code,
                                  committee_name=case.committee.name)
            document.signer = signer.name
            document.sha256 = hashlib.sha256(content).hexdigest()
            document.file.save(f"{secrets.token_hex(16)}.pdf", ContentFile(content), save=False)
            try:
                document.save()
            except Exception:
                document.file.storage.delete(document.file.name)
                raise
            case_services.timeline_add(case.pk, "document_issued", actor=actor, at=at,
                                       data={"kind": kind, "number": document.number})
            audit.record("document.issue", actor=actor, obj=document, committee=case.committee,
                         after={"case_id": case.pk, "kind": kind, "number": document.number,
                                "sha256": document.sha256, "template_version": template.version})
    except IntegrityError as exc:
        raise DocumentRefused(_("Document number %(number)s is already in use; nothing was issued.")
                              % {"number": document.number}, code="duplicate_number") from exc
    return document


def document_reprint(document_id: int, *, actor: User, reason: str) -> bytes:
    """A copy of an issued document, marked 副本, logged with who, when and why."""
    reason = (reason or "").strip()
    if not actor.has_perm("documents.reprint_document"):
        raise PermissionDeniedError()
    document = Document.objects.select_related("case", "template", "committee").filter(pk=document_id).first()
    if document is None:
        raise DocumentRefused(_("No such document."), code="not_found")
    case_get_for(actor, document.case_id)  # scoped like the case page
    if not reason:
        raise ValidationFailed(_("Say why the document is printed again."), code="reason_required")
    content = pdf.render(letter_for(document, copy=True))
    with transaction.atomic():
        Reprint.objects.create(document=document, printed_by=actor, reason=reason)
        audit.record("document.reprint", actor=actor, obj=document, committee=document.committee,
                     after={"number": document.number, "reason": reason})
    return content


def read_checked(field_file, sha256: str) -> bytes | None:
    """A stored file's bytes if they still match the SHA-256 recorded when it was stored, else None
    (also when the sealed file no longer opens: changed on disk, or its key is gone; logged for the
    administrator). One read: the bytes checked are the bytes handed on."""
    try:
        with field_file.open("rb") as handle:
            content = handle.read()
    except SealedFileError as exc:
        logger.error("stored file does not open: %s", exc)
        return None
    return content if hashlib.sha256(content).hexdigest() == sha256 else None


def document_read(document: Document, *, actor: User) -> bytes:
    """The stored original, after checking its SHA-256; each read is in the audit trail."""
    content = read_checked(document.file, document.sha256)
    if content is None:
        raise DocumentRefused(_("The stored file of %(number)s does not match its recorded SHA-256.")
                              % {"number": document.number}, code="tampered")
    audit.record("document.download", actor=actor, obj=document, committee=document.committee,
                 after={"number": document.number})
    return content


def template_save(committee: Committee, kind: str, *, actor: User, title: str, recipient: str, body: str,
                  number_format: str, based_on: int | None = None) -> Template:
    """Save the committee's wording of a document as its next version, after checking its fields.

    ``based_on``: the version the editor started from; a newer one saved meanwhile refuses the save
    (the other editor's wording survives, the typed text stays in the form)."""
    if not actor.has_perm("documents.manage_templates") or actor.committee_id != committee.pk:
        raise PermissionDeniedError()
    if kind not in Kind.values:
        raise DocumentRefused(_("There is no document called “%(kind)s”.") % {"kind": kind})
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise ValidationFailed(_("A template needs a title and a text."))
    values.check(kind, title, recipient or "", body)
    try:
        number_format.format(prefix="聊劳鉴", year=2026, seq=1)
    except (KeyError, IndexError, ValueError):
        raise ValidationFailed(_("The number format may use only {prefix}, {year} and {seq}.")) from None
    with transaction.atomic():
        # One version sequence per committee and document, continuing from the shipped default's.
        last = (Template.objects.select_for_update().filter(Q(committee=committee) | Q(committee=None), kind=kind)
                .order_by("-version").first())
        if based_on is not None and last is not None and last.version != based_on:
            raise ConflictError(_("Version %(version)s of this template was saved by %(who)s at %(when)s while you "
                                  "were editing. Your text is still in the form: compare it with theirs and save again.")
                                % {"version": last.version, "who": last.created_by or _("the system"),
                                   "when": timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M")},
                                code="stale_version")
        template = Template.objects.create(committee=committee, kind=kind, version=(last.version + 1) if last else 1,
                                           title=title, recipient=(recipient or "").strip(), body=body,
                                           number_format=number_format.strip(), created_by=actor)
        audit.record("document.template_save", actor=actor, obj=template, committee=committee,
                     after={"kind": kind, "version": template.version})
    return template
