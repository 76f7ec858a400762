"""Shared set-up for document tests: private storage and signing keys in the test's tmp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from laojian.documents import defaults

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def document_files(request, settings, tmp_path) -> Path:
    """Documents and keys under tmp_path; no signing unless a test asks for it (speed); the shipped
    templates present (a transactional test elsewhere may have flushed them)."""
    location = tmp_path / "materials"
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(location)}}}
    settings.LAOJIAN_SIGNING_KEY_DIR = tmp_path / "keys"
    settings.LAOJIAN_DOCUMENT_SIGNER = "none"
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        defaults.ensure_defaults()
    return location
