"""When the engine runs: nightly from the console for every committee, and on demand for one
case through a background task."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from laojian.cases.models import Status
from laojian.core.errors import PermissionDeniedError
from laojian.core.models import AuditEvent
from laojian.crosscheck import services
from laojian.crosscheck.models import Flag, MatchRun
from laojian.crosscheck.services import CrosscheckRefused
from laojian.crosscheck.tests.factories import (
    HOSPITAL_B,
    ClaimedCareFactory,
    care_row,
    open_case,
    partner_data,
    staff,
)

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_the_nightly_command_checks_every_committee():
    first, second = open_case(), open_case()
    for case in (first, second):
        ClaimedCareFactory(case=case)
        partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    out = StringIO()
    call_command("crosscheck", "match", stdout=out)
    assert Flag.objects.filter(rule="no_settlement").count() == 2
    runs = MatchRun.objects.filter(case__isnull=True).order_by("committee_id")
    assert [(r.committee_id, r.cases_checked, r.flags_found, r.flags_raised) for r in runs] == [
        (first.committee_id, 1, 2, 2), (second.committee_id, 1, 2, 2)]
    assert out.getvalue().splitlines()[0] == (
        f"{first.committee.code}: 1 case(s) checked, 2 finding(s), 2 new flag(s).")
    assert "  some rules were not run: no licensed-hospital registry imported yet" in out.getvalue().splitlines()


def test_the_nightly_command_run_twice_raises_nothing_new():
    case = open_case()
    ClaimedCareFactory(case=case)
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    call_command("crosscheck", "match", stdout=StringIO())
    out = StringIO()
    call_command("crosscheck", "match", "--committee", case.committee.code, stdout=out)
    assert out.getvalue().splitlines()[0].endswith("2 finding(s), 0 new flag(s).")
    assert Flag.objects.count() == 2
    assert AuditEvent.objects.filter(action="crosscheck.match").count() == 2


def test_the_command_refuses_an_unknown_committee():
    with pytest.raises(CommandError):
        call_command("crosscheck", "match", "--committee", "nope", stdout=StringIO())


def test_the_command_checks_one_case():
    case = open_case()
    ClaimedCareFactory(case=case)
    call_command("crosscheck", "match", "--case", str(case.pk), stdout=StringIO())
    run = MatchRun.objects.get()
    assert (run.case, run.cases_checked, sorted(run.skipped)) == (
        case, 1, ["dates_disagree", "no_settlement", "not_licensed", "other_body_system", "pre_existing"])


def test_a_check_on_request_runs_in_the_background_and_records_the_result(settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    case = open_case()
    ClaimedCareFactory(case=case)
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    liaison = staff(case, "liaison")
    with django_capture_on_commit_callbacks(execute=True):
        run = services.match_request(case.pk, actor=liaison)
    run.refresh_from_db()
    assert run.finished_at is not None
    assert (run.case, run.requested_by, run.flags_found, run.flags_raised) == (case, liaison, 2, 2)
    assert AuditEvent.objects.get(action="crosscheck.match").actor == liaison


def test_a_second_request_waits_for_the_first(settings):
    settings.TASKS = IMMEDIATE  # nothing runs: the on-commit callback is never executed here
    case = open_case()
    liaison = staff(case, "liaison")
    services.match_request(case.pk, actor=liaison)
    with pytest.raises(CrosscheckRefused):
        services.match_request(case.pk, actor=liaison)


def test_a_concluded_case_is_not_checked_on_request():
    case = open_case(status=Status.CONCLUDED)
    with pytest.raises(CrosscheckRefused):
        services.match_request(case.pk, actor=staff(case, "liaison"))


def test_an_applicant_cannot_ask_for_a_check():
    case = open_case()
    with pytest.raises(PermissionDeniedError):
        services.match_request(case.pk, actor=staff(case, "applicant"))


def test_a_task_run_twice_does_the_work_once(settings):
    case = open_case()
    ClaimedCareFactory(case=case)
    run = MatchRun.objects.create(committee=case.committee, case=case, started_at=case.created_at)
    services.match_case(run.pk)
    finished = MatchRun.objects.get(pk=run.pk).finished_at
    services.match_case(run.pk)
    assert MatchRun.objects.get(pk=run.pk).finished_at == finished
    assert AuditEvent.objects.filter(action="crosscheck.match").count() == 1
