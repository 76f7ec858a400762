"""`laojian demo`: build the fictional 聊城 demo city (committee, experts, staff logins, ~300 cases).

    laojian demo                      # cases over the two years before today
    laojian demo --today 2026-11-27   # the same city as of another day
    laojian demo --seed 7             # another (still deterministic) city

Safe to run again: nothing is duplicated. Refuses to run with ``LAOJIAN_PRODUCTION`` on, because
it creates accounts whose password is published.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from laojian.cases import clocks
from laojian.cases.models import Mode, Status
from laojian.core import calendar
from laojian.core.calendar import CalendarYearMissing
from laojian.core.management.arguments import parse_date
from laojian.core.roles import ROLES
from laojian.demo import city, data

URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated into the language active when asked
        return _("Build the demo city: a fictional committee with hospitals, experts, demo logins and about 300 cases.")

    def add_arguments(self, parser):
        parser.add_argument("--today", help=_("the demo's today, YYYY-MM-DD (default: today)"))
        parser.add_argument("--seed", type=int, default=city.DEFAULT_SEED,
                            help=_("random seed; the same seed and day give the same city"))

    def handle(self, *args, **options):
        with translation.override(settings.LANGUAGE_CODE):
            self._handle(**options)

    def _handle(self, **options):
        if settings.PRODUCTION:
            raise CommandError(_(
                "The demo city creates accounts with a published password; "
                "it refuses to run while LAOJIAN_PRODUCTION is on."
            ))
        today = parse_date(options["today"]) if options.get("today") else _last_scheduled_day(self.stderr)
        try:
            report = city.build(today=today, seed=options["seed"])
        except CalendarYearMissing as exc:
            raise CommandError(exc.message) from exc
        except city.DemoBuildError as exc:
            raise CommandError(exc.message) from exc

        out = self.stdout
        if report.cases_added:
            out.write(_("Built %(count)d demo cases in %(seconds).1f s.")
                      % {"count": report.cases_added, "seconds": report.seconds})
        else:
            out.write(_("%(committee)s already has %(count)d cases: no cases added.")
                      % {"committee": report.committee.name, "count": report.cases_existing})
        if report.created_users:
            out.write(_("Created %(count)d user accounts.") % {"count": len(report.created_users)})
        out.write("")
        out.write(_("%(committee)s: %(hospitals)d hospitals, %(experts)d experts.")
                  % {"committee": report.committee.name, "hospitals": report.hospitals,
                     "experts": report.experts})
        width = max(_display_width(str(label)) for label in Status.labels + Mode.labels) + 2
        out.write(_("Cases by status:"))
        for status in Status:
            out.write(f"  {_pad(str(status.label), width)}{report.by_status.get(status.value, 0):>4}")
        out.write(_("Cases by mode:"))
        for mode in Mode:
            out.write(f"  {_pad(str(mode.label), width)}{report.by_mode.get(mode.value, 0):>4}")
        out.write(_("Worklist: %(overdue)d overdue, %(at_risk)d at risk.")
                  % {"overdue": report.overdue, "at_risk": report.at_risk})
        out.write("")
        out.write(_("Demo logins:"))
        rows = [(_("Username"), _("Role"), _("Password"))]
        rows += [(username, str(ROLES[role].label), settings.LAOJIAN_DEMO_PASSWORD)
                 for username, role, _name in data.STAFF]
        widths = [max(_display_width(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            out.write("  " + "  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)))
        out.write("")
        out.write(_("Open %(url)s and sign in with one of these accounts.") % {"url": URL})
        for code in report.verify_codes:
            out.write(_("Verify a conclusion letter: %(url)s") % {"url": f"{URL.rstrip('/')}/v/{code}/"})
        if report.screen_token:
            out.write(_("Waiting-room screen of the next sitting: %(url)s")
                      % {"url": f"{URL.rstrip('/')}/sittings/screen/{report.screen_token}/"})


def _last_scheduled_day(stderr) -> dt.date:
    """Today, or, when this year's holiday schedule is not in the calendar yet, the last day that is.

    `make run` must keep working on 1 January before the State Council's schedule is entered.
    """
    today = clocks.today()
    try:
        calendar.is_workday(today)
    except CalendarYearMissing as exc:
        fallback = dt.date(calendar.PACKAGE_LAST_YEAR, 12, 31)
        stderr.write(exc.message)
        stderr.write(_("The demo city is built as of %(day)s instead.") % {"day": fallback.isoformat()})
        return fallback
    return today


def _display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))
