"""Shared set-up for the review tests: services' messages in English (the msgids), and documents
(the minutes issued when a discussion closes) stored under the test's tmp folder, unsigned."""

from __future__ import annotations

import pytest
from django.utils import translation

from laojian.documents import defaults


@pytest.fixture(autouse=True)
def _english_messages():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def document_files(request, settings, tmp_path):
    """Like the documents tests: private storage in tmp_path, no signing, the shipped templates present."""
    location = tmp_path / "materials"
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(location)}}}
    settings.LAOJIAN_SIGNING_KEY_DIR = tmp_path / "keys"
    settings.LAOJIAN_DOCUMENT_SIGNER = "none"
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        defaults.ensure_defaults()
    return location


@pytest.fixture
def fast_passwords(settings):
    """A cheap hasher: a discussion needs a dozen users and signatures, each a deliberately slow hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
