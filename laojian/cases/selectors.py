"""Reads. Every query that returns cases starts from ``cases_visible_to``: what a user may not
see is a 404, exactly like what does not exist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F, QuerySet

from laojian.cases.models import Case, CaseAssignment, TimelineEntry
from laojian.cases.workflow import OPEN_STATES, Transition, transitions_from
from laojian.core.errors import NotFoundError

if TYPE_CHECKING:
    from laojian.core.models import User


def cases_visible_to(user: User | None) -> QuerySet[Case]:
    """The one scoping function: committee staff see their committee's cases; experts the cases
    they sit on; applicants their own applications. No setting turns it off; superusers are
    scoped too.

    Each branch is a plain indexed condition, so the worklist's (committee, status, next_due)
    index serves staff, and experts and applicants cost what their few cases cost.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    if user.committee_id and user.has_perm("cases.view_committee_cases"):
        return Case.objects.filter(committee_id=user.committee_id)
    assigned = CaseAssignment.objects.filter(user=user, active=True).values("case_id")
    own = Case.objects.filter(applicant_user=user).values("pk")
    return Case.objects.filter(pk__in=assigned.union(own))


def case_get_for(user: User | None, pk: int) -> Case:
    """Fetch and authorise in one call; raises NotFoundError for missing and forbidden alike."""
    case = (
        cases_visible_to(user)
        .select_related("committee", "worker", "employer", "determination", "accepted_by")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise NotFoundError()
    return case


SORTS = {
    "due": ("next_due", "id"),
    "-due": ("-next_due", "-id"),
    "number": ("year", "seq", "id"),
    "-number": ("-year", "-seq", "-id"),
    "received": ("received_on", "id"),
    "-received": ("-received_on", "-id"),
}


def worklist(user: User, *, sort: str = "due", status: str | None = None, open_only: bool = True) -> QuerySet[Case]:
    """The cases a user works on, soonest deadline first; one query for any page size."""
    qs = cases_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    elif open_only:
        qs = qs.filter(status__in=OPEN_STATES)
    order = SORTS.get(sort, SORTS["due"])
    if order[0] == "next_due":
        order = (F("next_due").asc(nulls_last=True), "id")
    return (
        qs.select_related("worker", "employer", "committee")
        .only(
            "id", "number", "year", "seq", "case_type", "mode", "status", "received_on", "next_due",
            "conclusion_due", "target_due", "completeness_due", "delivery_due", "reappraisal_window_ends",
            "committee__id", "committee__risk_warning_days",
            "worker__id", "worker__name", "worker__id_number", "employer__id", "employer__name",
        )
        .order_by(*order)
    )


def case_timeline(case: Case) -> QuerySet[TimelineEntry]:
    return case.timeline.select_related("actor").order_by("at", "id")


def case_assignments(case: Case) -> QuerySet[CaseAssignment]:
    return case.assignments.filter(active=True).select_related("user").order_by("role", "id")


def available_transitions(user: User, case: Case) -> list[Transition]:
    """The steps this user could try from the case's current state (guards are checked on firing)."""
    return [t for t in transitions_from(case.status) if user.has_perm(t.permission)]
