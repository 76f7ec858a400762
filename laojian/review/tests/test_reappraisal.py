"""Re-appraisal (再次鉴定): the request within the 15-day window, the file for the provincial
committee (every document and material, hash-checked, with a manifest), and the provincial result."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import json
import zipfile

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter

from laojian.cases import materials
from laojian.cases import selectors as case_selectors
from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.documents import services as document_services
from laojian.documents.models import Kind
from laojian.documents.tests.conftest import document_files  # noqa: F401  (autouse: tmp storage, no signing)
from laojian.grading import services as grading_services
from laojian.grading.tests.factories import clerk, leader
from laojian.review import reappraisal
from laojian.review.models import Reappraisal

pytestmark = pytest.mark.django_db
CONCLUDED = dt.date(2026, 10, 20)
DELIVERED = dt.date(2026, 10, 26)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users are made by the dozen here; nobody signs in with a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def delivered_case(**kwargs):
    """A case concluded (grade 10, from the paper file) and delivered on DELIVERED, with its conclusion
    letter issued and the medical records uploaded. Returns (case, clerk)."""
    importlib.import_module("laojian.cases.migrations.0006_material_checklist_defaults").seed(django_apps, None)
    case = CaseFactory(status=Status.EXAMINED, **kwargs)
    grading_services.conclusion_from_paper(
        case.pk, grading_services.PaperConclusion(clauses=["5.10.2(12)"], grade=10, basis="依据查体"),
        actor=leader(case), today=CONCLUDED)
    staff = clerk(case)
    document_services.document_issue(case.pk, Kind.CONCLUSION, actor=staff, today=CONCLUDED)
    item = next(i for i in case_selectors.checklist_for(case) if i.code == "medical_records")
    materials.material_upload(case, item, SimpleUploadedFile("病历.pdf", pdf_bytes(), "application/pdf"), staff)
    case_services.transition(case.pk, "deliver", actor=staff, data={"received_on": DELIVERED.isoformat()},
                             today=DELIVERED)
    case.refresh_from_db()
    return case, staff


@pytest.fixture
def delivered():
    return delivered_case()


def request_input(on: dt.date, **overrides) -> reappraisal.RequestInput:
    values = {"requested_on": on, "party": "worker", "requester_name": "张三", "grounds": "认为伤残等级评定过低"}
    values.update(overrides)
    return reappraisal.RequestInput(**values)


def requested(case, staff, on=None):
    return reappraisal.request_record(case.pk, request_input(on or DELIVERED), actor=staff,
                                      today=case.reappraisal_window_ends)


def refused_code(case, staff, on: dt.date, today: dt.date) -> str:
    with pytest.raises(ApplicationError) as exc:
        reappraisal.request_record(case.pk, request_input(on), actor=staff, today=today)
    assert not Reappraisal.objects.filter(case=case).exists()
    return exc.value.code, exc.value.message


def package_of(record: Reappraisal) -> tuple[dict, dict[str, bytes], bytes]:
    with reappraisal._storage().open(record.package, "rb") as handle:
        content = handle.read()
    with zipfile.ZipFile(io.BytesIO(content)) as zipped:
        entries = {name: zipped.read(name) for name in zipped.namelist()}
    return json.loads(entries.pop("manifest.json")), entries, content


# THE WINDOW ---------------------------------------------------------------------------------------

def test_the_window_runs_15_days_from_the_delivery(delivered):
    case, _staff = delivered
    assert case.reappraisal_window_ends == DELIVERED + dt.timedelta(days=15)


def test_a_request_on_the_last_day_of_the_window_is_recorded(delivered):
    case, staff = delivered
    last = case.reappraisal_window_ends
    record = reappraisal.request_record(case.pk, request_input(last), actor=staff, today=last + dt.timedelta(days=3))
    assert (record.requested_on, record.party, record.requester_name, record.recorded_by) == (last, "worker", "张三",
                                                                                              staff)
    assert case.timeline.get(action="reappraisal_requested").data["requested_on"] == last.isoformat()
    assert AuditEvent.objects.get(action="reappraisal.request").after["party"] == "worker"


def test_a_request_on_the_delivery_day_is_recorded(delivered):
    case, staff = delivered
    assert requested(case, staff, on=DELIVERED).requested_on == DELIVERED


def test_a_request_the_day_after_the_window_is_refused_and_the_message_gives_the_window(delivered):
    case, staff = delivered
    late = case.reappraisal_window_ends + dt.timedelta(days=1)
    code, message = refused_code(case, staff, late, today=late)
    assert code == "window_closed"
    assert DELIVERED.isoformat() in message and case.reappraisal_window_ends.isoformat() in message


def test_a_request_dated_before_the_delivery_is_refused(delivered):
    case, staff = delivered
    code, _message = refused_code(case, staff, DELIVERED - dt.timedelta(days=1), today=DELIVERED)
    assert code == "before_delivery"


def test_a_request_dated_in_the_future_is_refused(delivered):
    case, staff = delivered
    code, _message = refused_code(case, staff, DELIVERED + dt.timedelta(days=2), today=DELIVERED + dt.timedelta(days=1))
    assert code == "date_in_future"


def test_a_second_request_is_refused_and_names_the_first(delivered):
    case, staff = delivered
    requested(case, staff)
    with pytest.raises(ApplicationError) as exc:
        reappraisal.request_record(case.pk, request_input(DELIVERED, party="employer"), actor=staff,
                                   today=DELIVERED)
    assert exc.value.code == "already_requested" and DELIVERED.isoformat() in exc.value.message
    assert Reappraisal.objects.filter(case=case).count() == 1


def test_a_case_not_yet_delivered_takes_no_request():
    case = CaseFactory(status=Status.EXAMINED)
    with pytest.raises(ApplicationError) as exc:
        reappraisal.request_record(case.pk, request_input(DELIVERED), actor=clerk(case), today=DELIVERED)
    assert exc.value.code == "not_eligible"


# WHO MAY ------------------------------------------------------------------------------------------

def test_a_reviewer_cannot_record_a_request(delivered):
    case, _staff = delivered
    with pytest.raises(PermissionDeniedError):
        requested(case, UserFactory(committee=case.committee, roles=["reviewer"]))


def test_a_clerk_of_another_committee_finds_no_case(delivered):
    case, _staff = delivered
    with pytest.raises(NotFoundError):
        requested(case, UserFactory(roles=["clerk"]))


# THE FILE FOR THE PROVINCE ------------------------------------------------------------------------

def test_the_manifest_lists_every_document_and_material_with_its_sha256(delivered):
    case, staff = delivered
    requested(case, staff)
    record = reappraisal.package_export(case.pk, actor=staff)
    manifest, _entries, _content = package_of(record)
    expected = {(d.number, d.sha256) for d in case.documents.all()} | {("", m.sha256) for m in case.materials.all()}
    assert {(f["number"], f["sha256"]) for f in manifest["files"]} == expected
    assert sorted(f["kind"] for f in manifest["files"]) == ["document", "material"]


def test_the_zip_holds_exactly_the_files_of_the_manifest_with_their_hashes_and_sizes(delivered):
    case, staff = delivered
    requested(case, staff)
    manifest, entries, content = package_of(reappraisal.package_export(case.pk, actor=staff))
    assert sorted(entries) == sorted(f["path"] for f in manifest["files"])
    for entry in manifest["files"]:
        data = entries[entry["path"]]
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"])
    assert Reappraisal.objects.get(case=case).package_sha256 == hashlib.sha256(content).hexdigest()


def test_the_manifest_carries_the_case_and_the_city_s_conclusion(delivered):
    case, staff = delivered
    requested(case, staff)
    manifest, _entries, _content = package_of(reappraisal.package_export(case.pk, actor=staff))
    conclusion = reappraisal.city_conclusion(case)
    assert manifest["case"]["number"] == case.number
    assert manifest["conclusion"] == {
        "number": conclusion.number, "concluded_on": CONCLUDED.isoformat(), "grade": 10, "grade_label": "10级",
        "care_level": "none", "medical_dependency": conclusion.medical_dependency, "months": None,
        "clauses": ["5.10.2(12)"], "edition": "GB/T 16180-2014", "basis": "依据查体"}


def test_the_export_is_recorded_on_the_timeline_and_in_the_audit_trail(delivered):
    case, staff = delivered
    requested(case, staff)
    record = reappraisal.package_export(case.pk, actor=staff)
    assert record.exported_at is not None
    assert AuditEvent.objects.get(action="reappraisal.export").after["sha256"] == record.package_sha256
    assert case.timeline.filter(action="reappraisal_exported").count() == 1


def test_a_tampered_document_aborts_the_export_and_nothing_is_stored(delivered, document_files):  # noqa: F811
    case, staff = delivered
    requested(case, staff)
    document = case.documents.get()
    path = document_files / document.file.name
    path.write_bytes(path.read_bytes() + b"%")
    with pytest.raises(ApplicationError) as exc:
        reappraisal.package_export(case.pk, actor=staff)
    assert exc.value.code == "tampered_source" and document.number in exc.value.message
    assert Reappraisal.objects.get(case=case).package == ""
    assert not (document_files / "reappraisal").exists()


def test_exporting_again_replaces_the_package_and_is_audited(delivered):
    case, staff = delivered
    requested(case, staff)
    first = reappraisal.package_export(case.pk, actor=staff)
    second = reappraisal.package_export(case.pk, actor=staff)
    assert second.package != first.package
    assert Reappraisal.objects.get(case=case).package == second.package
    events = list(AuditEvent.objects.filter(action="reappraisal.export").order_by("seq"))
    assert [e.after["replaces"] for e in events] == [False, True]


def test_no_export_before_the_request(delivered):
    case, staff = delivered
    with pytest.raises(ApplicationError) as exc:
        reappraisal.package_export(case.pk, actor=staff)
    assert exc.value.code == "no_request"


def test_reading_the_package_is_audited(delivered):
    case, staff = delivered
    requested(case, staff)
    record = reappraisal.package_export(case.pk, actor=staff)
    _record, content = reappraisal.package_read(case.pk, actor=staff)
    assert hashlib.sha256(content).hexdigest() == record.package_sha256
    assert AuditEvent.objects.filter(action="reappraisal.download", actor_id=staff.pk).count() == 1


def test_a_changed_package_is_not_handed_out(delivered, document_files):  # noqa: F811
    case, staff = delivered
    requested(case, staff)
    record = reappraisal.package_export(case.pk, actor=staff)
    (document_files / record.package).write_bytes(b"PK not the file")
    with pytest.raises(ApplicationError) as exc:
        reappraisal.package_read(case.pk, actor=staff)
    assert exc.value.code == "tampered_package"
    assert not AuditEvent.objects.filter(action="reappraisal.download").exists()


# THE PROVINCIAL RESULT ----------------------------------------------------------------------------

def result(case, staff, **overrides):
    values = {"number": "鲁劳鉴再〔2026〕0012号", "concluded_on": case.reappraisal_window_ends, "grade": 10,
              "care_level": "none", "months": None, "note": ""}
    values.update(overrides)
    return reappraisal.result_record(case.pk, reappraisal.ResultInput(**values), actor=staff,
                                     today=case.reappraisal_window_ends)


def test_the_same_grade_care_and_months_uphold_the_city_s_conclusion(delivered):
    case, staff = delivered
    requested(case, staff)
    record = result(case, staff)
    assert record.outcome == Reappraisal.Outcome.UPHELD
    assert case.timeline.get(action="reappraisal_result").data["outcome"] == "upheld"
    assert AuditEvent.objects.get(action="reappraisal.result").after["outcome"] == "upheld"


def test_another_grade_changes_the_city_s_conclusion(delivered):
    case, staff = delivered
    requested(case, staff)
    assert result(case, staff, grade=9).outcome == Reappraisal.Outcome.CHANGED


def test_another_care_level_changes_the_city_s_conclusion(delivered):
    case, staff = delivered
    requested(case, staff)
    assert result(case, staff, care_level="partial").outcome == Reappraisal.Outcome.CHANGED


def test_the_provincial_result_is_recorded_once(delivered):
    case, staff = delivered
    requested(case, staff)
    result(case, staff)
    with pytest.raises(ApplicationError) as exc:
        result(case, staff, grade=9)
    assert exc.value.code == "result_recorded"
    assert Reappraisal.objects.get(case=case).provincial_grade == 10


def test_a_provincial_conclusion_dated_before_the_request_is_refused(delivered):
    case, staff = delivered
    requested(case, staff, on=DELIVERED + dt.timedelta(days=2))
    with pytest.raises(ApplicationError) as exc:
        result(case, staff, concluded_on=DELIVERED)
    assert "concluded_on" in exc.value.extra["fields"]
    assert Reappraisal.objects.get(case=case).outcome == Reappraisal.Outcome.PENDING
