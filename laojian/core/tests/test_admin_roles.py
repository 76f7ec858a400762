"""The three administrators (system, security, audit) are separate: only the security administrator
gives roles, no account holds two administrators' roles, and every change of roles is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from laojian.core import roles
from laojian.core.errors import ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db


def change_form(user) -> dict:
    return {"username": user.username, "first_name": "", "last_name": "", "email": "", "committee": user.committee_id or "",
            "display_name": user.display_name, "phone": user.phone, "is_active": "on", "is_staff": "on"}


@pytest.mark.parametrize(("first", "second"), [("admin", "security"), ("admin", "auditor"), ("security", "auditor")])
def test_two_administrators_roles_in_one_account_are_refused(first, second):
    with pytest.raises(ValidationFailed) as refused:
        roles.check_separation({first, second})
    assert refused.value.code == "roles_not_separated"


def test_an_administrator_may_also_hold_a_committee_role():
    roles.check_separation({"admin", "clerk"})


def test_only_the_security_administrator_holds_the_permission_to_give_roles():
    holders = {code for code, role in roles.ROLES.items() if "core.assign_roles" in role.permissions}
    assert holders == {"security"}


def test_the_auditor_reads_the_trail_and_neither_other_administrator_does():
    readers = {code for code, role in roles.ROLES.items() if "core.view_auditevent" in role.permissions}
    assert readers == {"auditor"}


def test_the_security_administrator_gives_a_role_and_it_is_audited(client):
    security = UserFactory(roles=["security"], is_staff=True)
    user = UserFactory(committee=CommitteeFactory())
    client.force_login(security)
    clerk = Group.objects.get(name="clerk")
    response = client.post(f"/admin/core/user/{user.pk}/change/", {**change_form(user), "groups": [clerk.pk]})
    assert response.status_code == 302
    assert list(user.groups.values_list("name", flat=True)) == ["clerk"]
    event = AuditEvent.objects.get(action="user.roles")
    assert (event.actor, event.before, event.after) == (security, {"roles": []}, {"roles": ["clerk"]})


def test_the_security_administrator_cannot_make_an_account_both_security_and_auditor(client):
    security = UserFactory(roles=["security"], is_staff=True)
    user = UserFactory(roles=["security"])
    client.force_login(security)
    groups = [Group.objects.get(name="security").pk, Group.objects.get(name="auditor").pk]
    response = client.post(f"/admin/core/user/{user.pk}/change/", {**change_form(user), "groups": groups},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "separate people" in response.content.decode()
    assert set(user.groups.values_list("name", flat=True)) == {"security"}


def test_the_system_administrator_edits_a_user_but_cannot_change_their_roles(client):
    admin = UserFactory(roles=["admin"], is_staff=True)
    user = UserFactory(roles=["clerk"], committee=CommitteeFactory())
    client.force_login(admin)
    page = client.get(f"/admin/core/user/{user.pk}/change/").content.decode()
    assert 'name="groups"' not in page
    leader = Group.objects.get(name="leader")
    response = client.post(f"/admin/core/user/{user.pk}/change/",
                           {**change_form(user), "display_name": "王科员", "groups": [leader.pk]})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.display_name == "王科员"
    assert list(user.groups.values_list("name", flat=True)) == ["clerk"]


def test_nobody_is_made_a_superuser_or_given_loose_permissions_in_the_user_form(client):
    client.force_login(UserFactory(roles=["security"], is_staff=True))
    page = client.get(f"/admin/core/user/{UserFactory().pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page
