"""One scoping function decides which cases a user sees; everything else is a 404."""

import pytest

from laojian.cases import selectors
from laojian.cases.models import CaseAssignment
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import NotFoundError
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_committee_staff_see_their_committee_cases_only():
    ours, theirs = CommitteeFactory(), CommitteeFactory()
    mine = CaseFactory(committee=ours)
    CaseFactory(committee=theirs)
    clerk = UserFactory(committee=ours, roles=["clerk"])
    assert list(selectors.cases_visible_to(clerk)) == [mine]


def test_a_user_of_another_committee_gets_not_found():
    case = CaseFactory()
    outsider = UserFactory(committee=CommitteeFactory(), roles=["clerk", "leader"])
    with pytest.raises(NotFoundError):
        selectors.case_get_for(outsider, case.pk)


def test_an_expert_not_on_the_panel_gets_not_found():
    case = CaseFactory()
    expert = UserFactory(committee=case.committee, roles=["expert"])
    with pytest.raises(NotFoundError):
        selectors.case_get_for(expert, case.pk)


def test_an_expert_on_the_panel_sees_the_case():
    case = CaseFactory()
    expert = UserFactory(committee=case.committee, roles=["expert"])
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT)
    assert selectors.case_get_for(expert, case.pk) == case


def test_a_withdrawn_panel_assignment_hides_the_case_again():
    case = CaseFactory()
    expert = UserFactory(committee=case.committee, roles=["expert"])
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT, active=False)
    with pytest.raises(NotFoundError):
        selectors.case_get_for(expert, case.pk)


def test_an_applicant_sees_only_their_own_applications():
    committee = CommitteeFactory()
    applicant = UserFactory(committee=committee, roles=["applicant"])
    own = CaseFactory(committee=committee, applicant_user=applicant)
    CaseFactory(committee=committee)
    assert list(selectors.cases_visible_to(applicant)) == [own]


def test_a_superuser_is_scoped_like_everyone_else():
    case = CaseFactory()
    root = UserFactory(committee=CommitteeFactory(), is_superuser=True)
    with pytest.raises(NotFoundError):
        selectors.case_get_for(root, case.pk)


def test_an_inactive_user_sees_nothing():
    case = CaseFactory()
    clerk = UserFactory(committee=case.committee, roles=["clerk"], is_active=False)
    assert selectors.cases_visible_to(clerk).count() == 0


def test_anonymous_sees_nothing():
    from django.contrib.auth.models import AnonymousUser

    CaseFactory()
    assert selectors.cases_visible_to(AnonymousUser()).count() == 0
