"""Pages of documents: a case's documents (issue, download, reprint, delivery), the committee's templates
(edited with a preview, kept as versions), the archive (search, a package, its check, its lending), and
the public page the QR code of a document opens.

Thin: selectors read, services write; an ``ApplicationError`` becomes a message (or an error on the
form, with everything typed kept) and a ``NotFoundError`` a 404. PDFs go out with the headers of a
case material: never cached, never sniffed, named in ASCII and in UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.cases import breakglass, clocks
from laojian.cases.models import Case, Status
from laojian.cases.selectors import case_get_for
from laojian.cases.uploads import CONTENT_TYPES, human_size
from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.core.models import Committee
from laojian.documents import archive, pdf, selectors, services, values
from laojian.documents import delivery as deliveries
from laojian.documents.forms import (
    ISSUE_FIELDS,
    ArchiveOpenForm,
    ArchiveSearchForm,
    DeliveryReceiveForm,
    DeliverySendForm,
    IssueForm,
    ReprintForm,
    TemplateForm,
    VerifyForm,
)
from laojian.documents.models import ArchivePackage, Delivery, Document, Kind, Template

# Who opens a case's documents page (besides seeing the case at all).
CASE_PERMS = ("documents.issue_document", "documents.reprint_document", "documents.record_delivery",
              "cases.view_committee_cases")
# Documents that carry the diagnosis and the grade (SEC-03): opened only by the roles with the
# medical file (cases.view_medical), the archivist and auditor (documents.view_archive), or under a
# break-glass grant. The liaison and the system administrator get the answer for a missing document.
MEDICAL_KINDS = frozenset({Kind.CONCLUSION, Kind.PERIOD, Kind.MINUTES})
SIGNER_LABELS: dict[str, Any] = {
    "none": gettext_lazy("not signed"),
    "pades": gettext_lazy("electronic seal (PAdES)"),
}
SHA_SHORT = 12
# A code as typed from paper: spaces and dashes dropped, letters and digits only.
CODE_TYPED = re.compile(r"^[A-Z0-9]{1,32}$")
# The code printed on a sample letter: no document has it (the page it opens says so).
SAMPLE_CODE = "SAMPLEXXXX"
FALLBACK_PREFIX = "聊劳鉴"
# A stored receipt scan's content type, by the extension the upload check gave it.
RECEIPT_TYPES = {".pdf": CONTENT_TYPES["pdf"], ".jpg": CONTENT_TYPES["jpeg"], ".jpeg": CONTENT_TYPES["jpeg"],
                 ".png": CONTENT_TYPES["png"]}
# Where a refusal of the delivery services is shown on its form (else at the top of the form).
SEND_FIELDS = {"method": "method", "recipient": "recipient", "tracking_number": "tracking_number",
               "date_in_future": "sent_on", "date_too_early": "sent_on"}
RECEIVE_FIELDS = {"date_in_future": "received_on", "date_too_early": "received_on"}
ARCHIVE_PAGE_SIZE = 50


def _is_partial(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"))


def _pdf_response(content: bytes, *, filename: str, ascii_name: str, inline: bool = False) -> HttpResponse:
    """A PDF with a file name any browser can take (ASCII) and the real one (RFC 5987, UTF-8)."""
    return _file_response(content, content_type="application/pdf", filename=filename, ascii_name=ascii_name,
                          inline=inline)


def _file_response(content: bytes, *, content_type: str, filename: str, ascii_name: str,
                   inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    if not inline:
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# A CASE'S DOCUMENTS -------------------------------------------------------------------------------

def _case_or_404(request: HttpRequest, case_pk: int) -> Case:
    """The case, if the user works with its documents and may see it; else 404."""
    if not any(request.user.has_perm(perm) for perm in CASE_PERMS):
        raise Http404(_("No such case, or it is not yours to see."))
    try:
        return case_get_for(request.user, case_pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None


def _document_or_404(case: Case, pk: int) -> Document:
    try:
        return selectors.document_of_case(case, pk)
    except NotFoundError:
        raise Http404(_("No such document.")) from None


def _case_documents_page(case_pk: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("documents:case", args=[case_pk]))


def _file_name(document: Document, *, copy: bool = False) -> tuple[str, str]:
    """(the name in UTF-8, the ASCII stand-in) of a document's PDF."""
    suffix = "（副本）" if copy else ""
    return (f"{document.title}-{document.number}{suffix}.pdf",
            f"{document.kind}-{document.pk}{'-copy' if copy else ''}.pdf")


def _send_form(document: Document, data: Any = None) -> DeliverySendForm:
    """The sending form of one document: to the applicant (as printed on it), today."""
    applicant = document.values.get("applicant") if isinstance(document.values, dict) else None
    name = applicant.get("name", "") if isinstance(applicant, dict) else ""
    return DeliverySendForm(data, auto_id=f"send-{document.pk}-%s",
                            initial={"recipient": name, "sent_on": clocks.today()})


def _receive_form(delivery: Delivery, data: Any = None, files: Any = None) -> DeliveryReceiveForm:
    return DeliveryReceiveForm(data, files, auto_id=f"receive-{delivery.pk}-%s",
                               initial={"received_on": clocks.today()})


def _delivery_rows(sent: list[Delivery], *, can_deliver: bool,
                   receive_forms: dict[int, DeliveryReceiveForm]) -> list[dict[str, Any]]:
    return [{"delivery": d, "receive_form": (receive_forms.get(d.pk) or _receive_form(d))
             if can_deliver and not d.received_on else None}
            for d in sent]


def _case_context(request: HttpRequest, case: Case, documents: list[Document],
                  issue_form: IssueForm | None = None, *, send_forms: dict[int, DeliverySendForm] | None = None,
                  receive_forms: dict[int, DeliveryReceiveForm] | None = None) -> dict[str, Any]:
    user = request.user
    reprints = selectors.case_reprints(case)
    sent = selectors.case_deliveries(case)
    can_issue = user.has_perm("documents.issue_document")
    can_reprint = user.has_perm("documents.reprint_document")
    can_deliver = user.has_perm("documents.record_delivery")
    send_forms, receive_forms = send_forms or {}, receive_forms or {}
    rows = [{"document": d, "signer": SIGNER_LABELS.get(d.signer, d.signer), "sha_short": d.sha256[:SHA_SHORT],
             "reprints": reprints.get(d.pk, []), "verifiable": d.kind in services.VERIFIABLE,
             "deliveries": _delivery_rows(sent.get(d.pk, []), can_deliver=can_deliver,
                                          receive_forms=receive_forms),
             "send_form": (send_forms.get(d.pk) or _send_form(d)) if can_deliver else None}
            for d in documents]
    if can_issue and issue_form is None:
        issue_form = IssueForm(documents=documents)
    package = selectors.archive_package_of(case) if case.status == Status.ARCHIVED else None
    return {
        "case": case, "rows": rows,
        "archive_package": package, "can_view_archive": user.has_perm("documents.view_archive"),
        "archived_at": selectors.case_archived_at(case) if case.status == Status.ARCHIVED else None, "can_issue": can_issue, "can_reprint": can_reprint, "can_deliver": can_deliver,
        "upload_max_size": human_size(settings.LAOJIAN_UPLOAD_MAX_BYTES),
        "issue_form": issue_form if can_issue else None,
        "reprint_form": ReprintForm() if can_reprint else None,
        "appraisal_kind": Kind.APPRAISAL.value, "delivery_kind": Kind.DELIVERY_RECEIPT.value,
    }


@require_GET
@login_required
def case(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case_or_404(request, case_pk)
    documents = list(selectors.case_documents(case))
    return render(request, "documents/case.html", _case_context(request, case, documents))


def _show_issue_error(form: IssueForm, exc: ApplicationError) -> None:
    """The refusal at the top of the form, and next to the empty input it names."""
    form.add_error(None, exc.message)
    if exc.code != "value_missing":
        return
    kind = form.cleaned_data.get("kind")
    for name in values.REQUIRED.get(kind, ()):
        field = ISSUE_FIELDS.get(name)
        if field and not form.cleaned_data.get(field) and field not in form.errors:
            form.add_error(field, _("This document needs it."))


@require_POST
@login_required
def issue(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case_or_404(request, case_pk)
    if not request.user.has_perm("documents.issue_document"):
        raise PermissionDenied
    documents = list(selectors.case_documents(case))
    form = IssueForm(request.POST, documents=documents)
    if form.is_valid():
        try:
            document = services.document_issue(case.pk, form.cleaned_data["kind"], actor=request.user,
                                               note=form.cleaned_data["note"], extra=form.extra())
        except ApplicationError as exc:  # the case was found above: a refusal, not a missing case
            _show_issue_error(form, exc)
        else:
            messages.success(request, _("%(title)s issued: number %(number)s.")
                             % {"title": document.title, "number": document.number})
            return _case_documents_page(case.pk)
    else:
        form.add_error(None, _("Some of the information is not valid: see the marked fields."))
    return render(request, "documents/case.html", _case_context(request, case, documents, issue_form=form))


@require_GET
@login_required
def download(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    """The stored original, once its SHA-256 is checked; a changed file is refused, never sent."""
    case = _case_or_404(request, case_pk)
    document = _document_or_404(case, pk)
    if document.kind in MEDICAL_KINDS and not (request.user.has_perm("documents.view_archive")
                                               or breakglass.can_view_medical(request.user, case)):
        raise Http404(_("No such document."))
    try:
        content = services.document_read(document, actor=request.user)
    except FileNotFoundError:
        messages.error(request, _("The file of %(number)s is missing from storage. Tell the system administrator.")
                       % {"number": document.number})
        return _case_documents_page(case.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _case_documents_page(case.pk)
    filename, ascii_name = _file_name(document)
    return _pdf_response(content, filename=filename, ascii_name=ascii_name)


@require_POST
@login_required
def reprint(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    """A copy marked 副本, logged with the reason; the original stays as it was."""
    case = _case_or_404(request, case_pk)
    if not request.user.has_perm("documents.reprint_document"):
        raise PermissionDenied
    document = _document_or_404(case, pk)
    form = ReprintForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return _case_documents_page(case.pk)
    try:
        content = services.document_reprint(document.pk, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _case_documents_page(case.pk)
    filename, ascii_name = _file_name(document, copy=True)
    return _pdf_response(content, filename=filename, ascii_name=ascii_name)


# DELIVERY -----------------------------------------------------------------------------------------

def _delivery_or_404(case: Case, pk: int) -> Delivery:
    try:
        return selectors.delivery_of_case(case, pk)
    except NotFoundError:
        raise Http404(_("No such delivery.")) from None


def _deliveries_of(case_pk: int, document_pk: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("documents:case", args=[case_pk]) + f"#deliveries-{document_pk}")


def _show_delivery_error(form: DeliverySendForm | DeliveryReceiveForm, exc: ApplicationError,
                         fields: dict[str, str]) -> None:
    """The refusal next to the input it is about (if the form has it), else at the top of the form."""
    field = fields.get(exc.code)
    if "file" in (exc.extra.get("fields") or {}):  # the upload check's refusal of the scan
        field = "receipt"
    form.add_error(field if field in form.fields else None, exc.message)


@require_POST
@login_required
def delivery_send(request: HttpRequest, case_pk: int, pk: int) -> HttpResponse:
    """Record that a document went out (how, to whom, when); a refusal shows on the document's form
    with everything typed kept."""
    case = _case_or_404(request, case_pk)
    if not request.user.has_perm("documents.record_delivery"):
        raise PermissionDenied
    document = _document_or_404(case, pk)
    form = _send_form(document, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            delivery = deliveries.delivery_send(
                document.pk, actor=request.user, method=data["method"], recipient=data["recipient"],
                sent_on=data["sent_on"], tracking_number=data["tracking_number"], to_agency=data["to_agency"])
        except NotFoundError:
            raise Http404(_("No such case, or it is not yours to see.")) from None
        except ApplicationError as exc:
            _show_delivery_error(form, exc, SEND_FIELDS)
        else:
            messages.success(request, _("The sending of %(number)s to %(recipient)s is recorded.")
                             % {"number": document.number, "recipient": delivery.recipient})
            return _deliveries_of(case.pk, document.pk)
    else:
        form.add_error(None, _("Some of the information is not valid: see the marked fields."))
    documents = list(selectors.case_documents(case))
    return render(request, "documents/case.html",
                  _case_context(request, case, documents, send_forms={document.pk: form}))


@require_POST
@login_required
def delivery_receive(request: HttpRequest, case_pk: int, delivery_pk: int) -> HttpResponse:
    """Record the proof of receipt (the scan of the signed receipt, or the e-delivery confirmation).
    The applicant's receipt of the conclusion delivers the case."""
    case = _case_or_404(request, case_pk)
    if not request.user.has_perm("documents.record_delivery"):
        raise PermissionDenied
    delivery = _delivery_or_404(case, delivery_pk)
    form = _receive_form(delivery, request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        receipt = data.get("receipt") or None
        try:
            delivered = deliveries.delivery_receive(
                delivery.pk, actor=request.user, received_on=data["received_on"], receipt=receipt,
                receipt_name=receipt.name if receipt else "", confirmation=data["confirmation"])
        except NotFoundError:
            raise Http404(_("No such case, or it is not yours to see.")) from None
        except ApplicationError as exc:
            if exc.code == "already_received":  # its form is no longer on the page
                messages.error(request, exc.message)
                return _deliveries_of(case.pk, delivery.document_id)
            _show_delivery_error(form, exc, RECEIVE_FIELDS)
        else:
            messages.success(request, _("The receipt of %(number)s by %(recipient)s is recorded.")
                             % {"number": delivery.document.number, "recipient": delivered.recipient})
            return _deliveries_of(case.pk, delivery.document_id)
    else:
        form.add_error(None, _("Some of the information is not valid: see the marked fields."))
    documents = list(selectors.case_documents(case))
    return render(request, "documents/case.html",
                  _case_context(request, case, documents, receive_forms={delivery.pk: form}))


@require_GET
@login_required
def delivery_receipt_download(request: HttpRequest, case_pk: int, delivery_pk: int) -> HttpResponse:
    """The stored scan of a signed receipt, once its SHA-256 is checked; every read is audited."""
    case = _case_or_404(request, case_pk)
    delivery = _delivery_or_404(case, delivery_pk)
    if not delivery.receipt:
        raise Http404(_("This delivery has no receipt scan."))
    try:
        content = services.read_checked(delivery.receipt, delivery.receipt_sha256)
    except FileNotFoundError:
        messages.error(request, _("The receipt scan of %(number)s is missing from storage. Tell the system "
                                  "administrator.") % {"number": delivery.document.number})
        return _deliveries_of(case.pk, delivery.document_id)
    if content is None:
        messages.error(request, _("The stored receipt scan of %(number)s has been changed since it was recorded: "
                                  "it is not sent. Tell the system administrator.")
                       % {"number": delivery.document.number})
        return _deliveries_of(case.pk, delivery.document_id)
    audit.record("document.receipt_download", actor=request.user, obj=delivery, committee=case.committee,
                 ip_address=audit.client_ip(request))
    extension = PurePosixPath(delivery.receipt.name).suffix.lower()
    return _file_response(content, content_type=RECEIPT_TYPES.get(extension, "application/octet-stream"),
                          filename=f"送达回证-{delivery.document.number}-{delivery.recipient}{extension}",
                          ascii_name=f"delivery-receipt-{delivery.pk}{extension}")


# TEMPLATES ----------------------------------------------------------------------------------------

def _require_manager(request: HttpRequest) -> Committee | None:
    """The user's committee, for those who edit templates (403 for the rest)."""
    if not request.user.has_perm("documents.manage_templates"):
        raise PermissionDenied
    return request.user.committee


def _kind_or_404(kind: str) -> Kind:
    if kind not in Kind.values:
        raise Http404(_("There is no such document."))
    return Kind(kind)


def _template_in_force(committee: Committee | None, kind: str) -> Template | None:
    try:
        return selectors.template_for(committee, kind)
    except NotFoundError:
        return None


@require_GET
@login_required
def templates(request: HttpRequest) -> HttpResponse:
    committee = _require_manager(request)
    rows = [{"kind": kind, "label": label, "template": _template_in_force(committee, kind)}
            for kind, label in Kind.choices]
    return render(request, "documents/templates.html", {"rows": rows, "committee": committee})


def _sample_fields(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``values.SAMPLE`` flattened: (``worker.name``, 张三), ..."""
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _sample_fields(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


def _sample_number(committee: Committee | None, kind: str, number_format: str) -> str:
    """The number the document would carry, as ``services`` makes it (the first of the year)."""
    if kind in (Kind.CONCLUSION, Kind.PERIOD):
        return values.SAMPLE["conclusion"]["number"]
    prefix = committee.case_number_prefix if committee and committee.case_number_prefix else FALLBACK_PREFIX
    try:
        return number_format.format(prefix=prefix, year=clocks.today().year, seq=1)
    except (KeyError, IndexError, ValueError):
        raise ApplicationError(_("The number format may use only {prefix}, {year} and {seq}.")) from None


def _sample_letter(committee: Committee | None, kind: str, wording: dict[str, str]) -> pdf.Letter:
    """The letter the wording makes with the sample values; ``ApplicationError`` if it cannot."""
    title, recipient, body = wording.get("title", ""), wording.get("recipient", ""), wording.get("body", "")
    if not title.strip() or not body.strip():
        raise ApplicationError(_("A template needs a title and a text."))
    values.check(kind, title, recipient, body)
    sample = values.SAMPLE
    verifiable = kind in services.VERIFIABLE
    return pdf.Letter(
        committee_name=sample["committee"]["name"], title=values.render_text(title, sample),
        number=_sample_number(committee, kind, wording.get("number_format", "")), issued_on=clocks.today(),
        recipient=values.render_text(recipient, sample), paragraphs=values.paragraphs(values.render_text(body, sample)),
        verify_url=services.verify_url(SAMPLE_CODE) if verifiable else "",
        verify_code=SAMPLE_CODE if verifiable else "", copy=False, footer=sample["case"]["number"])


def _preview(committee: Committee | None, kind: str, form: TemplateForm) -> dict[str, Any]:
    if not form.is_valid():
        return {"error": _("Some of the information is not valid: see the marked fields.")}
    try:
        letter = _sample_letter(committee, kind, form.cleaned_data)
    except ApplicationError as exc:
        return {"error": exc.message}
    return {"letter": letter, "date": pdf.chinese_date(letter.issued_on)}


def _wording(template: Template | None) -> dict[str, str]:
    if template is None:
        return {}
    return {"title": template.title, "recipient": template.recipient, "body": template.body,
            "number_format": template.number_format, "based_on": template.version}


def _edit_context(committee: Committee | None, kind: Kind, form: TemplateForm,
                  preview: dict[str, Any] | None) -> dict[str, Any]:
    required = values.REQUIRED.get(kind, ())
    return {
        "kind": kind, "label": kind.label, "committee": committee, "form": form, "preview": preview,
        "current": _template_in_force(committee, kind),
        "versions": list(selectors.template_versions(committee, kind)),
        "fields": [{"tag": f"{{{{ {path} }}}}", "sample": sample, "required": path in required}
                   for path, sample in _sample_fields(values.SAMPLE)],
        "required": [f"{{{{ {path} }}}}" for path in required],
    }


@require_http_methods(["GET", "POST"])
@login_required
def template_edit(request: HttpRequest, kind: str) -> HttpResponse:
    """The wording in force, to change. "Preview" renders the typed text with the sample values (the
    HTMX request gets the preview only); "Save" adds the committee's next version."""
    committee = _require_manager(request)
    kind = _kind_or_404(kind)
    preview = None
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if "save" in request.POST:
            if committee is None:
                form.add_error(None, _("Your account belongs to no committee: templates are saved by a committee's staff."))
            elif form.is_valid():
                try:
                    template = services.template_save(committee, kind, actor=request.user, **form.cleaned_data)
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(request, _("Version %(version)d saved: the next %(document)s uses it.")
                                     % {"version": template.version, "document": kind.label})
                    return HttpResponseSeeOther(reverse("documents:template_edit", args=[kind.value]))
        else:
            preview = _preview(committee, kind, form)
            if _is_partial(request):
                response = render(request, "documents/_template_preview.html", {"preview": preview})
                patch_vary_headers(response, ["HX-Request"])
                return response
    else:
        form = TemplateForm(initial=_wording(_template_in_force(committee, kind)))
    response = render(request, "documents/template_edit.html", _edit_context(committee, kind, form, preview))
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
@login_required
def template_pdf(request: HttpRequest, kind: str) -> HttpResponse:
    """The sample letter as a PDF (shown in the browser, not signed, not stored): the wording in
    force (GET) or as typed on the edit page (POST)."""
    committee = _require_manager(request)
    kind = _kind_or_404(kind)
    if request.method == "POST":
        form = TemplateForm(request.POST)
        wording = form.cleaned_data if form.is_valid() else {}
    else:
        form = None
        wording = _wording(_template_in_force(committee, kind))
    try:
        letter = _sample_letter(committee, kind, wording)
    except ApplicationError as exc:
        form = form or TemplateForm(initial=wording)
        return render(request, "documents/template_edit.html",
                      _edit_context(committee, kind, form, {"error": exc.message}), status=400)
    return _pdf_response(pdf.render(letter), filename=f"{letter.title}-样本.pdf", ascii_name=f"{kind.value}-sample.pdf",
                         inline=True)


# THE ARCHIVE --------------------------------------------------------------------------------------

def _require_archive(request: HttpRequest) -> None:
    if not request.user.has_perm("documents.view_archive"):
        raise PermissionDenied


def _package_or_404(request: HttpRequest, pk: int) -> ArchivePackage:
    """A package of the user's committee, for those who may see the archive (403 for the rest)."""
    _require_archive(request)
    try:
        return selectors.archive_package_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such archived file.")) from None


def _package_page(pk: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("documents:archive_package", args=[pk]))


@require_GET
@login_required
def archive_list(request: HttpRequest) -> HttpResponse:
    """The committee's archived files, newest first, found by any word of their record (an HTMX
    search or page request gets the results only)."""
    _require_archive(request)
    form = ArchiveSearchForm(request.GET or None, years=selectors.archive_years(request.user))
    q, year = "", None
    if form.is_bound:
        form.is_valid()  # a value that is not valid is left out of the search, and marked on the form
        q, year = (form.cleaned_data.get("q") or "").strip(), form.cleaned_data.get("year")
    page = Paginator(archive.archive_search(request.user, q, year=year), ARCHIVE_PAGE_SIZE).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [{"package": p, "files": len(p.manifest or ()), "sha_short": p.sha256[:SHA_SHORT]}
            for p in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode(), "searched": bool(q or year)}
    template = "documents/archive_results.html" if _is_partial(request) else "documents/archive.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _package_context(package: ArchivePackage, open_form: ArchiveOpenForm | None = None) -> dict[str, Any]:
    return {"package": package, "case": package.case,
            "manifest": [{"path": e.get("path", ""), "size": human_size(e.get("size") or 0),
                          "bytes": e.get("size") or 0, "sha256": e.get("sha256", "")}
                         for e in package.manifest or ()],
            "accesses": list(selectors.package_accesses(package)),
            "open_form": open_form or ArchiveOpenForm()}


@require_GET
@login_required
def archive_package(request: HttpRequest, pk: int) -> HttpResponse:
    package = _package_or_404(request, pk)
    return render(request, "documents/archive_package.html", _package_context(package))


@require_POST
@login_required
def archive_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-read the package now: its SHA-256, its manifest and every file in it."""
    package = _package_or_404(request, pk)
    check = archive.package_verify(package)
    if check.ok:
        messages.success(request, _("The archived file of %(case)s checks out: the package and each of its "
                                    "%(files)d files match what was recorded.")
                         % {"case": package.case, "files": len(package.manifest or ())})
    else:
        messages.error(request, _("The archived file of %(case)s failed its check: %(problems)s. Tell the system "
                                  "administrator.") % {"case": package.case, "problems": "; ".join(check.problems)})
    return _package_page(package.pk)


def _zip_name(package: ArchivePackage) -> tuple[str, str]:
    """(the name in UTF-8, the ASCII stand-in) of a package's ZIP."""
    number = package.case.number or f"case-{package.case_id}"
    return f"{number}.zip", f"archive-{package.case_id}.zip"


@require_POST
@login_required
def archive_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Lend the archived file: the reason is logged with who and when; a package that fails its
    check is refused, never sent."""
    package = _package_or_404(request, pk)
    form = ArchiveOpenForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return _package_page(package.pk)
    try:
        package, content = archive.package_open(package.pk, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        if exc.code == "not_found":  # gone, or its case is not the user's to see
            raise Http404(_("No such archived file.")) from None
        messages.error(request, exc.message)
        return _package_page(package.pk)
    filename, ascii_name = _zip_name(package)
    return _file_response(content, content_type="application/zip", filename=filename, ascii_name=ascii_name)


# PUBLIC VERIFICATION ------------------------------------------------------------------------------

def _verify_page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, "documents/verify.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """What the QR code opens: a genuine document's number, date, committee, masked name, grade and
    SHA-256, and nothing else. Public: no sign-in."""
    try:
        found = selectors.verification(code)
    except NotFoundError:
        found = None
    context = {"found": found, "code": code, "form": VerifyForm(initial={"code": code})}
    return _verify_page(request, context, status=200 if found else 404)


@require_GET
def verify_lookup(request: HttpRequest) -> HttpResponse:
    """The code typed from paper (``?code=``) → its page."""
    form = VerifyForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = re.sub(r"[\s\-]", "", form.cleaned_data["code"]).upper()
        if CODE_TYPED.match(code):
            return HttpResponseSeeOther(reverse("documents:verify", args=[code]))
        form.add_error("code", _("A verification code has letters and digits only."))
    return _verify_page(request, {"found": None, "code": "", "form": form, "lookup": True})
