"""Cases as the statistics see them: rows with their dates and results, not run through the workflow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Permission
from django.utils import timezone

from laojian.cases.models import Case, CaseAssignment, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.models import Committee
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.grading.models import Conclusion
from laojian.grading.selectors import current_edition
from laojian.reports.scope import Scope


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def case(committee: Committee, *, received: dt.date | None = dt.date(2026, 11, 2), **fields: Any) -> Case:
    return CaseFactory(committee=committee, received_on=received, **fields)


def concluded(committee: Committee, received: dt.date, on: dt.date, *, grade: int | None = None,
              care: str = "none", due: dt.date | None = None, target: dt.date | None = None,
              months: int | None = None, **fields: Any) -> Case:
    """A case concluded ``on`` with an approved conclusion (``due`` defaults to 60 days after receipt)."""
    c = case(committee, received=received, status=Status.CONCLUDED, concluded_on=on, accepted_on=received,
             conclusion_due=due or received + dt.timedelta(days=60), target_due=target, **fields)
    Conclusion.objects.create(case=c, committee=committee, state=Conclusion.State.APPROVED, edition=current_edition(),
                              grade=grade, care_level=care, months=months, approved_at=at(on))
    return c


def entered(c: Case, status: str, day: dt.date) -> Case:
    """The case entered ``status`` on ``day`` (its timeline says so)."""
    Case.objects.filter(pk=c.pk).update(status=status)
    TimelineEntry.objects.create(case=c, at=at(day), action=status, from_status=c.status, to_status=status)
    c.refresh_from_db()
    return c


def seat(c: Case, user, role: str = CaseAssignment.Role.EXPERT) -> None:
    CaseAssignment.objects.create(case=c, user=user, role=role)


def statistician(committee: Committee, role: str = "leader"):
    return UserFactory(committee=committee, roles=[role])


def user_with_permission(committee: Committee, *codenames: str):
    user = UserFactory(committee=committee)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="reports", codename__in=codenames))
    return user


def province_with_cities(n: int = 2) -> tuple[Committee, list[Committee]]:
    province = CommitteeFactory(level=Committee.Level.PROVINCE)
    return province, [CommitteeFactory(province=province) for _ in range(n)]


def november(*committees: Committee, **filters: Any) -> Scope:
    return Scope(committee_ids=tuple(c.pk for c in committees), first=dt.date(2026, 11, 1),
                 last=dt.date(2026, 11, 30), today=dt.date(2026, 12, 1), **filters)
