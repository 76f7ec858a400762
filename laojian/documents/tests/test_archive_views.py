"""The archive pages through the Django test client: the search (by worker name, by ID number,
within the committee), a package's page (manifest, lending log, its check), and the lending of the
file (a reason, the ZIP, the log). Each test checks one behaviour and reads the database (or the ZIP)
back."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.sealed_storage import open_bytes, seal_bytes
from laojian.core.tests.factories import UserFactory
from laojian.documents import archive, services
from laojian.documents.models import ArchiveAccess, Kind

pytestmark = pytest.mark.django_db

ISSUED = dt.date(2026, 10, 9)
NUMBER = "测劳鉴〔2026〕0201号"


@pytest.fixture(autouse=True)
def _english(client):
    """Messages are asserted in English."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"


def packed(number: str = NUMBER, *, worker: str = "李四", committee=None, issue: bool = True):
    """An archived case's package (with one document issued before archiving, unless ``issue`` is
    false); returns (package, the committee's archivist)."""
    extra = {"committee": committee} if committee else {}
    case = CaseFactory(status=Status.DELIVERED, number=number, determination__worker__name=worker, **extra)
    if issue:
        clerk = UserFactory(committee=case.committee, roles=["clerk"])
        services.document_issue(case.pk, Kind.REJECTION, actor=clerk, note="不属于受理范围", today=ISSUED)
    case.status = Status.ARCHIVED
    case.save(update_fields=["status"])
    archivist = UserFactory(roles=["archivist"], committee=case.committee)
    return archive.package_build(case.pk, actor=archivist), archivist


def search(client, **params):
    return client.get(reverse("documents:archive"), params)


def package_url(package, name: str = "documents:archive_package") -> str:
    return reverse(name, args=[package.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def tamper(package, location) -> None:
    """Change one byte of the stored package (as a disk error or a hand would)."""
    path = location / package.file.name
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))


# SEARCH -------------------------------------------------------------------------------------------

def test_the_search_finds_a_package_by_worker_name_and_by_id_number_not_another_committees(client):
    package, archivist = packed()
    other, _ = packed("测劳鉴〔2026〕0202号", worker="李四")  # another committee, the same name
    mine_too, _ = packed("测劳鉴〔2026〕0203号", worker="王五", committee=package.committee, issue=False)
    client.force_login(archivist)

    by_name = search(client, q="李四")
    assert by_name.status_code == 200
    assert [r["package"] for r in by_name.context["rows"]] == [package]
    assert NUMBER in by_name.content.decode() and "李四" in by_name.content.decode()
    assert other.case.number not in by_name.content.decode()

    by_id = search(client, q=package.case.worker.id_number)
    assert [r["package"] for r in by_id.context["rows"]] == [package]

    everything = search(client)
    assert {r["package"] for r in everything.context["rows"]} == {package, mine_too}
    row = next(r for r in everything.context["rows"] if r["package"] == package)
    assert row["files"] == len(package.manifest) and row["sha_short"] == package.sha256[:12]


def test_the_year_filter_keeps_the_packages_archived_that_year(client):
    package, archivist = packed()
    client.force_login(archivist)
    year = package.archived_on.year
    assert [r["package"] for r in search(client, year=year).context["rows"]] == [package]
    response = search(client, q="李四", year=year + 1)  # not a year with archived files: marked, left out
    assert "year" in response.context["form"].errors
    assert [r["package"] for r in response.context["rows"]] == [package]


def test_an_htmx_search_gets_the_results_only(client):
    package, archivist = packed()
    client.force_login(archivist)
    response = client.get(reverse("documents:archive"), {"q": "李四"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="archive-results"' in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_a_clerk_may_not_see_the_archive(client):
    package, archivist = packed()
    clerk = UserFactory(roles=["clerk"], committee=package.committee)
    client.force_login(clerk)
    assert search(client).status_code == 403
    assert client.get(package_url(package)).status_code == 403
    assert client.post(package_url(package, "documents:archive_open"), {"reason": "查阅"}).status_code == 403
    assert not ArchiveAccess.objects.exists()
    assert reverse("documents:archive") not in client.get(reverse("documents:case", args=[package.case_id])).content.decode()


def test_the_nav_links_the_archive_for_those_who_may_see_it(client):
    package, archivist = packed()
    client.force_login(archivist)
    page = client.get(reverse("documents:case", args=[package.case_id])).content.decode()
    assert f'href="{reverse("documents:archive")}"' in page


# A PACKAGE ----------------------------------------------------------------------------------------

def test_the_package_page_shows_the_package_and_its_manifest(client):
    package, archivist = packed()
    client.force_login(archivist)
    response = client.get(package_url(package))
    assert response.status_code == 200
    body = response.content.decode()
    assert NUMBER in body and package.sha256 in body and str(archivist) in body
    for entry in package.manifest:
        assert entry["path"] in body and entry["sha256"] in body
    assert "Nobody has opened this file" in body


def test_another_committees_archivist_gets_404_on_the_package(client):
    package, _archivist = packed()
    _other_package, stranger = packed("测劳鉴〔2026〕0299号")
    client.force_login(stranger)
    assert client.get(package_url(package)).status_code == 404
    assert client.post(package_url(package, "documents:archive_check")).status_code == 404
    assert client.post(package_url(package, "documents:archive_open"), {"reason": "查阅"}).status_code == 404
    assert not ArchiveAccess.objects.exists()


def test_check_now_on_an_intact_package_says_so(client):
    package, archivist = packed()
    client.force_login(archivist)
    response = client.post(package_url(package, "documents:archive_check"), follow=True)
    assert response.redirect_chain[-1] == (package_url(package), 303)
    assert any("checks out" in m for m in messages_of(response))


def test_a_changed_package_fails_its_check_and_is_not_handed_out(client, document_files):
    package, archivist = packed()
    tamper(package, document_files)
    client.force_login(archivist)

    checked = client.post(package_url(package, "documents:archive_check"), follow=True)
    [message] = messages_of(checked)
    assert "failed its check" in message and "does not decrypt" in message  # sealed at rest

    opened = client.post(package_url(package, "documents:archive_open"), {"reason": "行政复议调卷"}, follow=True)
    assert opened.redirect_chain[-1] == (package_url(package), 303)
    assert opened["Content-Type"].startswith("text/html")
    assert any("it is not handed out" in m for m in messages_of(opened))
    assert not ArchiveAccess.objects.exists()


def test_a_package_with_a_broken_compressed_entry_fails_its_check(client, document_files):
    """The stored package replaced by a ZIP whose compressed entry is broken."""
    package, archivist = packed()
    path = document_files / package.file.name
    with zipfile.ZipFile(io.BytesIO(open_bytes(path.read_bytes()))) as original:
        entries = {name: original.read(name) for name in original.namelist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as forged:
        for name, data in entries.items():
            forged.writestr(name, data)
    raw = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(raw)) as zipped:
        info = zipped.getinfo("record.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data = bytearray(raw)
    data[start] = 0x07  # the first deflate block: final, of the reserved (invalid) type
    path.write_bytes(seal_bytes(bytes(data)))  # forged by someone who holds the key
    client.force_login(archivist)
    checked = client.post(package_url(package, "documents:archive_check"), follow=True)
    assert any("failed its check" in m for m in messages_of(checked))


# OPENING THE FILE ---------------------------------------------------------------------------------

def test_opening_without_a_reason_is_refused_and_not_logged(client):
    package, archivist = packed()
    client.force_login(archivist)
    response = client.post(package_url(package, "documents:archive_open"), {"reason": "   "}, follow=True)
    assert response.redirect_chain[-1] == (package_url(package), 303)
    assert any("Say why" in m for m in messages_of(response))
    assert not ArchiveAccess.objects.exists()


def test_opening_with_a_reason_sends_the_zip_and_logs_it(client):
    package, archivist = packed()
    client.force_login(archivist)
    response = client.post(package_url(package, "documents:archive_open"), {"reason": "行政复议调卷"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="archive-') and disposition.isascii()
    assert "filename*=UTF-8''%E6%B5%8B" in disposition and disposition.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(response.content)) as zipped:
        assert zipped.testzip() is None
        assert json.loads(zipped.read("manifest.json")) == package.manifest

    access = ArchiveAccess.objects.get()
    assert (access.package, access.user, access.reason) == (package, archivist, "行政复议调卷")
    page = client.get(package_url(package))
    assert list(page.context["accesses"]) == [access]
    assert "行政复议调卷" in page.content.decode()


def test_a_reason_longer_than_the_log_keeps_is_refused(client):
    package, archivist = packed()
    client.force_login(archivist)
    response = client.post(package_url(package, "documents:archive_open"), {"reason": "查" * 201}, follow=True)
    assert response.redirect_chain[-1] == (package_url(package), 303)
    assert messages_of(response)
    assert not ArchiveAccess.objects.exists()


# THE CASE'S DOCUMENTS PAGE ------------------------------------------------------------------------

def test_the_case_documents_page_links_the_package(client):
    package, archivist = packed()
    client.force_login(archivist)
    body = client.get(reverse("documents:case", args=[package.case_id])).content.decode()
    assert package_url(package) in body


def test_an_archived_case_without_its_package_says_it_is_being_built(client):
    case = CaseFactory(status=Status.ARCHIVED, number="测劳鉴〔2026〕0301号")
    client.force_login(UserFactory(roles=["archivist"], committee=case.committee))
    body = client.get(reverse("documents:case", args=[case.pk])).content.decode()
    assert "the package is being built" in body
    assert not re.search(r"/documents/archive/\d+/", body)
