"""What the public may read: a case's progress, in plain words, and nothing medical.

Anyone holding the case number and the last six characters of the worker's ID number can look
a case up. Both must match; a wrong pair and a missing case look the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from laojian.cases.models import Case, Status, TimelineEntry

ID_SUFFIX_LENGTH = 6

# The usual path of a case, with the words the public sees for each step reached.
PATH: tuple[tuple[str, object], ...] = (
    (Status.SUBMITTED, _("Application received")),
    (Status.ACCEPTED, _("Application accepted")),
    (Status.REVIEWED, _("Preliminary review passed")),
    (Status.SCHEDULED, _("Appraisal arranged")),
    (Status.EXAMINED, _("Examination done")),
    (Status.CONCLUDED, _("Conclusion made")),
    (Status.DELIVERED, _("Conclusion letter delivered")),
    (Status.ARCHIVED, _("File archived")),
)
# Side steps, shown when they happened.
SIDE: dict[str, object] = {
    Status.CORRECTION_REQUESTED: _("Correction notice sent: please supply the missing materials"),
    Status.DIFFICULT: _("Referred for collective discussion"),
    Status.REJECTED: _("Application not accepted"),
    Status.WITHDRAWN: _("Application withdrawn"),
    Status.TERMINATED: _("Appraisal terminated"),
}
ENDED = frozenset({Status.REJECTED, Status.WITHDRAWN, Status.TERMINATED})


@dataclass(frozen=True)
class Step:
    status: str
    label: object
    on: dt.date | None
    done: bool
    expected_by: dt.date | None = None


@dataclass(frozen=True)
class PublicStatus:
    number: str
    case_type: str
    status: str
    steps: list[Step]


def _normalise_suffix(value: str) -> str:
    return "".join(ch for ch in str(value or "") if not ch.isspace()).upper()


def status_lookup(number: str, id_suffix: str) -> PublicStatus | None:
    """The public view of one case, or None when the number and ID suffix do not match a case."""
    suffix = _normalise_suffix(id_suffix)
    number = (number or "").strip()
    if len(suffix) != ID_SUFFIX_LENGTH or not number:
        return None
    case = Case.objects.select_related("worker").filter(number=number).exclude(status=Status.DRAFT).first()
    # The ID number is encrypted at rest: its last digits are compared here, after the case number matched.
    if case is None or not case.worker.id_number.endswith(suffix):
        return None
    reached: dict[str, dt.date] = {}
    for to_status, at in TimelineEntry.objects.filter(case=case).exclude(to_status="").values_list(
        "to_status", "at"
    ).order_by("at", "id"):
        reached[to_status] = timezone.localtime(at).date()  # the last time each state was reached
    # The case's own dates are the legal ones (the clocks count from them): they win.
    for status, day in ((Status.SUBMITTED, case.received_on), (Status.ACCEPTED, case.accepted_on),
                        (Status.CONCLUDED, case.concluded_on), (Status.DELIVERED, case.delivered_on)):
        if day is not None:
            reached[status] = day
    return PublicStatus(number=case.number or "", case_type=case.get_case_type_display(),
                        status=case.status, steps=_steps(case, reached))


def _steps(case: Case, reached: dict[str, dt.date]) -> list[Step]:
    order = [status for status, _label in PATH]
    current = order.index(case.status) if case.status in order else -1
    if current < 0:  # a side state: the furthest point on the path it has passed
        current = max((order.index(s) for s in reached if s in order), default=0)
    steps: list[Step] = []
    for i, (status, label) in enumerate(PATH):
        if i <= current:
            steps.append(Step(status=status, label=label, on=reached.get(status), done=True))
        elif case.status not in ENDED:
            expected = case.conclusion_due if status == Status.CONCLUDED else None
            steps.append(Step(status=status, label=label, on=None, done=False, expected_by=expected))
    for status, label in SIDE.items():
        if status in reached:
            steps.append(Step(status=status, label=label, on=reached[status], done=True))
    steps.sort(key=lambda s: (not s.done, s.on or dt.date.max))
    return steps
