"""`laojian backup`: an online backup of the database and the data files, with a manifest of hashes.

    laojian backup                  -> into LAOJIAN_BACKUP_DIR (default: <data dir>/backups)
    laojian backup --to /mnt/backup -> into another directory (another disk, another machine)

Safe while the server runs. Prints the new backup's directory; cron can keep the last N of them.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core import backup


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Back up the database and the data files, with a manifest of their SHA-256 hashes.")

    def add_arguments(self, parser):
        parser.add_argument("--to", default=None, help=_("the directory to write the backup into"))

    def handle(self, *args, **options):
        destination = Path(options["to"] or settings.LAOJIAN_BACKUP_DIR)
        try:
            made = backup.backup(destination)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        tables = made.manifest["fingerprint"]["tables"]
        self.stdout.write(_("Backup written to %(path)s: %(tables)s tables, %(rows)s rows, %(files)s files.") % {
            "path": made.path, "tables": len(tables), "rows": sum(tables.values()),
            "files": len(made.manifest["files"])})
