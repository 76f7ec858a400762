"""`laojian restore`: put a backup made by `laojian backup` into an empty instance, and prove it.

    laojian restore /mnt/backup/laojian-backup-20261207T020000000000Z
    laojian restore --check PATH   -> only check the backup's files against its manifest

Every file is checked against its SHA-256 before anything is written. After the restore the row count
of every table and the digests of the approved conclusions and the audit chains are compared with the
backup's own; any difference is listed and the command fails.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core import backup


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Restore a backup into an empty instance and compare the result with the backup.")

    def add_arguments(self, parser):
        parser.add_argument("path", help=_("the backup's directory"))
        parser.add_argument("--check", action="store_true", help=_("only check the backup's files against their hashes"))

    def handle(self, *args, **options):
        path = Path(options["path"])
        try:
            if options["check"]:
                manifest = backup.read_manifest(path)
                self.stdout.write(_("The backup is whole: %(files)s files match their hashes.")
                                  % {"files": len(manifest["files"]) + 1})
                return
            differences = backup.restore(path)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        if differences:
            raise CommandError(_("The restored data differ from the backup:") + "\n" + "\n".join(differences))
        self.stdout.write(_("Restored and checked: every table's row count and every digest match the backup."))
