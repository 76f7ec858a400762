"""Fixtures for the outbox tests."""

from __future__ import annotations

import pytest

from laojian.core.tests.factories import CommitteeFactory

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def immediate_tasks(settings):
    """Run enqueued tasks in the process, at enqueue time (after the commit, as in production)."""
    settings.TASKS = IMMEDIATE


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE


@pytest.fixture
def outbox_backends(settings):
    settings.LAOJIAN_SMS_BACKEND = "outbox"
    settings.LAOJIAN_EMAIL_BACKEND = "outbox"


@pytest.fixture
def committee():
    return CommitteeFactory()
