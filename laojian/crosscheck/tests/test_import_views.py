"""The liaison's pages: sources, the first upload and its column mapping, progress, the report."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.crosscheck import partners
from laojian.crosscheck.models import ImportRun, Source
from laojian.crosscheck.tests.test_import import HEADERS, MAPPING, bad_check, create, csv_bytes, row

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def liaison():
    return UserFactory(committee=CommitteeFactory(), roles=["liaison"])


@pytest.fixture
def client_of(client):
    def login(user):
        client.force_login(user)
        return client
    return login


@pytest.fixture
def source(liaison) -> Source:
    return Source.objects.create(committee=liaison.committee, kind="settlement", name="市医保局结算数据")


@pytest.fixture
def background(settings, django_capture_on_commit_callbacks):
    """``with background():`` runs the tasks a request enqueues when its transaction commits."""
    settings.TASKS = IMMEDIATE
    return lambda: django_capture_on_commit_callbacks(execute=True)


def upload(client, source: Source, data: bytes, name: str = "march.csv", **extra):
    return client.post(reverse("crosscheck:source_upload", args=[source.pk]),
                       {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **extra})


# PERMISSIONS AND SCOPE ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["crosscheck:sources"])
def test_a_clerk_cannot_open_the_sources(client_of, liaison, name):
    clerk = UserFactory(committee=liaison.committee, roles=["clerk"])
    assert client_of(clerk).get(reverse(name)).status_code == 403


def test_a_clerk_cannot_upload_and_nothing_is_written(client_of, liaison, source, crosscheck_data_dir):
    clerk = UserFactory(committee=liaison.committee, roles=["clerk"])

    response = upload(client_of(clerk), source, csv_bytes([row()]))

    assert response.status_code == 403
    assert not list((crosscheck_data_dir / "crosscheck").rglob("*.part"))


@pytest.mark.parametrize("name", ["crosscheck:source", "crosscheck:source_mapping"])
def test_another_committees_source_is_not_found(client_of, source, name):
    stranger = UserFactory(committee=CommitteeFactory(), roles=["liaison"])
    assert client_of(stranger).get(reverse(name, args=[source.pk])).status_code == 404


def test_another_committees_upload_is_refused_before_the_file_is_read(client_of, source, crosscheck_data_dir):
    stranger = UserFactory(committee=CommitteeFactory(), roles=["liaison"])

    assert upload(client_of(stranger), source, csv_bytes([row()])).status_code == 404
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("name", ["crosscheck:import", "crosscheck:import_progress"])
def test_another_committees_import_is_not_found(client_of, liaison, source, name):
    source.mapping = MAPPING
    source.save()
    run = create(source, liaison, csv_bytes([row()]))
    stranger = UserFactory(committee=CommitteeFactory(), roles=["liaison"])

    assert client_of(stranger).get(reverse(name, args=[run.pk])).status_code == 404


# SOURCES AND THE FIRST FILE ----------------------------------------------------------------------------

def test_a_liaison_creates_a_source(client_of, liaison):
    response = client_of(liaison).post(reverse("crosscheck:sources"),
                                       {"kind": "settlement", "name": "市医保局结算数据", "department": "市医疗保障局"})

    source = Source.objects.get(committee=liaison.committee)
    assert response.status_code == 303
    assert response["Location"] == reverse("crosscheck:source", args=[source.pk])
    assert (source.kind, source.name, source.department, source.mapping) == (
        "settlement", "市医保局结算数据", "市医疗保障局", {})


def test_the_sources_page_lists_the_committees_sources_only(client_of, liaison, source):
    Source.objects.create(committee=CommitteeFactory(), kind="licensed", name="别的委员会的数据")

    page = client_of(liaison).get(reverse("crosscheck:sources")).content.decode()

    assert f'href="{reverse("crosscheck:source", args=[source.pk])}"' in page
    assert "别的委员会的数据" not in page


def test_the_first_upload_shows_the_files_headers_and_sample_for_mapping(client_of, liaison, source):
    client = client_of(liaison)

    response = upload(client, source, csv_bytes([row(姓名="李四")]))

    run = ImportRun.objects.get(source=source)
    assert response.status_code == 303
    assert response["Location"] == reverse("crosscheck:source_mapping", args=[source.pk]) + f"?run={run.pk}"
    page = client.get(response["Location"]).content.decode()
    assert all(f"<th scope=\"col\">{header}</th>" in page for header in HEADERS)
    assert "<td>李四</td>" in page
    assert run.state == "queued"


def test_the_first_mapping_is_prefilled_with_a_guess_from_the_headers(client_of, liaison, source):
    client = client_of(liaison)
    upload(client, source, csv_bytes([row()]))
    run = ImportRun.objects.get(source=source)

    page = client.get(reverse("crosscheck:source_mapping", args=[source.pk]) + f"?run={run.pk}").content.decode()

    chosen = dict(re.findall(r'<select name="(\w+)".*?<option value="([^"]*)" selected>', page, flags=re.S))
    assert chosen == MAPPING


def test_saving_the_mapping_imports_the_waiting_file(client_of, liaison, source, background):
    client = client_of(liaison)
    upload(client, source, csv_bytes([row(), row(bad_check(row()["身份证号"]))]))
    run = ImportRun.objects.get(source=source)

    with background():
        response = client.post(reverse("crosscheck:source_mapping", args=[source.pk]), {"run": run.pk, **MAPPING})

    source.refresh_from_db()
    run.refresh_from_db()
    assert response.status_code == 303
    assert response["Location"] == reverse("crosscheck:import", args=[run.pk])
    assert source.mapping == MAPPING
    assert (run.state, run.rows_added, run.rows_flagged) == ("done", 2, 1)


def test_a_mapping_without_a_required_field_is_refused(client_of, liaison, source):
    client = client_of(liaison)
    upload(client, source, csv_bytes([row()]))
    run = ImportRun.objects.get(source=source)
    partial = {k: v for k, v in MAPPING.items() if k != "admitted_on"}

    response = client.post(reverse("crosscheck:source_mapping", args=[source.pk]), {"run": run.pk, **partial})

    source.refresh_from_db()
    assert response.status_code == 400
    assert "admitted on / date of the visit" in response.content.decode()
    assert source.mapping == {}


def test_a_later_file_uses_the_saved_mapping_and_imports_in_the_background(client_of, liaison, source, background):
    source.mapping = MAPPING
    source.save()

    with background():
        response = upload(client_of(liaison), source, csv_bytes([row()]))

    run = ImportRun.objects.get(source=source)
    assert response["Location"] == reverse("crosscheck:import", args=[run.pk])
    run.refresh_from_db()
    assert (run.state, run.rows_added, run.file_name, run.started_by) == ("done", 1, "march.csv", liaison)


def test_a_later_file_missing_mapped_columns_is_refused_with_their_names(client_of, liaison, source):
    source.mapping = MAPPING
    source.save()
    client = client_of(liaison)

    response = upload(client, source, csv_bytes([row()], headers=[h for h in HEADERS if h != "出院日期"]))

    assert response.status_code == 303
    assert response["Location"] == reverse("crosscheck:source", args=[source.pk])
    assert "出院日期" in client.get(response["Location"]).content.decode()
    assert not ImportRun.objects.exists()


def test_a_new_layout_is_mapped_again_from_its_first_file(client_of, liaison, source, background):
    source.mapping = MAPPING
    source.save()
    client = client_of(liaison)
    renamed = {header: f"新{header}" for header in HEADERS}
    data = csv_bytes([{renamed[k]: v for k, v in row().items()}], headers=list(renamed.values()))

    response = upload(client, source, data, remap="on")
    run = ImportRun.objects.get(source=source)
    assert response["Location"] == reverse("crosscheck:source_mapping", args=[source.pk]) + f"?run={run.pk}"
    with background():
        client.post(response["Location"], {"run": run.pk, **{k: renamed[v] for k, v in MAPPING.items()}})

    run.refresh_from_db()
    source.refresh_from_db()
    assert source.mapping["id_number"] == "新身份证号"
    assert (run.state, run.rows_added) == ("done", 1)


def test_the_same_file_again_leads_to_the_first_import(client_of, liaison, source, background):
    source.mapping = MAPPING
    source.save()
    client = client_of(liaison)
    data = csv_bytes([row()])
    with background():
        upload(client, source, data)
    run = ImportRun.objects.get(source=source)

    response = upload(client, source, data, name="again.csv")

    assert response["Location"] == reverse("crosscheck:import", args=[run.pk])
    assert ImportRun.objects.count() == 1
    assert "already imported" in client.get(response["Location"]).content.decode()


# PROGRESS AND REPORT -----------------------------------------------------------------------------------

def test_the_progress_fragment_polls_while_the_import_runs(client_of, liaison, source):
    source.mapping = MAPPING
    source.save()
    run = create(source, liaison, csv_bytes([row()]))
    ImportRun.objects.filter(pk=run.pk).update(state="running", rows_total=1000, rows_done=250)

    page = client_of(liaison).get(reverse("crosscheck:import_progress", args=[run.pk]), HTTP_HX_REQUEST="true")

    html = page.content.decode()
    assert page.status_code == 200
    assert f'hx-get="{reverse("crosscheck:import_progress", args=[run.pk])}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert '<progress class="import-bar" max="1000" value="250">' in html
    assert "<html" not in html


def test_the_progress_fragment_stops_polling_and_shows_the_report_when_done(client_of, liaison, source):
    source.mapping = MAPPING
    source.save()
    run = partners.run_import(create(source, liaison, csv_bytes([row(), row(""), row()])).pk)

    html = client_of(liaison).get(reverse("crosscheck:import_progress", args=[run.pk])).content.decode()

    assert "hx-trigger" not in html
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html))
    assert (facts["Rows read"], facts["Added"], facts["Already stored (from this or an earlier file)"],
            facts["Rejected"]) == ("3", "1", "1", "1")
    assert "<tr><td>3</td><td>no ID number</td></tr>" in html


def test_the_report_of_rejected_rows_downloads(client_of, liaison, source):
    source.mapping = MAPPING
    source.save()
    run = partners.run_import(create(source, liaison, csv_bytes([row(), row("", 入院日期="2026/3/2")])).pk)

    response = client_of(liaison).get(reverse("crosscheck:import_rejects", args=[run.pk]))

    body = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body[0].startswith("line,reason code,reason,身份证号,")
    assert body[1].startswith("3,no_id,no ID number,,张三,")


def test_a_failed_import_can_be_resumed_from_its_page(client_of, liaison, source, background):
    source.mapping = MAPPING
    source.save()
    run = create(source, liaison, csv_bytes([row()]))
    ImportRun.objects.filter(pk=run.pk).update(state="failed", error="The import stopped: disk full",
                                               updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    with background():
        response = client_of(liaison).post(reverse("crosscheck:import_resume", args=[run.pk]))

    run.refresh_from_db()
    assert response.status_code == 303
    assert (run.state, run.rows_added, run.error) == ("done", 1, "")


# THE PUSH API TOKEN ------------------------------------------------------------------------------------

def test_a_new_token_is_shown_once_and_stored_as_its_hash(client_of, liaison, source):
    response = client_of(liaison).post(reverse("crosscheck:source_token", args=[source.pk]), {"action": "new"})

    token = re.search(r'<code class="token">([^<]+)</code>', response.content.decode()).group(1)
    source.refresh_from_db()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert source.api_token_hash == partners.token_hash(token)
    assert token not in client_of(liaison).get(reverse("crosscheck:source", args=[source.pk])).content.decode()
