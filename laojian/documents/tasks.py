"""Background tasks of documents. A task takes ids, loads the rows and calls the service."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django_tasks import task

from laojian.cases.models import Case
from laojian.core.tasks import retried
from laojian.documents import archive, listeners, services
from laojian.documents.models import Document, Kind

log = logging.getLogger(__name__)


@task()
@retried()
def issue_for_step(case_id: int, step: str, actor_id: int, note: str = "") -> int | None:
    """Issue the document a workflow step calls for; safe to run twice (the second run finds it)."""
    case = Case.objects.get(pk=case_id)
    kind = listeners.STEP_DOCUMENTS[step]
    if kind == Kind.CONCLUSION and case.case_type in listeners.PERIOD_TYPES:
        kind = Kind.PERIOD
    if kind in (Kind.ACCEPTANCE, Kind.CONCLUSION, Kind.PERIOD) and Document.objects.filter(case=case, kind=kind).exists():
        return None
    actor = get_user_model().objects.get(pk=actor_id)
    document = services.document_issue(case_id, kind, actor=actor, note=note)
    log.info("issued %s %s for case %s", kind, document.number, case_id)
    return document.pk


@task()
@retried()
def pack_archive(case_id: int, actor_id: int) -> int:
    """Build the archived case's package; safe to run twice (the second run returns the first)."""
    actor = get_user_model().objects.get(pk=actor_id)
    return archive.package_build(case_id, actor=actor).pk
