"""Reads. Every query that returns cases starts from ``cases_visible_to``: what a user may not
see is a 404, exactly like what does not exist."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases.models import (
    Case,
    CaseAssignment,
    Material,
    MaterialCheck,
    MaterialStatus,
    MaterialType,
    Sensitivity,
    TimelineEntry,
)
from laojian.cases.workflow import OPEN_STATES, Transition, transitions_from
from laojian.core.errors import NotFoundError

if TYPE_CHECKING:
    from laojian.core.models import User

# Object-level denials (SEC-27): a case asked for that is outside the user's scope answers 404 like a
# missing one, and is logged here, the one scoping place, by ids only (no names, no ID numbers).
access_log = logging.getLogger("laojian.access")


def cases_visible_to(user: User | None) -> QuerySet[Case]:
    """The one scoping function: committee staff see their committee's cases; experts the cases
    they sit on; applicants their own applications. No setting turns it off; superusers are
    scoped too.

    Each branch is a plain indexed condition, so the worklist's (committee, status, next_due)
    index serves staff, and experts and applicants cost what their few cases cost.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    assigned = CaseAssignment.objects.filter(user=user, active=True).values("case_id")
    if user.committee_id and user.has_perm("cases.view_committee_cases"):
        staff = Case.objects.filter(committee_id=user.committee_id)
        if user.has_perm("cases.view_restricted_cases"):
            return staff
        # Sensitivity labels on top of the role: a labelled case the role may not see is visible to
        # those who work on it, and a 404 to everyone else.
        seen = [Sensitivity.NORMAL] + ([Sensitivity.SENSITIVE] if user.has_perm("cases.view_sensitive_cases") else [])
        return staff.filter(Q(sensitivity__in=seen) | Q(pk__in=assigned))
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
        _log_not_found(user, pk)
        raise NotFoundError()
    return case


def _log_not_found(user: User | None, pk: int) -> None:
    """Log a case lookup that found nothing: "denied" when the case exists outside the user's scope."""
    try:
        exists = Case.objects.filter(pk=pk).exists()
    except (TypeError, ValueError):
        exists = False
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    access_log.info("case access %s: user %s case %s", "denied" if exists else "missing", user_id, pk)


def case_for_update(user: User | None, pk: int, *, related: tuple[str, ...] = ("committee",)) -> Case:
    """``case_get_for`` inside a writer's transaction: the row is locked on PostgreSQL (SQLite
    serialises writers with BEGIN IMMEDIATE); missing and forbidden alike raise NotFoundError."""
    qs = cases_visible_to(user).select_related(*related)
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",), no_key=True)
    case = qs.filter(pk=pk).first()
    if case is None:
        _log_not_found(user, pk)
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
            *clocks.CLOCK_FIELDS.values(),  # the page names which clock is next: all must be loaded
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
    return [t for t in transitions_from(case.status) if user.has_perm(t.permission) and not t.elsewhere]


# MATERIALS ----------------------------------------------------------------------------------------


def checklist_for(case: Case) -> list[MaterialType]:
    """The checklist of a case's type: the defaults, with the committee's own rows replacing
    defaults of the same code, dropping inactive ones and adding new ones; in checklist order."""
    rows = MaterialType.objects.filter(case_type=case.case_type).filter(
        Q(committee__isnull=True) | Q(committee_id=case.committee_id)
    )
    by_code: dict[str, MaterialType] = {}
    for row in rows.order_by(F("committee_id").asc(nulls_first=True), "id"):
        by_code[row.code] = row  # the committee's row comes last and wins
    return sorted((row for row in by_code.values() if row.active), key=lambda row: (row.order, row.id))


@dataclass
class ChecklistItem:
    """One checklist line on the case page: the item, its files, the clerk's latest finding."""

    material_type: MaterialType
    materials: list[Material] = field(default_factory=list)
    check: MaterialCheck | None = None

    @property
    def current(self) -> list[Material]:
        return [m for m in self.materials if not m.superseded]

    @property
    def outstanding(self) -> str:
        """``missing`` or ``unreadable`` when the item belongs in a correction notice, else ""."""
        if self.check is not None:
            return self.check.status if self.check.status != MaterialStatus.PRESENT else ""
        return MaterialStatus.MISSING if self.material_type.required and not self.current else ""


def last_correction_at(case: Case) -> dt.datetime | None:
    """When the latest correction notice went out, or None."""
    return (
        case.timeline.filter(action="request_correction").order_by("-at", "-id").values_list("at", flat=True).first()
    )


def case_checklist(case: Case) -> list[ChecklistItem]:
    """The case's checklist with its files (newest last) and findings; four queries whatever its size.

    Each file gets ``is_new``: uploaded after the latest correction notice, so the clerk sees what
    the resubmission brought.
    """
    items = {mt.pk: ChecklistItem(mt) for mt in checklist_for(case)}
    since = last_correction_at(case)
    for material in (
        Material.objects.filter(case=case).select_related("uploaded_by", "material_type").order_by("uploaded_at", "id")
    ):
        material.is_new = since is not None and material.uploaded_at > since
        item = items.get(material.material_type_id)
        if item is None:  # an item since dropped from the checklist: still shown, files are never hidden
            item = items[material.material_type_id] = ChecklistItem(material.material_type)
        item.materials.append(material)
    for check in MaterialCheck.objects.filter(case=case).select_related("checked_by"):
        if check.material_type_id in items:
            items[check.material_type_id].check = check
    return list(items.values())


def correction_note(checklist: list[ChecklistItem]) -> str:
    """The text of a correction notice listing every item marked missing or unreadable, and every
    required item with no file that nobody has marked yet; "" when nothing is outstanding."""
    lines = []
    for item in checklist:
        status = item.outstanding
        if not status:
            continue
        line = _("%(n)s. %(name)s (%(status)s)") % {
            "n": len(lines) + 1, "name": item.material_type.name, "status": MaterialStatus(status).label,
        }
        if item.check is not None and item.check.note:
            line += _(": %(note)s") % {"note": item.check.note}
        lines.append(line)
    if not lines:
        return ""
    return "\n".join([_("Please supply the following materials and resubmit the application:"), *lines])


def entered_status_case_ids(status: str, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """Ids of cases that entered ``status`` in ``[start, end)`` (from the timeline), for statistics:
    terminations, rejections and withdrawals have no date field of their own."""
    return TimelineEntry.objects.filter(to_status=status, at__gte=start, at__lt=end).values("case_id")


def entered_status_counts(case_ids: QuerySet, start: dt.datetime, end: dt.datetime, statuses,
                          *, by_committee: bool = False) -> dict[tuple[int | None, str], int]:
    """How many of ``case_ids`` entered each of ``statuses`` in ``[start, end)``, keyed by
    (committee id or None, status): the timeline's (status, time) index picks the entries."""
    from django.db.models import Count

    entries = (TimelineEntry.objects.filter(to_status__in=list(statuses), at__gte=start, at__lt=end,
                                            case_id__in=case_ids).order_by())
    if by_committee:
        rows = entries.values_list("case__committee_id", "to_status").annotate(n=Count("case_id", distinct=True))
        return {(pk, status): n for pk, status, n in rows}
    rows = entries.values_list("to_status").annotate(n=Count("case_id", distinct=True))
    return {(None, status): n for status, n in rows}
