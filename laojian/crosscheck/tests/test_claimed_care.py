"""Claimed care: who may enter it and when, what is refused, what is recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases import clocks
from laojian.cases.models import Status
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.crosscheck import services
from laojian.crosscheck.models import ClaimedCare
from laojian.crosscheck.services import ClaimedCareInput, CrosscheckRefused
from laojian.crosscheck.tests.factories import HOSPITAL_A, ClaimedCareFactory, D, open_case, staff

pytestmark = pytest.mark.django_db


def stay(**values) -> ClaimedCareInput:
    data = {"kind": "stay", "hospital_name": HOSPITAL_A, "started_on": D(2026, 3, 2), "ended_on": D(2026, 3, 20),
            "diagnosis": "右手示指末节离断伤", "icd10": "s62.6", "record_number": "ZY1"}
    data.update(values)
    return ClaimedCareInput(**data)


def applicant_case(status: str = Status.DRAFT):
    user = UserFactory(committee=None, roles=["applicant"])
    return open_case(status=status, applicant_user=user), user


def test_the_clerk_adds_claimed_care_and_it_is_audited():
    case = open_case()
    clerk = staff(case, "clerk")
    care = services.claimed_care_add(case.pk, stay(), actor=clerk)
    care.refresh_from_db()
    assert (care.icd10, care.entered_from, care.entered_by) == ("S62.6", ClaimedCare.EnteredFrom.CLERK, clerk)
    event = AuditEvent.objects.get(action="crosscheck.claimed_care_add")
    assert (event.actor, event.after["case_id"], event.after["hospital_name"]) == (clerk, case.pk, HOSPITAL_A)
    assert case.timeline.filter(action="claimed_care_add").count() == 1


@pytest.mark.parametrize(("values", "field"), [
    ({"hospital_name": "  "}, "hospital_name"),
    ({"started_on": None}, "started_on"),
    ({"started_on": clocks.today() + dt.timedelta(days=1), "ended_on": None}, "started_on"),
    ({"ended_on": clocks.today() + dt.timedelta(days=1)}, "ended_on"),
    ({"ended_on": D(2026, 3, 1)}, "ended_on"),
    ({"icd10": "右手骨折"}, "icd10"),
    ({"icd10": "S6"}, "icd10"),
    ({"kind": "surgery"}, "kind"),
    ({"started_on": D(1950, 1, 1), "ended_on": None}, "started_on"),
], ids=["no_hospital", "no_date", "future_admission", "future_discharge", "discharge_before_admission",
        "not_icd10", "short_icd10", "unknown_kind", "before_birth"])
def test_invalid_claimed_care_is_refused_on_its_field(values, field):
    case = open_case()
    with pytest.raises(ValidationFailed) as exc:
        services.claimed_care_add(case.pk, stay(**values), actor=staff(case, "liaison"))
    assert list(exc.value.extra["fields"]) == [field]
    assert not ClaimedCare.objects.exists()


def test_an_icd10_code_may_be_left_out():
    case = open_case()
    care = services.claimed_care_add(case.pk, stay(icd10="", diagnosis=""), actor=staff(case, "clerk"))
    assert care.icd10 == ""


def test_a_visit_keeps_no_discharge_date():
    case = open_case()
    care = services.claimed_care_add(case.pk, stay(kind="outpatient"), actor=staff(case, "clerk"))
    assert care.ended_on is None


def test_the_applicant_enters_care_on_their_own_draft():
    case, user = applicant_case()
    care = services.claimed_care_add(case.pk, stay(), actor=user)
    assert care.entered_from == ClaimedCare.EnteredFrom.APPLICANT


def test_the_applicant_enters_care_while_the_application_is_returned_for_correction():
    case, user = applicant_case(Status.CORRECTION_REQUESTED)
    assert services.claimed_care_add(case.pk, stay(), actor=user).entered_from == "applicant"


def test_the_applicant_cannot_change_care_once_the_case_is_accepted():
    case, user = applicant_case(Status.ACCEPTED)
    with pytest.raises(CrosscheckRefused):
        services.claimed_care_add(case.pk, stay(), actor=user)


def test_another_applicant_gets_not_found():
    case, _user = applicant_case()
    stranger = UserFactory(committee=None, roles=["applicant"])
    with pytest.raises(NotFoundError):
        services.claimed_care_add(case.pk, stay(), actor=stranger)


def test_the_applicant_cannot_change_what_the_clerk_entered():
    case, user = applicant_case()
    care = ClaimedCareFactory(case=case)
    with pytest.raises(PermissionDeniedError):
        services.claimed_care_update(care.pk, stay(hospital_name="别的医院"), actor=user)
    with pytest.raises(PermissionDeniedError):
        services.claimed_care_remove(care.pk, actor=user)


def test_a_reviewer_cannot_enter_claimed_care():
    case = open_case()
    with pytest.raises(PermissionDeniedError):
        services.claimed_care_add(case.pk, stay(), actor=staff(case, "reviewer"))


def test_staff_of_another_committee_get_not_found():
    case = open_case()
    outsider = UserFactory(roles=["clerk"])
    with pytest.raises(NotFoundError):
        services.claimed_care_add(case.pk, stay(), actor=outsider)


def test_claimed_care_is_frozen_once_the_case_is_concluded():
    case = open_case(status=Status.CONCLUDED)
    with pytest.raises(CrosscheckRefused):
        services.claimed_care_add(case.pk, stay(), actor=staff(case, "clerk"))


def test_a_correction_is_audited_with_what_changed():
    case = open_case()
    clerk = staff(case, "clerk")
    care = services.claimed_care_add(case.pk, stay(), actor=clerk)
    services.claimed_care_update(care.pk, stay(ended_on=D(2026, 3, 18)), actor=clerk)
    care.refresh_from_db()
    assert care.ended_on == D(2026, 3, 18)
    event = AuditEvent.objects.get(action="crosscheck.claimed_care_change")
    assert (event.before, event.after) == ({"ended_on": "2026-03-20"}, {"ended_on": "2026-03-18"})


def test_removing_an_entry_is_audited():
    case = open_case()
    clerk = staff(case, "clerk")
    care = services.claimed_care_add(case.pk, stay(), actor=clerk)
    services.claimed_care_remove(care.pk, actor=clerk)
    assert not ClaimedCare.objects.exists()
    event = AuditEvent.objects.get(action="crosscheck.claimed_care_remove")
    assert (event.object_id, event.before["record_number"]) == (str(care.pk), "ZY1")


def test_a_correction_filled_in_against_an_older_version_is_refused_and_the_newer_one_stays():
    case = open_case()
    clerk, liaison = staff(case, "clerk"), staff(case, "liaison")
    care = services.claimed_care_add(case.pk, stay(), actor=clerk)
    services.claimed_care_update(care.pk, stay(ended_on=D(2026, 3, 18)), actor=liaison, expected_version=1)
    with pytest.raises(ConflictError) as refused:
        services.claimed_care_update(care.pk, stay(record_number="ZY9"), actor=clerk, expected_version=1)
    assert refused.value.code == "stale_version"
    care.refresh_from_db()
    assert (care.ended_on, care.record_number, care.version) == (D(2026, 3, 18), "ZY1", 2)
