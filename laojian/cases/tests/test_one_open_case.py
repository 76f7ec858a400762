"""REL-21: one case of a type in progress per injury, checked by the workflow and held by the database, so
two submissions with different idempotency keys (or two clerks at once) cannot make two."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from laojian.cases import services, workflow
from laojian.cases.models import Case, CaseType, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.cases.tests.test_registration import register
from laojian.cases.workflow import TransitionRefused
from laojian.core.errors import ValidationFailed
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)


def test_the_same_injury_registered_twice_is_refused_with_the_first_cases_number():
    first = register()
    with pytest.raises(ValidationFailed) as refused:
        register(committee=first.committee)
    assert refused.value.code == "open_case_of_injury"
    assert first.number in refused.value.message
    assert Case.objects.count() == 1


def test_another_type_of_case_for_the_same_injury_is_registered():
    first = register()
    register(committee=first.committee, case_type=CaseType.LEAVE_CONFIRMATION)
    assert Case.objects.count() == 2


def test_a_new_case_is_registered_once_the_first_is_withdrawn():
    first = register()
    Case.objects.filter(pk=first.pk).update(status=Status.WITHDRAWN)
    register(committee=first.committee)
    assert Case.objects.exclude(status=Status.WITHDRAWN).count() == 1


def test_a_draft_for_the_same_injury_is_kept_but_cannot_be_submitted():
    first = CaseFactory(status=Status.SUBMITTED, number="聊劳鉴〔2026〕0003号")
    draft = CaseFactory(committee=first.committee, determination=first.determination, status=Status.DRAFT,
                        received_on=None)
    clerk = UserFactory(committee=first.committee, roles=["clerk"])
    with pytest.raises(TransitionRefused) as refused:
        services.transition(draft.pk, "submit", actor=clerk, today=TODAY)
    assert refused.value.code == "open_case_of_injury" and "聊劳鉴〔2026〕0003号" in refused.value.message
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_a_submit_racing_past_the_check_is_refused_by_the_database_and_leaves_the_draft(monkeypatch):
    first = CaseFactory(status=Status.SUBMITTED)
    draft = CaseFactory(committee=first.committee, determination=first.determination, status=Status.DRAFT,
                        received_on=None)
    clerk = UserFactory(committee=first.committee, roles=["clerk"])
    monkeypatch.setattr(workflow, "open_case_of_injury", lambda case: None)  # the other commit is not yet visible
    with pytest.raises(TransitionRefused) as refused:
        services.transition(draft.pk, "submit", actor=clerk, today=TODAY)
    assert refused.value.code == "open_case_of_injury"
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.number is None


def test_the_database_holds_the_rule_without_the_application():
    first = CaseFactory(status=Status.ACCEPTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseFactory(committee=first.committee, determination=first.determination, status=Status.SUBMITTED)


def test_cases_concluded_closed_or_in_draft_do_not_count():
    first = CaseFactory(status=Status.ARCHIVED)
    for status in (Status.CONCLUDED, Status.DELIVERED, Status.REJECTED, Status.WITHDRAWN, Status.TERMINATED,
                   Status.DRAFT, Status.DRAFT):
        CaseFactory(committee=first.committee, determination=first.determination, status=status)
    CaseFactory(committee=first.committee, determination=first.determination, status=Status.SUBMITTED)
    assert Case.objects.filter(determination=first.determination).count() == 9
