"""`laojian cleanup`: what a crash left behind (half-written files, stored files without a row).

    laojian cleanup                 -> list what is older than 24 hours, remove nothing
    laojian cleanup --delete        -> remove it (audited)
    laojian cleanup --hours 2       -> a shorter grace period

Run it after an unclean stop, or nightly from cron with --delete.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core import cleanup


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("List, or remove, the half-written files and the stored files without a row that a crash left.")

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help=_("remove what is found"))
        parser.add_argument("--hours", type=float, default=24.0,
                            help=_("only what was last written at least this many hours ago (default 24)"))

    def handle(self, *args, **options):
        if options["hours"] < 0:
            raise CommandError(_("--hours cannot be negative."))
        report = cleanup.cleanup(grace=dt.timedelta(hours=options["hours"]), delete=options["delete"])
        for path in report.temp:
            self.stdout.write(_("half-written: %(path)s") % {"path": path})
        for name in report.orphans:
            self.stdout.write(_("no row points to: %(name)s") % {"name": name})
        if report.note:
            self.stdout.write(report.note)
        found = {"temp": len(report.temp), "orphans": len(report.orphans)}
        if report.deleted:
            self.stdout.write(_("Removed %(temp)s half-written and %(orphans)s orphaned files.") % found)
        elif report.temp or report.orphans:
            self.stdout.write(_("Found %(temp)s half-written and %(orphans)s orphaned files; run with --delete "
                                "to remove them.") % found)
        else:
            self.stdout.write(_("Nothing to clean up."))
