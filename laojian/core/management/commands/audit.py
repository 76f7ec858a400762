"""`laojian audit`: checks on the audit trail from the console.

    laojian audit verify                     -> every chain
    laojian audit verify --chain committee:3 -> one chain

Exits with a non-zero status when any chain is broken, so it can run from cron or a monitoring
check and alert someone (SEC-54).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from laojian.core import audit


class Command(BaseCommand):
    @property
    def help(self) -> str:  # a property, so that it is translated into the language active when asked
        return _("Checks on the audit trail.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify}")
        verify = sub.add_parser(
            "verify",
            help=_(
                "Recompute the hash chain of the audit trail and report the first broken entry of each chain."
            ),
        )
        verify.add_argument(
            "--chain", default=None, help=_("check only this chain, e.g. committee:3 or system")
        )

    def handle(self, *args, **options):
        if options["action"] == "verify":
            self.verify(options["chain"])

    def verify(self, chain: str | None) -> None:
        if chain is not None and chain not in audit.chains():
            raise CommandError(_("There is no audit chain called %(chain)s.") % {"chain": chain})
        reports = audit.verify(chain)
        broken = 0
        for report in reports:
            if report.ok:
                self.stdout.write(
                    ngettext(
                        "%(chain)s: OK, %(count)d entry",
                        "%(chain)s: OK, %(count)d entries",
                        report.checked,
                    )
                    % {"chain": report.chain, "count": report.checked}
                )
                continue
            broken += 1
            if report.first_broken is None:
                message = ngettext(
                    "%(chain)s: BROKEN after %(count)d entry: %(reason)s",
                    "%(chain)s: BROKEN after %(count)d entries: %(reason)s",
                    report.checked,
                ) % {
                    "chain": report.chain,
                    "count": report.checked,
                    "reason": report.reason_label,
                }
            else:
                message = _(
                    "%(chain)s: BROKEN at entry id %(id)d (sequence %(seq)d, action %(action)s): %(reason)s"
                ) % {
                    "chain": report.chain,
                    "id": report.first_broken.id,
                    "seq": report.first_broken.seq,
                    "action": report.first_broken.action,
                    "reason": report.reason_label,
                }
            self.stdout.write(self.style.ERROR(message))
        if not reports:
            self.stdout.write(_("The audit trail is empty."))
        if broken:
            raise CommandError(
                ngettext(
                    "%(count)d audit chain is broken.",
                    "%(count)d audit chains are broken.",
                    broken,
                )
                % {"count": broken}
            )
