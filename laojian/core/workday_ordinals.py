"""The working-day calendar as a table the database can join: ``WorkdayOrdinal``, kept in step
with ``calendar``.

Cycle times in working days for a million cases cannot walk the calendar in Python. Instead each
known day carries the running count of working days up to it, and the working days from
application to conclusion are ``ordinal(concluded_on) - ordinal(received_on)``: the same number
``core.calendar.workdays_between`` gives, computed by the database in the aggregate query.

The table is rebuilt from ``core.calendar`` whenever the calendar data changes: a fingerprint
of the holiday rows, the hand-entered years and the package version is compared on every read
(two tiny aggregate queries), so no save path can leave stale ordinals behind. Days of years no
schedule is known for get no row; a case touching one has no working-day cycle time and is
counted as such rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.db.models import Count, Max, Min

from laojian.core import calendar
from laojian.core.models import CalendarDay, CalendarFingerprint, CalendarYear, WorkdayOrdinal

_ONE_DAY = dt.timedelta(days=1)


def known_years() -> list[int]:
    """The years whose working days are known: the package's plus the completed hand-entered ones."""
    manual = set(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
    package = set(range(calendar.PACKAGE_FIRST_YEAR, calendar.PACKAGE_LAST_YEAR + 1))
    return sorted(package | manual)


def fingerprint() -> str:
    """What the ordinals depend on, in one string (changes whenever any holiday row or year does)."""
    days = CalendarDay.objects.aggregate(n=Count("pk"), last=Max("updated_at"), lo=Min("date"), hi=Max("date"))
    years = CalendarYear.objects.filter(complete=True).aggregate(n=Count("pk"), last=Max("updated_at"),
                                                                  hi=Max("year"))
    raw = f"{calendar.PACKAGE_VERSION}|{sorted(days.items())}|{sorted(years.items())}"
    return hashlib.sha256(raw.encode()).hexdigest()


def rebuild(*, only_if_stale: bool = False) -> int:
    """Recompute every ordinal from the calendar; returns the number of days written.

    Two requests finding the table stale at once rebuild it once: the fingerprint row is locked
    and the second one finds the first one's work done."""
    with transaction.atomic():
        state, _created = CalendarFingerprint.objects.select_for_update().get_or_create(key="workdays")
        current = fingerprint()
        if only_if_stale and state.fingerprint == current:
            return 0
        rows = _ordinals()
        WorkdayOrdinal.objects.all().delete()
        WorkdayOrdinal.objects.bulk_create(rows, batch_size=2000)
        state.fingerprint = current
        state.save()
    return len(rows)


def _ordinals() -> list[WorkdayOrdinal]:
    years = known_years()
    rows: list[WorkdayOrdinal] = []
    if years:
        cal = calendar.WorkingCalendar.for_range(dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31))
        count = 0
        for year in years:
            if year != years[0] and year - 1 not in years:
                break  # a gap year: beyond it a subtraction would silently skip the unknown year
            d = dt.date(year, 1, 1)
            while d.year == year:
                if cal.is_workday(d):
                    count += 1
                rows.append(WorkdayOrdinal(date=d, ordinal=count))
                d += _ONE_DAY
    return rows


def ensure_current() -> None:
    """Rebuild the ordinals when the calendar changed since they were built (cheap when it has not)."""
    stored = CalendarFingerprint.objects.filter(key="workdays").values_list("fingerprint", flat=True).first()
    if stored != fingerprint():
        rebuild(only_if_stale=True)
