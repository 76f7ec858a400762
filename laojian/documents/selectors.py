"""Reads for documents: the template in force, a case's documents, the public verification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from laojian.core.errors import NotFoundError
from laojian.core.validators import mask_name
from laojian.documents.models import Document, Reprint, Template

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import Committee


def template_for(committee: Committee, kind: str) -> Template:
    """The committee's latest version of a document's template, else the shipped default's."""
    template = (Template.objects.filter(committee=committee, kind=kind).order_by("-version").first()
                or Template.objects.filter(committee=None, kind=kind).order_by("-version").first())
    if template is None:
        raise NotFoundError("No template for this document: run “laojian migrate” to load the defaults.")
    return template


def template_versions(committee: Committee, kind: str) -> QuerySet[Template]:
    return Template.objects.filter(Q(committee=committee) | Q(committee=None), kind=kind).select_related(
        "created_by").order_by("committee_id", "-version")


def case_documents(case: Case) -> QuerySet[Document]:
    return Document.objects.filter(case=case).select_related("issued_by").order_by("created_at", "id")


def document_of_case(case: Case, pk: int) -> Document:
    document = Document.objects.filter(case=case, pk=pk).first()
    if document is None:
        raise NotFoundError()
    return document


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows about a genuine document, and nothing more."""

    title: str
    number: str
    issued_on: object
    committee: str
    worker: str  # masked: 张*三
    grade: str
    sha256: str


def verification(code: str) -> Verification:
    document = (Document.objects.select_related("committee").filter(verify_code=code.strip().upper()).first()
                if code else None)
    if document is None:
        raise NotFoundError()
    return Verification(title=document.title, number=document.number, issued_on=document.issued_on,
                        committee=document.committee.name,
                        worker=mask_name(document.values.get("worker", {}).get("name", "")),
                        grade=document.values.get("conclusion", {}).get("grade", ""), sha256=document.sha256)


def case_reprints(case: Case) -> dict[int, list[Reprint]]:
    """The reprints of a case's documents, newest first, by document id (for the case's documents page)."""
    reprints: dict[int, list[Reprint]] = {}
    for reprint in Reprint.objects.filter(document__case=case).select_related("printed_by").order_by("-printed_at", "-id"):
        reprints.setdefault(reprint.document_id, []).append(reprint)
    return reprints
