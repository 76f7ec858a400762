"""`laojian draw`: the panel draw from the console.

    laojian draw verify 42       -> re-run draw 42 and confirm the same panel
    laojian draw verify --all    -> every recorded draw

Exits with a non-zero status when a draw does not verify.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core.errors import NotFoundError
from laojian.experts import services
from laojian.experts.models import Draw


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Check recorded expert draws.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify}")
        verify = sub.add_parser("verify", help=_("Re-run a recorded draw and confirm it gives the same panel."))
        verify.add_argument("draw_id", nargs="?", type=int, help=_("the draw's number"))
        verify.add_argument("--all", action="store_true", help=_("verify every recorded draw"))

    def handle(self, *args, **options):
        if options["all"]:
            ids = list(Draw.objects.order_by("id").values_list("id", flat=True))
        elif options["draw_id"] is not None:
            ids = [options["draw_id"]]
        else:
            raise CommandError(_("Give a draw number or --all."))
        failed = 0
        for draw_id in ids:
            try:
                report = services.draw_verify(draw_id)
            except NotFoundError:
                raise CommandError(_("There is no draw %(id)s.") % {"id": draw_id}) from None
            if report.ok:
                self.stdout.write(_("Draw %(id)s: OK, the record re-runs to the same panel.") % {"id": draw_id})
            else:
                failed += 1
                for problem in report.problems:
                    self.stderr.write(_("Draw %(id)s: FAILED: %(problem)s") % {"id": draw_id, "problem": problem})
        if failed:
            raise CommandError(_("%(failed)s of %(total)s draws failed verification.")
                               % {"failed": failed, "total": len(ids)})
