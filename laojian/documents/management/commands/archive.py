"""`laojian archive`: the 50-year archive from the console.

    laojian archive verify         -> re-read every archived package against its manifest and recorded hash
    laojian archive verify CASE_ID -> one case's package

Exits with a non-zero status when a package is missing, changed or unreadable.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.documents import archive
from laojian.documents.models import ArchivePackage


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Check the archive.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{verify}")
        verify = sub.add_parser("verify", help=_("Check archived packages against their manifests."))
        verify.add_argument("case_id", nargs="?", type=int, help=_("only this case's package"))

    def handle(self, *args, **options):
        if options["case_id"] is not None:
            package = ArchivePackage.objects.filter(case_id=options["case_id"]).first()
            if package is None:
                raise CommandError(_("Case %(id)s has no archive package.") % {"id": options["case_id"]})
            checks = [archive.package_verify(package)]
        else:
            checks = archive.verify_all()
        failed = 0
        for check in checks:
            if check.ok:
                self.stdout.write(_("%(case)s: OK, %(n)d files match the manifest.")
                                  % {"case": check.package.case, "n": len(check.package.manifest)})
            else:
                failed += 1
                for problem in check.problems:
                    self.stderr.write(_("%(case)s: FAILED: %(problem)s") % {"case": check.package.case,
                                                                             "problem": problem})
        self.stdout.write(_("%(n)d packages checked.") % {"n": len(checks)})
        if failed:
            raise CommandError(_("%(failed)d of %(total)d packages failed the check.")
                               % {"failed": failed, "total": len(checks)})
