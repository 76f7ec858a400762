"""Registering an application: bad input gets a clear message and saves nothing."""

import datetime as dt

import pytest

from laojian.cases import services
from laojian.cases.models import Case, Employer, InjuryDetermination, Status, Worker
from laojian.core.errors import ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_credit_code, build_resident_id

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)
GOOD_ID = build_resident_id("371502", dt.date(1980, 5, 6), 13)
GOOD_CODE = build_credit_code("91371500MA3C00001")


def register(**overrides):
    committee = overrides.pop("committee", None) or CommitteeFactory(case_number_prefix="聊劳鉴")
    clerk = overrides.pop("actor", None) or UserFactory(committee=committee, roles=["clerk"])
    worker = services.WorkerInput(id_number=overrides.pop("id_number", GOOD_ID), name="王建国")
    employer = services.EmployerInput(credit_code=overrides.pop("credit_code", GOOD_CODE), name="聊城某机械有限公司")
    determination = services.DeterminationInput(
        number=overrides.pop("determination_number", "聊人社工伤认字〔2026〕00123号"),
        injury_date=overrides.pop("injury_date", dt.date(2026, 3, 2)),
        determination_date=overrides.pop("determination_date", dt.date(2026, 5, 6)),
        injured_parts="右手", diagnosis="右手示指末节离断伤",
    )
    options = {"case_type": "initial", "applicant_kind": "worker", "mode": "clinic", "today": TODAY} | overrides
    return services.case_register(
        actor=clerk, committee=committee, worker=worker, employer=employer, determination=determination, **options
    )


def assert_nothing_saved():
    assert Case.objects.count() == 0
    assert Worker.objects.count() == 0
    assert Employer.objects.count() == 0
    assert InjuryDetermination.objects.count() == 0
    assert AuditEvent.objects.filter(action="case.register").count() == 0


def test_a_counter_application_is_registered_submitted_and_numbered():
    case = register()
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    assert case.number == "聊劳鉴〔2026〕0001号"
    assert case.received_on == TODAY
    assert case.worker.birth_date == dt.date(1980, 5, 6)
    assert case.worker.sex == "M"
    assert case.completeness_due == dt.date(2026, 11, 23)
    assert AuditEvent.objects.filter(action="case.register", object_id=str(case.pk)).count() == 1


def test_wrong_id_check_digit_saves_nothing():
    bad = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
    with pytest.raises(ValidationFailed) as exc:
        register(id_number=bad)
    assert "id_number" in exc.value.extra["fields"]
    assert_nothing_saved()


def test_impossible_birth_date_saves_nothing():
    with pytest.raises(ValidationFailed) as exc:
        register(id_number="371502198002300011")
    assert "id_number" in exc.value.extra["fields"]
    assert_nothing_saved()


def test_malformed_credit_code_saves_nothing():
    with pytest.raises(ValidationFailed) as exc:
        register(credit_code="91371500MA3C0000IX")
    assert "credit_code" in exc.value.extra["fields"]
    assert_nothing_saved()


def test_injury_date_in_the_future_saves_nothing():
    with pytest.raises(ValidationFailed) as exc:
        register(injury_date=dt.date(2026, 12, 1), determination_date=dt.date(2026, 12, 2))
    assert "injury_date" in exc.value.extra["fields"]
    assert_nothing_saved()


def test_injury_date_before_birth_saves_nothing():
    with pytest.raises(ValidationFailed) as exc:
        register(injury_date=dt.date(1979, 1, 1))
    assert "injury_date" in exc.value.extra["fields"]
    assert_nothing_saved()


def test_duplicate_case_number_saves_nothing_new():
    committee = CommitteeFactory(case_number_prefix="聊劳鉴")
    register(committee=committee, number="聊劳鉴〔2025〕0099号")
    with pytest.raises(ValidationFailed) as exc:
        register(committee=committee, number="聊劳鉴〔2025〕0099号",
                 id_number=build_resident_id("371502", dt.date(1985, 1, 1), 21),
                 determination_number="聊人社工伤认字〔2026〕00999号")
    assert "number" in exc.value.extra["fields"]
    assert Case.objects.count() == 1
    assert Worker.objects.count() == 1


def test_unknown_case_type_saves_nothing():
    with pytest.raises(ValidationFailed):
        register(case_type="everything")
    assert_nothing_saved()


def test_clerk_of_another_committee_cannot_register_here():
    from laojian.core.errors import PermissionDeniedError

    committee = CommitteeFactory()
    outsider = UserFactory(committee=CommitteeFactory(), roles=["clerk"])
    with pytest.raises(PermissionDeniedError):
        register(committee=committee, actor=outsider)
    assert_nothing_saved()
