"""`laojian workdays`: working-day arithmetic with the committee calendar, from the console.

    laojian workdays add 2025-01-20 10          -> 2025-02-08
    laojian workdays between 2025-01-20 2025-02-08  -> 10

Useful to check a deadline by hand, or that a newly entered year's schedule behaves.
With ``-v 2`` (before the subcommand: ``laojian workdays -v 2 add ...``) the calendar data used is printed as well.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core import calendar
from laojian.core.management.arguments import parse_date


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated into the language active when asked
        return _("Working-day arithmetic with the committee calendar (holidays and make-up workdays).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add,between}")
        add = sub.add_parser(
            "add",
            help=_("Print the N-th working day after DATE (before it when N is negative)."),
        )
        add.add_argument("date", help=_("start date, YYYY-MM-DD (not counted itself)"))
        add.add_argument("n", type=int, help=_("number of working days"))
        between = sub.add_parser(
            "between",
            help=_("Print the number of working days after START up to and including END."),
        )
        between.add_argument("start", help=_("start date, YYYY-MM-DD (not counted)"))
        between.add_argument("end", help=_("end date, YYYY-MM-DD (counted)"))

    def handle(self, *args, **options):
        verbose = options["verbosity"] >= 2
        try:
            if options["action"] == "add":
                start = parse_date(options["date"])
                result, basis = calendar.add_workdays_with_basis(start, options["n"])
                self.stdout.write(result.isoformat())
            else:
                start, end = parse_date(options["start"]), parse_date(options["end"])
                self.stdout.write(str(calendar.workdays_between(start, end)))
                basis = calendar.calendar_basis(start, end) if verbose else ""
        except calendar.CalendarYearMissing as exc:
            raise CommandError(exc.message) from None
        except OverflowError:
            raise CommandError(_("The result falls outside the dates the calendar can represent.")) from None
        if verbose and basis:
            self.stderr.write(_("Calendar data used: %(basis)s") % {"basis": basis})
