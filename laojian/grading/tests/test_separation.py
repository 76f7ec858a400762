"""Separation of duties on one case, from the grading side: whoever accepted or reviewed a case gives
no opinion on it, and neither they nor any panel member approves its conclusion."""

from __future__ import annotations

import pytest
from django.utils import translation

from laojian.cases import services as case_services
from laojian.cases.models import Case, CaseAssignment, Status
from laojian.cases.workflow import TransitionRefused
from laojian.core.errors import PermissionDeniedError
from laojian.core.tests.factories import UserFactory
from laojian.grading import services
from laojian.grading.models import Conclusion, Opinion
from laojian.grading.tests.factories import leader, opinion_input, panel_case, signed_opinion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def staff_expert(case, *roles):
    """A committee member who also sits on the case's panel (a small committee's doctor on staff)."""
    user = UserFactory(committee=case.committee, roles=["expert", *roles])
    CaseAssignment.objects.create(case=case, user=user, role=CaseAssignment.Role.EXPERT, active=True)
    return user


def agreed_case():
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert)
    case.refresh_from_db()
    assert Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT).exists()
    return case


# NO OPINION FROM THE ACCEPTOR OR THE REVIEWER -----------------------------------------------------

def test_the_clerk_who_accepted_the_case_cannot_give_an_opinion_on_it():
    case, _experts = panel_case()
    acceptor = staff_expert(case, "clerk")
    Case.objects.filter(pk=case.pk).update(accepted_by=acceptor)

    with pytest.raises(PermissionDeniedError) as refused:
        services.opinion_start(case.pk, actor=acceptor)

    assert refused.value.message == "You accepted this case, so you cannot give an opinion on it."
    assert not Opinion.objects.filter(case=case, author=acceptor).exists()


def test_the_reviewer_who_did_the_preliminary_review_cannot_give_an_opinion_on_it():
    case, _experts = panel_case()
    reviewer = staff_expert(case, "reviewer")
    Case.objects.filter(pk=case.pk).update(reviewed_by=reviewer)

    with pytest.raises(PermissionDeniedError) as refused:
        services.opinion_start(case.pk, actor=reviewer)

    assert refused.value.message == "You did this case's preliminary review, so you cannot give an opinion on it."
    assert not Opinion.objects.filter(case=case, author=reviewer).exists()


def test_a_draft_of_the_reviewer_cannot_be_saved_or_signed():
    case, _experts = panel_case()
    reviewer = staff_expert(case, "reviewer")
    opinion = services.opinion_start(case.pk, actor=reviewer)
    Case.objects.filter(pk=case.pk).update(reviewed_by=reviewer)

    with pytest.raises(PermissionDeniedError):
        services.opinion_save(opinion.pk, opinion_input(), actor=reviewer)
    with pytest.raises(PermissionDeniedError):
        services.opinion_sign(opinion.pk, actor=reviewer, password="correct horse battery staple")
    opinion.refresh_from_db()
    assert opinion.state == Opinion.State.DRAFT


def test_a_second_opinion_expert_who_reviewed_the_case_cannot_give_a_second_opinion():
    case, _experts = panel_case(status=Status.DIFFICULT)
    reviewer = UserFactory(committee=case.committee, roles=["expert", "reviewer"])
    case_services.assignment_add(case, reviewer, CaseAssignment.Role.SECOND_EXPERT, actor=leader(case))
    Case.objects.filter(pk=case.pk).update(reviewed_by=reviewer)

    with pytest.raises(PermissionDeniedError):
        services.opinion_start(case.pk, actor=reviewer)


# NO APPROVAL BY THE ACCEPTOR, THE REVIEWER OR A PANEL MEMBER --------------------------------------

def test_the_leader_who_accepted_the_case_cannot_approve_its_conclusion():
    case = agreed_case()
    boss = leader(case)
    Case.objects.filter(pk=case.pk).update(accepted_by=boss)

    with pytest.raises(TransitionRefused) as refused:
        services.conclusion_approve(case.pk, actor=boss)

    assert refused.value.code == "same_person_accept_conclude"
    assert Conclusion.objects.get(case=case).state == Conclusion.State.DRAFT


def test_the_leader_who_reviewed_the_case_cannot_approve_its_conclusion():
    case = agreed_case()
    boss = leader(case)
    Case.objects.filter(pk=case.pk).update(reviewed_by=boss)

    with pytest.raises(TransitionRefused) as refused:
        services.conclusion_approve(case.pk, actor=boss)

    assert refused.value.code == "same_person_review_conclude"
    assert Conclusion.objects.get(case=case).state == Conclusion.State.DRAFT


def test_a_leader_seated_on_the_second_opinion_panel_cannot_approve_the_conclusion():
    case = agreed_case()
    boss = leader(case)
    case_services.assignment_add(case, boss, CaseAssignment.Role.SECOND_EXPERT, actor=leader(case))

    with pytest.raises(TransitionRefused) as refused:
        services.conclusion_approve(case.pk, actor=boss)

    assert refused.value.code == "panel_member_conclude"


def test_one_person_who_accepted_and_reviewed_a_case_gives_no_opinion_on_it_and_does_not_approve_it():
    case, experts = panel_case()
    everyone = staff_expert(case, "clerk", "reviewer", "leader")
    Case.objects.filter(pk=case.pk).update(accepted_by=everyone, reviewed_by=everyone)

    with pytest.raises(PermissionDeniedError):
        services.opinion_start(case.pk, actor=everyone)
    case_services.assignment_end(case.pk, [everyone.pk], CaseAssignment.Role.EXPERT, actor=leader(case))
    for expert in experts:
        signed_opinion(case, expert)
    with pytest.raises(TransitionRefused) as refused:
        services.conclusion_approve(case.pk, actor=everyone)

    case.refresh_from_db()
    assert refused.value.code == "same_person_accept_conclude"
    assert not Opinion.objects.filter(case=case, author=everyone).exists()
    assert case.status == Status.EXAMINED
