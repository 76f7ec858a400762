"""Sensitivity labels on cases, enforced on top of roles: a labelled case is seen by the roles the
label allows and by the people who work on it; to everyone else it does not exist (404)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from laojian.cases import selectors, services
from laojian.cases.models import CaseAssignment, Sensitivity
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def labelled(sensitivity: str):
    case = CaseFactory()
    case.sensitivity = sensitivity
    case.save(update_fields=["sensitivity"])
    return case


def staff(case, role: str):
    return UserFactory(committee=case.committee, roles=[role])


def sees(user, case) -> bool:
    return selectors.cases_visible_to(user).filter(pk=case.pk).exists()


@pytest.mark.parametrize("role", ["clerk", "reviewer", "leader", "liaison", "archivist", "auditor"])
def test_a_normal_case_is_seen_by_all_the_committees_staff(role):
    case = labelled(Sensitivity.NORMAL)
    assert sees(staff(case, role), case)


@pytest.mark.parametrize(("role", "expected"), [("clerk", False), ("reviewer", True), ("leader", True),
                                                ("liaison", True), ("archivist", True), ("auditor", True)])
def test_a_sensitive_case_is_seen_by_the_roles_the_label_allows(role, expected):
    case = labelled(Sensitivity.SENSITIVE)
    assert sees(staff(case, role), case) is expected


@pytest.mark.parametrize(("role", "expected"), [("clerk", False), ("reviewer", False), ("leader", True),
                                                ("liaison", False), ("archivist", True), ("auditor", True)])
def test_a_restricted_case_is_seen_by_leaders_archivists_and_auditors_only(role, expected):
    case = labelled(Sensitivity.RESTRICTED)
    assert sees(staff(case, role), case) is expected


def test_the_clerk_working_on_a_restricted_case_still_sees_it():
    case = labelled(Sensitivity.RESTRICTED)
    clerk = staff(case, "clerk")
    CaseAssignment.objects.create(case=case, user=clerk, role=CaseAssignment.Role.CLERK)
    assert sees(clerk, case)


def test_an_assigned_expert_sees_a_restricted_case_and_another_expert_does_not():
    case = labelled(Sensitivity.RESTRICTED)
    expert, other = staff(case, "expert"), staff(case, "expert")
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT)
    assert sees(expert, case) and not sees(other, case)


def test_the_system_administrator_never_sees_a_labelled_case():
    case = labelled(Sensitivity.SENSITIVE)
    assert not sees(staff(case, "admin"), case)


def test_a_labelled_case_is_a_404_on_its_page_for_a_clerk_not_working_on_it(client):
    case = labelled(Sensitivity.SENSITIVE)
    client.force_login(staff(case, "clerk"))
    hidden = client.get(reverse("cases:detail", args=[case.pk]))
    missing = client.get(reverse("cases:detail", args=[case.pk + 10_000]))
    assert hidden.status_code == missing.status_code == 404


def test_a_labelled_case_is_left_off_the_clerks_worklist():
    normal, sensitive = labelled(Sensitivity.NORMAL), labelled(Sensitivity.SENSITIVE)
    clerk = UserFactory(committee=normal.committee, roles=["clerk"])
    sensitive.committee = normal.committee
    sensitive.save(update_fields=["committee"])
    assert set(selectors.cases_visible_to(clerk).values_list("pk", flat=True)) == {normal.pk}


def test_the_leader_labels_a_case_with_a_reason_and_it_is_audited():
    case = labelled(Sensitivity.NORMAL)
    leader = staff(case, "leader")
    services.case_label(case.pk, Sensitivity.RESTRICTED, actor=leader, reason="申请人系本委员会工作人员亲属")
    case.refresh_from_db()
    assert case.sensitivity == Sensitivity.RESTRICTED
    event = AuditEvent.objects.get(action="case.sensitivity")
    assert (event.before, event.after) == ({"sensitivity": "normal"},
                                           {"sensitivity": "restricted", "reason": "申请人系本委员会工作人员亲属"})


def test_a_label_without_a_reason_is_refused_and_nothing_changes():
    case = labelled(Sensitivity.NORMAL)
    with pytest.raises(ValidationFailed):
        services.case_label(case.pk, Sensitivity.SENSITIVE, actor=staff(case, "leader"), reason="  ")
    case.refresh_from_db()
    assert case.sensitivity == Sensitivity.NORMAL


def test_only_a_leader_may_label_a_case():
    case = labelled(Sensitivity.NORMAL)
    with pytest.raises(PermissionDeniedError):
        services.case_label(case.pk, Sensitivity.SENSITIVE, actor=staff(case, "reviewer"), reason="x")


def test_another_committees_leader_cannot_label_the_case():
    case = labelled(Sensitivity.NORMAL)
    with pytest.raises(NotFoundError):
        services.case_label(case.pk, Sensitivity.SENSITIVE, actor=UserFactory(roles=["leader"]), reason="x")


def test_the_leader_labels_from_the_case_page(client):
    case = labelled(Sensitivity.NORMAL)
    client.force_login(staff(case, "leader"))
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'id="sensitivity"' in page
    response = client.post(reverse("cases:sensitivity", args=[case.pk]),
                           {"sensitivity": "sensitive", "reason": "涉及未成年人"})
    assert response.status_code == 303
    case.refresh_from_db()
    assert case.sensitivity == Sensitivity.SENSITIVE
    assert 'id="sensitivity-label"' in client.get(reverse("cases:detail", args=[case.pk])).content.decode()


def test_a_reviewer_gets_no_label_form_and_a_forbidden_post(client):
    case = labelled(Sensitivity.NORMAL)
    client.force_login(staff(case, "reviewer"))
    assert 'id="sensitivity"' not in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    response = client.post(reverse("cases:sensitivity", args=[case.pk]), {"sensitivity": "sensitive", "reason": "x"})
    assert response.status_code == 403
