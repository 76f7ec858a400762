"""`laojian deadletters`: the background tasks that failed their last attempt.

    laojian deadletters            -> list them, newest first
    laojian deadletters --retry ID -> send one again (once its cause is fixed)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core import tasks
from laojian.core.models import DeadLetter


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("List the background tasks that failed their last attempt, or send one again.")

    def add_arguments(self, parser):
        parser.add_argument("--retry", type=int, default=None, metavar="ID", help=_("send this dead letter again"))

    def handle(self, *args, **options):
        if options["retry"] is not None:
            if not DeadLetter.objects.filter(pk=options["retry"]).exists():
                raise CommandError(_("No dead letter %(id)s.") % {"id": options["retry"]})
            letter = tasks.send_again(options["retry"])
            self.stdout.write(_("Sent again: %(task)s.") % {"task": letter.task})
            return
        letters = list(DeadLetter.objects.all()[:200])
        if not letters:
            self.stdout.write(_("No task has failed its last attempt."))
        for letter in letters:
            last = letter.error.strip().splitlines()[-1] if letter.error.strip() else ""
            sent = _(" (sent again %(when)s)") % {"when": f"{letter.retried_at:%Y-%m-%d %H:%M}"} if letter.retried_at else ""
            self.stdout.write(f"{letter.pk}\t{letter.failed_at:%Y-%m-%d %H:%M}\t{letter.task}{letter.args}\t"
                              f"{letter.attempts}×\t{last}{sent}")
