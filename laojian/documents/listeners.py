"""Documents the workflow's steps issue by themselves: after a step commits, a background task
renders the step's document, so a slow or failing rendering never holds up or undoes the step."""

from __future__ import annotations

from laojian.cases.models import CaseType
from laojian.cases.workflow import TransitionEvent
from laojian.documents.models import Kind

PERIOD_TYPES = frozenset({CaseType.LEAVE_CONFIRMATION, CaseType.LEAVE_EXTENSION, CaseType.REHAB_CONFIRMATION,
                          CaseType.REHAB_EXTENSION})
STEP_DOCUMENTS: dict[str, str] = {
    "accept": Kind.ACCEPTANCE,
    "request_correction": Kind.CORRECTION,
    "reject": Kind.REJECTION,
    "conclude": Kind.CONCLUSION,  # or the period confirmation, by case type (in the task)
    "terminate": Kind.TERMINATION,
}


def issue_after_step(event: TransitionEvent) -> None:
    if event.name in STEP_DOCUMENTS and event.actor_id and not event.backdated:
        from laojian.documents.tasks import issue_for_step

        issue_for_step.enqueue(event.case_id, event.name, event.actor_id, event.note)


def pack_after_archive(event: TransitionEvent) -> None:
    """Closing a case freezes its file: the archive package is built in the background."""
    if event.name == "archive" and event.actor_id and not event.backdated:
        from laojian.documents.tasks import pack_archive

        pack_archive.enqueue(event.case_id, event.actor_id)
