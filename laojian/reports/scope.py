"""What a statistics page counts: the committees a user may see figures of, and the filters.

A city committee's staff see their own committee; a provincial committee's staff see their own
and every city committee of the province, side by side. The filters narrow the cases counted;
every figure of a page is computed over the same ``Scope``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from laojian.cases.models import Case
from laojian.core.models import Committee
from laojian.experts import selectors as experts_selectors

if TYPE_CHECKING:
    from laojian.core.models import User

PERMISSION = "reports.view_statistics"


def committees_for_statistics(user: User) -> QuerySet[Committee]:
    """The committees whose figures ``user`` may see (none without the permission)."""
    if not (user.is_authenticated and user.committee_id and user.has_perm(PERMISSION)):
        return Committee.objects.none()
    own = user.committee
    if own.level == Committee.Level.PROVINCE:
        return Committee.objects.filter(Q(pk=own.pk) | Q(province_id=own.pk)).order_by("code")
    return Committee.objects.filter(pk=own.pk)


def require_statistics(user: User) -> QuerySet[Committee]:
    """``committees_for_statistics``, refused with 403 when there are none."""
    committees = committees_for_statistics(user)
    if not committees.exists():
        raise PermissionDenied
    return committees


@dataclass(frozen=True)
class Scope:
    """The cases a figure counts: committees (already authorised), a period of calendar dates
    (both ends included, Asia/Shanghai) and optional filters."""

    committee_ids: tuple[int, ...]
    first: dt.date
    last: dt.date
    county: str = ""
    mode: str = ""
    case_type: str = ""
    hospital_id: int | None = None
    specialty_id: int | None = None
    today: dt.date | None = field(default=None, compare=False)

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        return (self.first, self.last)

    def with_committee(self, committee_id: int) -> Scope:
        return replace(self, committee_ids=(committee_id,))

    def cases(self) -> QuerySet[Case]:
        """The cases of the scope, the period aside (each figure picks its own date)."""
        qs = Case.objects.filter(committee_id__in=self.committee_ids)
        if self.county:
            qs = qs.filter(worker__county=self.county)
        if self.mode:
            qs = qs.filter(mode=self.mode)
        if self.case_type:
            qs = qs.filter(case_type=self.case_type)
        if self.hospital_id or self.specialty_id:
            qs = qs.filter(pk__in=experts_selectors.panel_case_ids(hospital_id=self.hospital_id, specialty_id=self.specialty_id))
        return qs

    def query(self) -> dict[str, str]:
        """The filters as GET parameters, for drill-down links and exports."""
        q = {"first": self.first.isoformat(), "last": self.last.isoformat()}
        if len(self.committee_ids) == 1:
            q["committee"] = str(self.committee_ids[0])
        for name in ("county", "mode", "case_type"):
            if getattr(self, name):
                q[name] = getattr(self, name)
        for name in ("hospital_id", "specialty_id"):
            if getattr(self, name):
                q[name.removesuffix("_id")] = str(getattr(self, name))
        return q
