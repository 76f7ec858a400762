"""`laojian notify sweep`: deliver notifications whose task went missing; requeue interrupted sends.

    laojian notify sweep              # once (e.g. from cron every minute)
    laojian notify sweep --every 60   # forever, every 60 seconds, next to `laojian db_worker`

Retries are normally enqueued as deferred tasks on the database queue; the sweep is the safety
net for a lost enqueue, a worker that was down, a worker that died mid-send, and task backends
that cannot defer (the immediate backend).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.translation import gettext as _

from laojian.notify import services


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Notification outbox maintenance.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{sweep}")
        sweep = sub.add_parser(
            "sweep", help=_("Deliver queued notifications that are overdue; requeue interrupted sends.")
        )
        sweep.add_argument("--every", type=float, default=0,
                           help=_("run again every this many seconds (default: once)"))

    def handle(self, *args, **options):
        every = options["every"]
        while True:
            report = services.sweep()
            if options["verbosity"] >= 1 and (report.attempted or report.requeued_stale or not every):
                self.stdout.write(
                    _("Sweep: %(attempted)s delivery attempt(s), %(stale)s interrupted send(s) requeued.")
                    % {"attempted": report.attempted, "stale": report.requeued_stale}
                )
            if not every:
                return
            time.sleep(every)
            close_old_connections()  # as a request would: drop a connection the database closed
