"""The working-day calendar (工作日): which days count for working-day deadlines.

Working days follow the State Council's yearly holiday schedule, including the weekend make-up
workdays (调休). Three sources, in order of precedence:

1. a ``CalendarDay`` row: the committee's own entry for that date (a holiday or a make-up workday)
   always wins;
2. the ``chinese-calendar`` package, for the years its data covers (read from the package, so a
   package upgrade extends the range without a code change);
3. for a year the committee has entered by hand (``CalendarYear`` with ``complete=True``):
   Monday to Friday work, Saturday and Sunday rest.

Any other year is unknown: asking about one of its dates raises ``CalendarYearMissing``. Guessing
with the weekday rule would silently put deadlines on public holidays, so we refuse instead.
While a hand-entered year is not yet marked complete it stays unknown, even for dates that
already have a ``CalendarDay`` row: the committee ticks ``complete`` once the notice is entered.

Each public function makes one database query: the override rows for a generously guessed
range, plus (in the same query, by UNION) the hand-entered years when the range leaves the
package's years. Only a walk that outruns the guess (say, through a hand-entered year full of
holidays) loads more. ``WorkingCalendar`` answers many questions about one range with that single
query; the clocks use it directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

import chinese_calendar
from django.db.models import CharField, DateField, IntegerField, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.core.errors import ApplicationError
from laojian.core.models import CalendarDay, CalendarYear

PACKAGE_VERSION: str = chinese_calendar.__version__
# The package validates dates against the years of its holiday table; use the same bounds.
PACKAGE_FIRST_YEAR: int = min(chinese_calendar.holidays).year
PACKAGE_LAST_YEAR: int = max(chinese_calendar.holidays).year

_ONE_DAY = dt.timedelta(days=1)


class CalendarYearMissing(ApplicationError):
    """A working-day question touched a year for which no holiday schedule is known."""

    code = "calendar_year_missing"

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            _(
                "No holiday schedule for %(year)d yet: enter the State Council's schedule for that "
                "year in the calendar before relying on working-day deadlines."
            )
            % {"year": year},
            extra={"year": year},
        )


def package_covers(year: int) -> bool:
    """Whether the installed ``chinese-calendar`` package has the schedule for ``year``."""
    return PACKAGE_FIRST_YEAR <= year <= PACKAGE_LAST_YEAR


def _package_is_workday(d: dt.date) -> bool:
    # Same rule as chinese_calendar.is_workday, without its per-call validation.
    return d in chinese_calendar.workdays or (d.weekday() < 5 and d not in chinese_calendar.holidays)


def _shift(d: dt.date, days: int) -> dt.date:
    """``d + days``, clamped to the dates Python can represent."""
    try:
        return d + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def _span(n: int) -> int:
    """Calendar days that surely hold ``n`` working days, with room for the longest holidays."""
    return abs(n) * 3 + 30


class WorkingCalendar:
    """The calendar data for one date range, loaded with one query.

    Questions about dates outside the loaded range load more (one more query each time), so a
    caller may guess the range generously and still get a correct answer.
    """

    def __init__(self, first: dt.date, last: dt.date):
        self.first = first
        self.last = first - _ONE_DAY  # nothing loaded yet
        self._overrides: dict[dt.date, str] = {}
        self._manual_years: set[int] = set()
        self._load(first, last)

    @classmethod
    def for_range(cls, first: dt.date, last: dt.date) -> WorkingCalendar:
        """Load the calendar data for ``first..last`` (inclusive, in either order)."""
        if last < first:
            first, last = last, first
        return cls(first, last)

    # Loading ------------------------------------------------------------------------------------

    def _load(self, first: dt.date, last: dt.date) -> None:
        """Load overrides and hand-entered years for ``first..last`` and merge them in."""
        other_years = not (package_covers(first.year) and package_covers(last.year))
        days = (
            CalendarDay.objects.filter(date__range=(first, last))
            .order_by()
            .values_list("date", "kind", Value(None, output_field=IntegerField()))
        )
        if other_years:
            # One round trip for both tables: year rows come back as (NULL, "year", year).
            years = (
                CalendarYear.objects.filter(year__range=(first.year, last.year), complete=True)
                .order_by()
                .values_list(
                    Value(None, output_field=DateField()), Value("year", output_field=CharField()), "year"
                )
            )
            rows: Iterable[tuple] = days.union(years, all=True)
        else:
            rows = days
        for date, kind, year in rows:
            if kind == "year":
                if not package_covers(year):  # the package wins for its own years
                    self._manual_years.add(year)
            else:
                self._overrides[date] = kind
        self.first = min(self.first, first)
        self.last = max(self.last, last)

    def _ensure(self, first: dt.date, last: dt.date) -> None:
        """Make sure ``first..last`` is loaded, loading only the missing ends."""
        if first < self.first:
            self._load(first, self.first - _ONE_DAY)
        if last > self.last:
            self._load(self.last + _ONE_DAY, last)

    # Questions ----------------------------------------------------------------------------------

    def year_is_known(self, year: int) -> bool:
        """Whether working days can be determined in ``year`` (only for loaded years)."""
        return package_covers(year) or year in self._manual_years

    def is_workday(self, d: dt.date) -> bool:
        """Whether ``d`` is a working day; raises ``CalendarYearMissing`` for unknown years."""
        self._ensure(d, d)
        if not self.year_is_known(d.year):
            raise CalendarYearMissing(d.year)
        kind = self._overrides.get(d)
        if kind is not None:
            return kind == CalendarDay.Kind.WORKDAY
        if package_covers(d.year):
            return _package_is_workday(d)
        return d.weekday() < 5

    def _is_workday_ahead(self, d: dt.date, step: int, remaining: int) -> bool:
        """``is_workday(d)`` for a walk, loading well ahead (one query) when it leaves the range."""
        if not self.first <= d <= self.last:
            # Ran past the loaded range (long holidays, or a hand-entered year): load more.
            self._ensure(*sorted((d, _shift(d, step * _span(remaining)))))
        return self.is_workday(d)

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """See the module-level ``add_workdays``."""
        if n == 0:
            return start
        step = 1 if n > 0 else -1
        remaining = abs(n)
        d = start
        if n > 0:
            # As chinese_calendar.find_workday: a rest-day start counts from the next working day.
            while not self._is_workday_ahead(d, step, remaining):
                d += _ONE_DAY
        while remaining:
            d = d + dt.timedelta(days=step)
            if self._is_workday_ahead(d, step, remaining):
                remaining -= 1
        return d

    def add_workdays_with_basis(self, start: dt.date, n: int) -> tuple[dt.date, str]:
        """See the module-level ``add_workdays_with_basis``."""
        due = self.add_workdays(start, n)
        first = start if n >= 0 else start - _ONE_DAY
        return due, self.basis(first, due)

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days after ``a`` up to and including ``b``; the negative count when ``b`` < ``a``."""
        if b < a:
            return -self.workdays_between(b, a)
        if a == b:
            return 0
        self._ensure(a + _ONE_DAY, b)
        count = 0
        d = a
        while d < b:
            d += _ONE_DAY
            if self.is_workday(d):
                count += 1
        return count

    def basis(self, first: dt.date, last: dt.date) -> str:
        """Name the calendar data that decides the days ``first..last`` (see ``calendar_basis``)."""
        if last < first:
            first, last = last, first
        self._ensure(first, last)
        parts: list[str] = []
        package_used = False
        for year in range(first.year, last.year + 1):
            if not self.year_is_known(year):
                raise CalendarYearMissing(year)
            if package_covers(year):
                package_used = True
            else:
                parts.append(f"manual {year}")
        if package_used:
            parts.insert(0, f"chinese-calendar {PACKAGE_VERSION}")
        overrides = sorted((d, k) for d, k in self._overrides.items() if first <= d <= last)
        if overrides:
            digest = hashlib.sha256(
                "\n".join(f"{d.isoformat()} {k}" for d, k in overrides).encode()
            ).hexdigest()
            parts.append(f"committee calendar rev {digest[:8]}")
        return " + ".join(parts)


# Public functions: one query each. ------------------------------------------------------------


def local_day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Calendar days ``first`` to ``last`` (both included, in the committee's zone, Asia/Shanghai) as
    the aware ``[start, end)`` a timestamp column is filtered by."""
    return (timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
            timezone.make_aware(dt.datetime.combine(last + _ONE_DAY, dt.time.min)))


def is_workday(d: dt.date) -> bool:
    """Whether ``d`` is a working day (工作日), including make-up workdays (调休上班)."""
    return WorkingCalendar.for_range(d, d).is_workday(d)


def _calendar_for_walk(start: dt.date, n: int) -> WorkingCalendar:
    """Load a range that surely holds ``n`` working days from ``start`` (one query)."""
    if n >= 0:
        return WorkingCalendar.for_range(start, _shift(start, _span(n)))
    return WorkingCalendar.for_range(_shift(start, -_span(n)), start - _ONE_DAY)


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``start``: the deadline "within n working days of start".

    Same as ``chinese_calendar.find_workday(n, start)`` for ``n`` > 0: ``start`` itself is not
    counted, and when ``start`` is a rest day counting begins from the next working day (an
    application received on a Saturday is treated as received on the Monday, so 5 working days
    end on the following Monday, not the Friday).

    ``n`` = 0 returns ``start`` unchanged (even on a rest day). ``n`` < 0 gives the ``|n|``-th
    working day strictly before ``start``, e.g. "apply at least 5 working days before the leave
    ends" (again as ``find_workday``).
    """
    if n == 0:
        return start
    return _calendar_for_walk(start, n).add_workdays(start, n)


def add_workdays_with_basis(start: dt.date, n: int) -> tuple[dt.date, str]:
    """``add_workdays`` plus the ``calendar_basis`` of the days it looked at, with one query.

    The basis covers ``start`` up to the result (``start``-1 down to it when ``n`` < 0): the
    days whose status decided the answer.
    """
    return _calendar_for_walk(start, n).add_workdays_with_basis(start, n)


def workdays_between(a: dt.date, b: dt.date) -> int:
    """Working days after ``a`` up to and including ``b``.

    Antisymmetric: ``workdays_between(b, a) == -workdays_between(a, b)``, so counts add up across
    ranges (``between(a, b) + between(b, c) == between(a, c)``); 0 when ``a == b``. When ``a``
    and ``b`` > ``a`` are both working days, ``add_workdays(a, workdays_between(a, b)) == b``.
    """
    if a == b:
        return 0
    first, last = sorted((a, b))
    return WorkingCalendar.for_range(first + _ONE_DAY, last).workdays_between(a, b)


def calendar_basis(first: dt.date, last: dt.date) -> str:
    """Name the calendar data that decides the days ``first..last``, for the record of a deadline.

    E.g. ``"chinese-calendar 1.11.0"``, ``"chinese-calendar 1.11.0 + manual 2027"``, with
    ``" + committee calendar rev 1a2b3c4d"`` appended when committee override rows fall in the
    range (a short hash of those rows, so any change to them changes the basis). Raises
    ``CalendarYearMissing`` when the range touches an unknown year.
    """
    return WorkingCalendar.for_range(first, last).basis(first, last)


def iso_local(value: dt.date | dt.datetime | None) -> str | None:
    """A date as ISO, a time as ISO in local time (Asia/Shanghai), to the second: how copies and
    exports handed to people write them."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()
