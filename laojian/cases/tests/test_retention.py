"""Retention and deletion (SEC-64): the dry run, anonymisation past the period, the audit trail untouched."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from laojian.cases import clocks, retention, services
from laojian.cases.models import (
    Case,
    CaseType,
    InjuryDetermination,
    Material,
    MaterialType,
    RetentionClass,
    Status,
    TimelineEntry,
    Worker,
)
from laojian.cases.tests.factories import CaseFactory, InjuryDeterminationFactory, WorkerFactory
from laojian.core import audit
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory

TODAY = dt.date(2030, 6, 1)
LONG_AGO = TODAY - dt.timedelta(days=3 * 366 + 1)  # past the 3-year class
RECENT = TODAY - dt.timedelta(days=30)
ID_NUMBER = "11010519491231002X"


@pytest.fixture(autouse=True)
def materials_storage(settings, tmp_path):
    location = tmp_path / "materials"
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(location)}}}
    settings.LAOJIAN_RETENTION_DAYS = {"application": 3 * 366, "no_conclusion": 10 * 366, "appraised": 50 * 366}
    return location


def closed_case(closed_on=LONG_AGO, klass=RetentionClass.APPLICATION, status=Status.REJECTED, **kwargs) -> Case:
    return CaseFactory(status=status, retention_class=klass, closed_on=closed_on, **kwargs)


def raw_row(model, pk: int) -> str:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {qn(model._meta.db_table)} WHERE id = %s", [pk])
        return " ".join(str(cell) for cell in cursor.fetchone())


def add_material(case: Case) -> Material:
    material_type = MaterialType.objects.create(case_type=CaseType.INITIAL, code=f"m{case.pk}", name="诊断证明")
    material = Material(case=case, material_type=material_type, original_name="张三诊断证明.pdf",
                        content_type="application/pdf", size=8, sha256="0" * 64,
                        uploaded_by=UserFactory(committee=case.committee), uploaded_at=case.created_at)
    material.file.save("x.pdf", ContentFile(b"%PDF-1.4"), save=False)
    material.save()
    return material


# THE CLASS ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rejected_application_gets_the_short_class_and_its_closing_day():
    case = CaseFactory(status=Status.SUBMITTED)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.transition(case.pk, "reject", actor=clerk, note="无工伤认定决定书", today=RECENT)
    case.refresh_from_db()
    assert (case.retention_class, case.closed_on) == (RetentionClass.APPLICATION, RECENT)


@pytest.mark.parametrize(("status", "accepted", "klass"), [
    (Status.SUBMITTED, False, RetentionClass.OPEN),
    (Status.CONCLUDED, True, RetentionClass.OPEN),
    (Status.REJECTED, False, RetentionClass.APPLICATION),
    (Status.WITHDRAWN, False, RetentionClass.APPLICATION),
    (Status.WITHDRAWN, True, RetentionClass.NO_CONCLUSION),
    (Status.TERMINATED, True, RetentionClass.NO_CONCLUSION),
    (Status.ARCHIVED, True, RetentionClass.APPRAISED),
])
def test_the_class_follows_what_happened(status, accepted, klass):
    case = Case(status=status, accepted_on=RECENT if accepted else None)
    assert retention.classify(case) == klass


@given(closed=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)),
       days=st.integers(min_value=retention.MIN_LOG_RETENTION_DAYS, max_value=60 * 366))
def test_a_case_is_never_due_before_its_full_period(closed, days):
    until = retention.retain_until(closed, days)
    assert (until - closed).days == days
    assert until - closed >= dt.timedelta(days=180)


# THE PERIODS -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_period_under_180_days_is_refused(settings):
    settings.LAOJIAN_RETENTION_DAYS = {**settings.LAOJIAN_RETENTION_DAYS, "application": 179}
    closed_case()
    with pytest.raises(CommandError, match="180"):
        call_command("retention", "apply", stdout=io.StringIO())
    assert not Case.objects.filter(anonymised_on__isnull=False).exists()


# THE REPORT --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_report_lists_only_expired_cases_and_changes_nothing():
    old = closed_case()
    closed_case(closed_on=RECENT)  # within its period
    CaseFactory(status=Status.SUBMITTED)  # open
    archived = closed_case(klass=RetentionClass.APPRAISED, status=Status.ARCHIVED)  # 50 years
    events = AuditEvent.objects.count()
    plan = retention.report(today=TODAY)
    assert [case.pk for case in plan.cases] == [old.pk]
    assert archived.pk not in {case.pk for case in plan.cases}
    assert plan.workers == [old.worker_id]
    old.refresh_from_db()
    assert old.anonymised_on is None and old.worker.name.startswith("工人")
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_the_report_command_lists_the_expired_case_and_changes_nothing():
    case = closed_case(closed_on=clocks.today() - dt.timedelta(days=4 * 366))
    out = io.StringIO()
    with translation.override("en"):
        call_command("retention", "report", stdout=out)
    assert f"#{case.pk}," in out.getvalue() and "laojian retention apply" in out.getvalue()
    assert Case.objects.get(pk=case.pk).anonymised_on is None


# APPLYING ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_apply_anonymises_the_worker_and_the_raw_row_keeps_no_name_or_id_number(
        materials_storage, django_capture_on_commit_callbacks):
    worker = WorkerFactory(id_number=ID_NUMBER, name="张三丰", phone="13912345678", address="聊城市东昌府区")
    case = closed_case(determination=InjuryDeterminationFactory(worker=worker, diagnosis="右手示指末节离断伤"),
                       applicant_name="张三丰", applicant_phone="13712345678")
    material = add_material(case)
    stored = materials_storage / material.file.name
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        retention.apply(today=TODAY)
    worker.refresh_from_db()
    assert (worker.name, worker.phone, worker.address) == (retention.NEUTRAL_NAME, "", "")
    assert worker.id_number == retention.neutral_id_number(worker.pk)
    assert Worker.objects.get(id_number_index=Worker.index_of(worker.id_number)) == worker
    assert not Worker.objects.filter(id_number_index=Worker.index_of(ID_NUMBER)).exists()
    assert worker.birth_date == dt.date(1949, 1, 1)
    row = raw_row(Worker, worker.pk) + raw_row(Case, case.pk)
    assert "张三" not in row and "002X" not in row
    assert InjuryDetermination.objects.get(pk=case.determination_id).diagnosis == ""
    assert not Material.objects.filter(case=case).exists() and not stored.exists()


@pytest.mark.django_db
def test_apply_keeps_the_case_skeleton_for_statistics():
    case = closed_case(case_type=CaseType.INITIAL, received_on=dt.date(2026, 1, 5))
    retention.apply(today=TODAY)
    case.refresh_from_db()
    assert (case.status, case.case_type, case.received_on, case.closed_on) == (
        Status.REJECTED, CaseType.INITIAL, dt.date(2026, 1, 5), LONG_AGO)
    assert case.anonymised_on == TODAY


@pytest.mark.django_db
def test_apply_never_removes_audit_entries_and_the_trail_still_verifies():
    case = closed_case()
    clerk = UserFactory(committee=case.committee)
    audit.record("case.view", actor=clerk, obj=case, after={"fields": ["worker.name"]})
    before = list(AuditEvent.objects.order_by("pk").values_list("pk", "hash"))
    retention.apply(today=TODAY)
    after = list(AuditEvent.objects.order_by("pk").values_list("pk", "hash"))
    assert after[:len(before)] == before
    assert {"retention.anonymise_case", "retention.anonymise_worker"} <= {
        e.action for e in AuditEvent.objects.filter(pk__gt=before[-1][0])}
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "BROKEN" not in out.getvalue()
    assert all(report.ok for report in audit.verify())


@pytest.mark.django_db
def test_a_worker_with_one_case_still_kept_is_not_anonymised():
    worker = WorkerFactory(name="李四")
    old = closed_case(determination=InjuryDeterminationFactory(worker=worker))
    closed_case(closed_on=RECENT, determination=InjuryDeterminationFactory(worker=worker))
    plan = retention.apply(today=TODAY)
    worker.refresh_from_db()
    old.refresh_from_db()
    assert old.anonymised_on == TODAY and old.applicant_name == ""
    assert worker.name == "李四" and worker.anonymised_on is None
    assert plan.workers_kept == [worker.pk]


@pytest.mark.django_db
def test_running_apply_again_changes_nothing():
    case = closed_case()
    TimelineEntry.objects.create(case=case, at=case.created_at, action="reject", note="张三未提供认定书")
    retention.apply(today=TODAY)
    events = AuditEvent.objects.count()
    worker = Worker.objects.get(pk=case.worker_id)
    again = retention.apply(today=TODAY)
    assert (again.cases, again.workers) == ([], [])
    assert AuditEvent.objects.count() == events
    assert Worker.objects.get(pk=worker.pk).id_number == worker.id_number
    assert TimelineEntry.objects.get(case=case).note == ""


@pytest.mark.django_db
def test_an_archived_case_waits_for_its_package_date():
    case = closed_case(klass=RetentionClass.APPRAISED, status=Status.ARCHIVED,
                       closed_on=TODAY - dt.timedelta(days=50 * 366 + 1))
    from laojian.documents.models import ArchivePackage

    ArchivePackage.objects.create(case=case, committee=case.committee, archived_on=case.closed_on,
                                  retain_until=TODAY + dt.timedelta(days=1), sha256="0" * 64,
                                  created_by=UserFactory(committee=case.committee), file="archive/x.zip")
    assert retention.report(today=TODAY).cases == []
    assert [c.pk for c in retention.report(today=TODAY + dt.timedelta(days=1)).cases] == [case.pk]


@pytest.mark.django_db
def test_every_field_anonymised_exists():
    for scrub in retention.scrub_specs():
        model = retention._model(scrub.model)
        for name in scrub.values:
            model._meta.get_field(name)
    for spec in retention.file_specs():
        retention._model(spec.model)._meta.get_field(spec.field)


@pytest.mark.django_db
def test_the_migration_gives_cases_closed_before_it_their_class_and_closing_day():
    from importlib import import_module

    from django.apps import apps as django_apps

    migration = import_module("laojian.cases.migrations.0017_case_retention_class")
    rejected = CaseFactory(status=Status.REJECTED)
    terminated = CaseFactory(status=Status.TERMINATED, accepted_on=RECENT)
    open_case = CaseFactory(status=Status.SUBMITTED)
    at = dt.datetime(2027, 3, 4, 20, 0, tzinfo=dt.UTC)  # 5 March in Shanghai
    TimelineEntry.objects.create(case=rejected, at=at, action="reject", from_status="submitted", to_status="rejected")
    migration.backfill(django_apps, None)
    rejected.refresh_from_db()
    terminated.refresh_from_db()
    open_case.refresh_from_db()
    assert (rejected.retention_class, rejected.closed_on) == (RetentionClass.APPLICATION, dt.date(2027, 3, 5))
    assert terminated.retention_class == RetentionClass.NO_CONCLUSION and terminated.closed_on is not None
    assert (open_case.retention_class, open_case.closed_on) == (RetentionClass.OPEN, None)


def test_each_app_declares_its_personal_fields_and_files():
    assert {s.model for s in retention.scrub_specs()} == {
        "cases.case", "cases.timelineentry", "cases.materialcheck", "documents.document", "documents.delivery",
        "documents.archivepackage", "crosscheck.claimedcare", "crosscheck.flag", "crosscheck.letter",
        "sittings.appointment", "sittings.extraexamination", "notify.notification", "review.reappraisal",
        "review.agendaitem"}
    assert {(f.model, f.field) for f in retention.file_specs()} == {
        ("cases.material", "file"), ("sittings.examinationrecord", "file"), ("documents.document", "file"),
        ("documents.delivery", "receipt"), ("documents.archivepackage", "file")}
