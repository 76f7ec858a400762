"""Roles are groups with exactly the permissions declared in roles.py."""

import pytest
from django.contrib.auth.models import Group

from laojian.core.roles import ROLES, sync_groups, user_role_codes
from laojian.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def perms_of(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_every_role_exists_as_a_group_with_its_declared_permissions():
    for role in ROLES.values():
        assert perms_of(Group.objects.get(name=role.code)) == set(role.permissions)


def test_sync_removes_a_permission_added_by_hand():
    from django.contrib.auth.models import Permission

    clerk = Group.objects.get(name="clerk")
    clerk.permissions.add(Permission.objects.get(codename="conclude_case"))
    sync_groups()
    assert "cases.conclude_case" not in perms_of(clerk)


def test_a_clerk_cannot_approve_conclusions_and_a_leader_cannot_accept():
    clerk = UserFactory(roles=["clerk"])
    leader = UserFactory(roles=["leader"])
    assert clerk.has_perm("cases.accept_case") and not clerk.has_perm("cases.conclude_case")
    assert leader.has_perm("cases.conclude_case") and not leader.has_perm("cases.accept_case")


def test_user_role_codes():
    user = UserFactory(roles=["clerk", "archivist"])
    assert user_role_codes(user) == {"clerk", "archivist"}


def test_the_auditor_changes_nothing():
    auditor = ROLES["auditor"]
    assert all(p.split(".")[1].startswith("view") for p in auditor.permissions)
