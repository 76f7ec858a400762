"""`laojian documents`: documents from the console.

    laojian documents remind-delivery   -> remind the clerks of conclusions not delivered as the deadline nears (daily)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from laojian.core.management.arguments import parse_date
from laojian.documents import delivery


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Reminders about documents.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{remind-delivery}")
        remind = sub.add_parser("remind-delivery", help=_("Remind clerks of conclusions whose delivery is due soon."))
        remind.add_argument("--today", type=parse_date, default=None, help=_("the day to count from (YYYY-MM-DD)"))

    def handle(self, *args, **options):
        queued = delivery.delivery_reminders(today=options["today"])
        self.stdout.write(_("%(n)d reminders queued.") % {"n": queued})
