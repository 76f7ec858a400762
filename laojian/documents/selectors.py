"""Reads for documents: the template in force, a case's documents, the public verification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from laojian.core.errors import NotFoundError
from laojian.core.validators import mask_name
from laojian.documents.models import Delivery, Document, Reprint, Template

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


def case_deliveries(case: Case) -> dict[int, list[Delivery]]:
    """The deliveries of a case's documents, in the order they were sent, by document id (for the
    case's documents page)."""
    deliveries: dict[int, list[Delivery]] = {}
    for delivery in Delivery.objects.filter(case=case).order_by("sent_on", "id"):
        deliveries.setdefault(delivery.document_id, []).append(delivery)
    return deliveries


def delivery_of_case(case: Case, pk: int) -> Delivery:
    delivery = Delivery.objects.filter(case=case, pk=pk).select_related("document").first()
    if delivery is None:
        raise NotFoundError()
    return delivery


# THE ARCHIVE --------------------------------------------------------------------------------------

if TYPE_CHECKING:
    import datetime as dt

    from laojian.core.models import User
    from laojian.documents.models import ArchiveAccess, ArchivePackage

def archive_package_for(user: User, pk: int) -> ArchivePackage:
    """A package of the user's committee (for those who may see the archive); NotFoundError for
    missing and another committee's alike."""
    from laojian.documents.models import ArchivePackage

    package = (ArchivePackage.objects.select_related("case", "case__worker", "created_by")
               .filter(pk=pk, committee_id=user.committee_id).first()
               if user.committee_id and user.has_perm("documents.view_archive") else None)
    if package is None:
        raise NotFoundError()
    return package


def archive_years(user: User) -> list[int]:
    """The years in which the user's committee archived a case, newest first (the year filter)."""
    from laojian.documents.models import ArchivePackage

    if not user.committee_id:
        return []
    return [day.year for day in ArchivePackage.objects.filter(committee_id=user.committee_id)
            .dates("archived_on", "year", order="DESC")]


def package_accesses(package: ArchivePackage) -> QuerySet[ArchiveAccess]:
    """The lending log of a package, newest first."""
    from laojian.documents.models import ArchiveAccess

    return ArchiveAccess.objects.filter(package=package).select_related("user").order_by("-at", "-id")


def archive_package_of(case: Case) -> ArchivePackage | None:
    from laojian.documents.models import ArchivePackage

    return ArchivePackage.objects.filter(case=case).first()


def case_archived_at(case: Case) -> dt.datetime | None:
    """When the case was archived (its timeline's last move to “archived”), if it was."""
    from laojian.cases.models import Status, TimelineEntry

    entry = (TimelineEntry.objects.filter(case=case, to_status=Status.ARCHIVED).order_by("-at", "-id")
             .values_list("at", flat=True).first())
    return entry
