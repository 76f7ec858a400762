"""Shared set-up for the API tests: a push source with its token, partner data under tmp_path, and the
project's WSGI application called in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from laojian.core.tests.factories import CommitteeFactory
from laojian.crosscheck import partners
from laojian.crosscheck.models import Source


@pytest.fixture(autouse=True)
def api_data_dir(settings, tmp_path) -> Path:
    """Parquet chunks of pushed records go to the test's own folder."""
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def source() -> Source:
    return Source.objects.create(committee=CommitteeFactory(), kind="settlement", name="市医保局实时结算")


@pytest.fixture
def token(source) -> str:
    return partners.source_token_new(source, actor=None)


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """The WSGI application, as a server runs it, inside the test's transaction.

    Like Django's test client, keep the end of each request from closing the database connection
    (it would end the transaction the test runs in)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
