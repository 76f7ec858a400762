"""Shared set-up for cross-check tests: partner data (Parquet) and documents under tmp_path,
messages in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def crosscheck_data_dir(settings, tmp_path) -> Path:
    """Parquet chunks of partner records go to the test's own folder."""
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages in English, in the services and in the pages (the default language is Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def document_files(settings, tmp_path) -> Path:
    """Documents (the cross-check letter) stored under tmp_path, unsigned; the shipped templates present."""
    from laojian.documents import defaults

    location = tmp_path / "materials"
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(location)}}}
    settings.LAOJIAN_SIGNING_KEY_DIR = tmp_path / "keys"
    settings.LAOJIAN_DOCUMENT_SIGNER = "none"
    defaults.ensure_defaults()
    return location
