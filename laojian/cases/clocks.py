"""A case's clocks: the deadlines derived from its dates, stored on the case for the worklist.

Two kinds of clock:

- **working-day** clocks (工作日), counted with the committee calendar from the day the
  application was received: the completeness notice (5 working days, 办法 Art. 9) and the local
  service target per appraisal mode (e.g. clinic: 10 working days to the conclusion);
- **calendar-day** clocks (日): the conclusion (60 days from acceptance, or from receipt where the
  committee's rules say so, + an approved extension,
  + the days the worker's reschedules moved it), delivery (20 days from the conclusion) and the
  re-appraisal window (15 days from delivery).

``refresh`` recomputes them all from the inputs, so it is idempotent and can run after any
change. It never raises for a missing holiday schedule: that clock is left empty, the year is
recorded in ``clock_basis`` and a warning is returned for the user to act on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laojian.cases.models import Case, Status
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar

CALENDAR_DAYS = "calendar days"

_IN_PROGRESS = frozenset({Status.ACCEPTED, Status.REVIEWED, Status.SCHEDULED, Status.EXAMINED, Status.DIFFICULT})

# Each clock: the case field it is stored in, and the statuses in which it runs against the
# committee (the only ones that can make a case overdue; a missing calendar year there deserves a
# warning). While a correction notice is out the committee waits on the applicant, so its
# completeness duty is met. The re-appraisal window is the parties' deadline, never the committee's.
CLOCK_FIELDS: dict[str, str] = {
    "completeness": "completeness_due",
    "correction": "correction_due",
    "target": "target_due",
    "conclusion": "conclusion_due",
    "delivery": "delivery_due",
    "reappraisal_window": "reappraisal_window_ends",
}
RUNNING: dict[str, frozenset[str]] = {
    "completeness": frozenset({Status.SUBMITTED}),
    # The applicant's time to answer a correction notice; when it is up the clerk closes the file.
    "correction": frozenset({Status.CORRECTION_REQUESTED}),
    "target": frozenset({Status.SUBMITTED, Status.CORRECTION_REQUESTED}) | _IN_PROGRESS,
    "conclusion": _IN_PROGRESS,
    "delivery": frozenset({Status.CONCLUDED}),
    "reappraisal_window": frozenset(),
}

_CLOCK_LABELS = {
    "completeness": gettext_lazy("completeness notice deadline"),
    "target": gettext_lazy("service target"),
}

Risk = Literal["overdue", "at_risk", "ok"]


def today() -> dt.date:
    """Today's date in the committee's time zone (Asia/Shanghai), which deadlines are counted in."""
    return timezone.localdate()


def days_left(due: dt.date | None, today: dt.date) -> int | None:
    """Calendar days from ``today`` to ``due``: 0 on the day itself, negative once it has passed."""
    if due is None:
        return None
    return (due - today).days


def risk(due: dt.date | None, today: dt.date, warn_days: int) -> Risk | None:
    """Worklist traffic light: "overdue" after the due date, "at_risk" within ``warn_days`` of it
    (the due day itself included), otherwise "ok"; None when there is no deadline."""
    left = days_left(due, today)
    if left is None:
        return None
    if left < 0:
        return "overdue"
    if left <= warn_days:
        return "at_risk"
    return "ok"


def _service_target(case: Case, warnings: list[str]) -> int | None:
    """The committee's working-day target for the case's mode, or None when it sets none."""
    targets = case.committee.service_targets or {}
    if not isinstance(targets, dict) or case.mode not in targets or targets[case.mode] is None:
        return None
    value = targets[case.mode]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        warnings.append(
            _(
                "The service target for the mode %(mode)s is not a whole number of working days; it was ignored."
            )
            % {"mode": case.get_mode_display()}
        )
        return None
    return value


def _workday_clocks(
    wanted: dict[str, tuple[dt.date, int]],
) -> dict[str, tuple[dt.date | None, dict[str, Any]]]:
    """Compute several working-day clocks, each (start, working days), with one calendar load."""
    first = min(start for start, _n in wanted.values())
    last = max(start + dt.timedelta(days=n * 3 + 30) for start, n in wanted.values())
    cal = WorkingCalendar.for_range(first, last)
    results: dict[str, tuple[dt.date | None, dict[str, Any]]] = {}
    for name, (start, n) in wanted.items():
        info: dict[str, Any] = {"from": start.isoformat(), "workdays": n}
        try:
            due, info["basis"] = cal.add_workdays_with_basis(start, n)
        except CalendarYearMissing as exc:
            due = None
            info["basis"] = None
            info["missing_year"] = exc.year
        results[name] = (due, info)
    return results


def _calendar_clock(start: dt.date | None, **days: int) -> tuple[dt.date | None, dict[str, Any] | None]:
    if start is None:
        return None, None
    due = start + dt.timedelta(days=sum(days.values()))
    return due, {"basis": CALENDAR_DAYS, "from": start.isoformat(), **days}


def refresh(case: Case) -> list[str]:
    """Recompute the case's clock fields and ``clock_basis`` in place (the caller saves).

    Returns warnings (translated) for clocks that matter in the current status but could not be
    computed because the calendar lacks a year.
    """
    committee = case.committee
    warnings: list[str] = []
    basis: dict[str, Any] = {}

    # Working-day clocks: the service target counts from receipt; the completeness check from
    # receipt, or from the resubmission when the applicant answered a correction notice.
    case.completeness_due = None
    case.target_due = None
    if case.received_on is not None:
        wanted = {"completeness": (case.resubmitted_on or case.received_on, committee.completeness_workdays)}
        target = _service_target(case, warnings)
        if target is not None:
            wanted["target"] = (case.received_on, target)
        for name, (due, info) in _workday_clocks(wanted).items():
            if name == "target":
                info["mode"] = case.mode
                case.target_due = due
            else:
                case.completeness_due = due
            basis[name] = info
            if due is None and case.status in RUNNING[name]:
                warnings.append(
                    _(
                        "The %(clock)s could not be computed: there is no holiday schedule for "
                        "%(year)d yet. Enter the State Council's schedule for that year in the calendar."
                    )
                    % {"clock": _CLOCK_LABELS[name], "year": info["missing_year"]}
                )

    # Calendar-day clocks.
    # The statutory clock runs once the case is accepted; from which day is the committee's rule.
    conclusion_start = case.accepted_on
    if case.accepted_on and committee.conclusion_clock_start == committee.ClockStart.RECEIVED:
        conclusion_start = case.received_on or case.accepted_on
    case.conclusion_due, info = _calendar_clock(
        conclusion_start,
        days=committee.conclusion_days,
        extension_days=case.extension_days,
        reschedule_shift_days=case.reschedule_shift_days,
    )
    if info:
        info["counts_from"] = committee.conclusion_clock_start
        basis["conclusion"] = info
    case.correction_due, info = _calendar_clock(case.correction_requested_on, days=committee.correction_limit_days)
    if info:
        basis["correction"] = info
    case.delivery_due, info = _calendar_clock(case.concluded_on, days=committee.delivery_days)
    if info:
        basis["delivery"] = info
    case.reappraisal_window_ends, info = _calendar_clock(
        case.delivered_on, days=committee.reappraisal_window_days
    )
    if info:
        basis["reappraisal_window"] = info

    case.next_due = next_due(case)
    case.clock_basis = basis
    return warnings


def next_clock(case: Case) -> str | None:
    """The running clock that falls due first in the case's current status (stored fields only)."""
    running = [
        (getattr(case, CLOCK_FIELDS[name]), name)
        for name, statuses in RUNNING.items()
        if case.status in statuses and getattr(case, CLOCK_FIELDS[name]) is not None
    ]
    return min(running)[1] if running else None


def next_due(case: Case) -> dt.date | None:
    """The deadline that matters in the case's current status."""
    name = next_clock(case)
    return getattr(case, CLOCK_FIELDS[name]) if name else None
