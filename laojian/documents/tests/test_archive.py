"""The archive: closing a case freezes its file; the package verifies, is lent with a reason, is kept 50 years."""

import datetime as dt
import io
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ApplicationError, PermissionDeniedError, ValidationFailed
from laojian.core.sealed_storage import open_bytes, seal_bytes
from laojian.core.tests.factories import UserFactory
from laojian.documents import archive, services
from laojian.documents.models import ArchiveAccess, ArchivePackage, Kind
from laojian.documents.tests.conftest import IMMEDIATE

pytestmark = pytest.mark.django_db
ISSUED = dt.date(2026, 10, 9)


@pytest.fixture
def delivered():
    """A delivered case with one document issued; returns (case, archivist)."""
    case = CaseFactory(status=Status.DELIVERED, number="测劳鉴〔2026〕0101号", determination__worker__name="李四")
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.document_issue(case.pk, Kind.REJECTION, actor=clerk, note="不属于受理范围", today=ISSUED)
    return case, UserFactory(committee=case.committee, roles=["archivist"])


def archived(case):
    case.status = Status.ARCHIVED
    case.save(update_fields=["status"])
    return case


def test_archiving_a_case_packs_its_file(delivered, settings, django_capture_on_commit_callbacks):
    case, archivist = delivered
    settings.TASKS = IMMEDIATE
    with django_capture_on_commit_callbacks(execute=True):
        case_services.transition(case.pk, "archive", actor=archivist)
    package = ArchivePackage.objects.get(case=case)
    with package.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as zipped:
        names = zipped.namelist()
    assert "record.json" in names and "manifest.json" in names
    assert any(name.startswith("documents/") and name.endswith(".pdf") for name in names)
    assert package.retain_until == package.archived_on.replace(year=package.archived_on.year + 50)
    assert archive.package_verify(package).ok


def test_a_case_not_yet_archived_is_not_packed(delivered):
    case, archivist = delivered
    with pytest.raises(ApplicationError) as exc:
        archive.package_build(case.pk, actor=archivist)
    assert exc.value.code == "not_archived"


def test_packing_twice_returns_the_first_package(delivered):
    case, archivist = delivered
    first = archive.package_build(archived(case).pk, actor=archivist)
    assert archive.package_build(case.pk, actor=archivist) == first
    assert ArchivePackage.objects.count() == 1


def test_a_changed_source_document_stops_the_packing(delivered, document_files):
    case, archivist = delivered
    document = case.documents.get()
    path = document_files / document.file.name
    path.write_bytes(path.read_bytes() + b"%")
    with pytest.raises(ApplicationError) as exc:
        archive.package_build(archived(case).pk, actor=archivist)
    assert exc.value.code == "tampered_source"
    assert not ArchivePackage.objects.exists()


def test_verify_names_a_changed_package_and_the_command_fails(delivered, document_files):
    case, archivist = delivered
    package = archive.package_build(archived(case).pk, actor=archivist)
    path = document_files / package.file.name
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))
    with translation.override("en"):
        check = archive.package_verify(package)
    assert not check.ok and "does not decrypt" in check.problems[0]  # sealed at rest: the change is caught there
    with pytest.raises(CommandError):
        call_command("archive", "verify", stdout=StringIO(), stderr=StringIO())


def test_verify_names_a_file_replaced_inside_the_package(delivered, document_files):
    case, archivist = delivered
    package = archive.package_build(archived(case).pk, actor=archivist)
    path = document_files / package.file.name
    with zipfile.ZipFile(io.BytesIO(open_bytes(path.read_bytes()))) as original:
        entries = {name: original.read(name) for name in original.namelist()}
    entries["record.json"] = entries["record.json"].replace("李四".encode(), "王五".encode())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as forged:
        for name, data in entries.items():
            forged.writestr(name, data)
    path.write_bytes(seal_bytes(buffer.getvalue()))  # forged by someone who holds the key
    problems = archive.package_verify(package).problems
    assert any("record.json" in p for p in problems)


def test_the_verify_command_passes_on_intact_packages(delivered):
    case, archivist = delivered
    archive.package_build(archived(case).pk, actor=archivist)
    out = StringIO()
    call_command("archive", "verify", str(case.pk), stdout=out)  # raises CommandError on any difference
    assert case.number in out.getvalue()


def test_opening_an_archived_file_needs_a_reason_and_is_logged(delivered):
    case, archivist = delivered
    package = archive.package_build(archived(case).pk, actor=archivist)
    with pytest.raises(ValidationFailed):
        archive.package_open(package.pk, actor=archivist, reason="  ")
    assert not ArchiveAccess.objects.exists()
    _package, content = archive.package_open(package.pk, actor=archivist, reason="行政复议调卷")
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None
    assert ArchiveAccess.objects.get().reason == "行政复议调卷"


def test_a_clerk_cannot_open_the_archive(delivered):
    case, archivist = delivered
    package = archive.package_build(archived(case).pk, actor=archivist)
    with pytest.raises(PermissionDeniedError):
        archive.package_open(package.pk, actor=UserFactory(committee=case.committee, roles=["clerk"]), reason="查阅")


def test_an_archived_file_cannot_be_deleted(delivered):
    case, archivist = delivered
    package = archive.package_build(archived(case).pk, actor=archivist)
    with pytest.raises(ApplicationError) as exc:
        package.delete()
    assert exc.value.code == "retention"


def test_no_document_is_issued_for_an_archived_case(delivered):
    case, archivist = delivered
    archived(case)
    with pytest.raises(ApplicationError) as exc:
        services.document_issue(case.pk, Kind.ACCEPTANCE, actor=UserFactory(committee=case.committee, roles=["clerk"]))
    assert exc.value.code == "archived"


def test_the_archive_is_searched_by_name_or_id_number_within_the_committee(delivered):
    case, archivist = delivered
    package = archive.package_build(archived(case).pk, actor=archivist)
    assert list(archive.archive_search(archivist, "李四")) == [package]
    assert list(archive.archive_search(archivist, case.worker.id_number[-4:])) == [package]
    assert list(archive.archive_search(archivist, case.worker.id_number)) == [package]
    assert case.worker.id_number not in package.search_text
    other = UserFactory(roles=["archivist"])
    assert not archive.archive_search(other, "李四").exists()
