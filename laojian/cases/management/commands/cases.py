"""`laojian cases close-uncorrected`: the deadline sweep for unanswered correction notices.

Run it daily (cron, or the worker host's scheduler). It is idempotent: a case closes once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from laojian.cases import services
from laojian.core.management.arguments import parse_date


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Case housekeeping run by the rules themselves.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{close-uncorrected}")
        close = sub.add_parser("close-uncorrected",
                               help=_("Close applications whose correction notice went unanswered in time."))
        close.add_argument("--today", help=_("the day to judge by, YYYY-MM-DD (default: today)"))

    def handle(self, *args, **options):
        today = parse_date(options["today"]) if options.get("today") else None
        closed = services.close_uncorrected(today=today)
        for case in closed:
            self.stdout.write(case.number or str(case.pk))
        self.stdout.write(_("%(count)d application(s) closed.") % {"count": len(closed)})
