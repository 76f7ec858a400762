"""`laojian retention`: anonymise the personal data of cases past their retention (SEC-64).

    laojian retention report   -> the dry run: the cases past their retention and what would change
    laojian retention apply    -> anonymise them (each case audited in its own transaction)

The periods are ``LAOJIAN_RETENTION_DAYS`` (settings); a period under 180 days is refused (SEC-52).
Audit entries are never deleted or changed. Run ``apply`` monthly from cron, after ``report``.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.cases import clocks, retention
from laojian.cases.models import RetentionClass


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("List, or anonymise, the closed cases whose retention period has passed.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{report,apply}")
        sub.add_parser("report", help=_("list the cases past their retention and what would be anonymised; "
                                        "change nothing"))
        sub.add_parser("apply", help=_("anonymise the cases past their retention (audited)"))

    def handle(self, *args, **options):
        today = clocks.today()
        started = time.monotonic()
        try:
            if options["action"] == "apply":
                plan = retention.apply(today=today)
            else:
                plan = retention.report(today=today)
        except retention.RetentionRefused as exc:
            raise CommandError(exc.message) from exc
        self.show(plan, time.monotonic() - started)

    def show(self, plan: retention.Plan, seconds: float) -> None:
        for klass, days in plan.periods.items():
            self.stdout.write(_("retention of %(klass)s: %(days)s days")
                              % {"klass": RetentionClass(klass).label, "days": days})
        for case in plan.cases:
            self.stdout.write(_("case %(number)s (#%(id)s, %(klass)s): closed on %(closed)s, kept until %(until)s")
                              % {"number": case.number or "—", "id": case.pk, "klass": case.get_retention_class_display(),
                                 "closed": case.closed_on, "until":
                                 retention.retain_until(case.closed_on, plan.periods[case.retention_class])})
        for label, count in sorted(plan.rows.items()):
            if count:
                self.stdout.write(_("%(model)s: %(count)s rows with personal fields") % {"model": label, "count": count})
        for label, count in sorted(plan.files.items()):
            if count:
                self.stdout.write(_("%(model)s: %(count)s stored files") % {"model": label, "count": count})
        counts = {"cases": len(plan.cases), "workers": len(plan.workers), "kept": len(plan.workers_kept),
                  "seconds": f"{seconds:.2f}"}
        if plan.applied:
            self.stdout.write(_("Anonymised %(cases)s cases and %(workers)s workers; %(kept)s workers kept for "
                                "a case still within its retention (%(seconds)s s). The audit trail was not "
                                "changed.") % counts)
        elif plan.cases:
            self.stdout.write(_("%(cases)s cases are past their retention: %(workers)s workers would be anonymised, "
                                "%(kept)s kept for a case still within its retention. Run “laojian retention "
                                "apply” to anonymise them.") % counts)
        else:
            self.stdout.write(_("No case is past its retention."))
