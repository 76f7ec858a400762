"""Eligibility checks the clerk sees before accepting an application (domain.md step 2).

They are shown, not enforced: the clerk may know what the system does not (a conclusion made by
another committee, a paper file). Rejection stays the clerk's reasoned decision. One exception: a
review appraisal asked for less than a year after the earlier conclusion on record cannot be
accepted (the ``accept`` step's guard), since the law allows it only after a year.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases.models import Case, CaseType, Status

REVIEW_MIN_YEARS = 1
LEAVE_TOTAL_MONTHS = 24
GRADING_TYPES = frozenset({CaseType.INITIAL, CaseType.REVIEW, CaseType.REAPPRAISAL})
LEAVE_TYPES = frozenset({CaseType.LEAVE_CONFIRMATION, CaseType.LEAVE_EXTENSION})
CLOSED = frozenset({Status.ARCHIVED, Status.REJECTED, Status.WITHDRAWN, Status.TERMINATED, Status.DRAFT})


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    blocking: bool  # the rule would normally mean rejection


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def earlier_conclusion_case(case: Case) -> Case | None:
    """The appraisal a review appraisal reviews: the one linked, else the worker's latest concluded one."""
    if case.earlier_case_id is not None:
        return case.earlier_case
    return (Case.objects.filter(worker_id=case.worker_id, case_type__in=GRADING_TYPES, concluded_on__isnull=False)
            .exclude(pk=case.pk).order_by("-concluded_on", "-id").first())


def review_too_early(case: Case, on: dt.date) -> str:
    """Why a review appraisal cannot be accepted yet ("" when it can): one year after the earlier
    conclusion at the earliest (domain.md, Review appraisal)."""
    if case.case_type != CaseType.REVIEW:
        return ""
    earlier = earlier_conclusion_case(case)
    if earlier is None or earlier.concluded_on is None:
        return ""
    earliest = add_months(earlier.concluded_on, 12 * REVIEW_MIN_YEARS)
    if (case.received_on or on) >= earliest:
        return ""
    return _("A review appraisal may be asked for one year after the last conclusion at the earliest: "
             "the last conclusion was made on %(date)s, so not before %(earliest)s.") % {
        "date": earlier.concluded_on.isoformat(), "earliest": earliest.isoformat()}


def check(case: Case, *, today: dt.date | None = None) -> list[Flag]:
    """Every eligibility concern for this application, most serious first."""
    on = case.received_on or today or clocks.today()
    flags: list[Flag] = []
    others = Case.objects.filter(worker_id=case.worker_id).exclude(pk=case.pk)

    if case.case_type == CaseType.REVIEW:
        earlier = earlier_conclusion_case(case)
        if earlier is None:
            flags.append(Flag("review_without_conclusion", _(
                "A review appraisal needs an earlier conclusion, and none is on record for this worker: "
                "ask for the earlier conclusion letter."), blocking=False))
        else:
            too_early = review_too_early(case, on)
            if too_early:
                flags.append(Flag("review_too_early", too_early, blocking=True))

    if case.case_type == CaseType.LEAVE_EXTENSION:
        injury = case.determination.injury_date
        limit = add_months(injury, LEAVE_TOTAL_MONTHS)
        if on > limit:
            flags.append(Flag("leave_beyond_total", _(
                "The paid-leave period cannot exceed %(months)d months in total; counted from the injury on "
                "%(injury)s it ended on %(limit)s.")
                % {"months": LEAVE_TOTAL_MONTHS, "injury": injury.isoformat(), "limit": limit.isoformat()},
                blocking=True))

    duplicate = (others.filter(case_type=case.case_type).exclude(status__in=CLOSED)
                 .values_list("number", flat=True).first())
    if duplicate is not None:
        flags.append(Flag("second_open_case", _(
            "This worker already has an open case of the same type (%(number)s): finish or withdraw it first.")
            % {"number": duplicate or _("unnumbered")}, blocking=True))

    determination = case.determination
    if not determination.number.strip():
        flags.append(Flag("determination_missing", _(
            "The work-injury determination is missing: an appraisal needs the determination letter."),
            blocking=True))
    elif determination.determination_date > on:
        flags.append(Flag("determination_after_application", _(
            "The work-injury determination is dated after the application: check its date."), blocking=False))
    elif case.case_type in LEAVE_TYPES | GRADING_TYPES and determination.worker_id != case.worker_id:
        flags.append(Flag("determination_other_worker", _(
            "The work-injury determination names another worker."), blocking=True))

    flags.sort(key=lambda f: not f.blocking)
    return flags
