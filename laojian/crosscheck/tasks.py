"""Background tasks of cross-checks. A task takes ids, loads the rows and calls the service."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from laojian.core.tasks import retried
from laojian.crosscheck import partners


@task()
@retried()
def import_run(run_id: int) -> dict[str, Any]:
    """Import a queued partner file (from its checkpoint on); safe to run twice: a run that is not
    queued any more (done, or taken by another worker) is left alone."""
    run = partners.run_import(run_id)
    return {"run": run.pk, "state": run.state, "rows_done": run.rows_done, "rows_added": run.rows_added,
            "rows_duplicate": run.rows_duplicate, "rows_rejected": run.rows_rejected, "rows_flagged": run.rows_flagged}


@task()
@retried()
def match_case(run_id: int) -> dict[str, Any]:
    """Do a check of one case asked for on its page; safe to run twice (a finished run is left alone)."""
    from laojian.crosscheck import services

    run = services.match_case(run_id)
    return {"run": run.pk, "case": run.case_id, "findings": run.flags_found, "new_flags": run.flags_raised,
            "skipped": sorted(run.skipped or {}), "error": run.error}
