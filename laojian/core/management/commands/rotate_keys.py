"""`laojian rotate_keys`: re-encrypt every sealed field with the current key (docs/data-inventory.md).

    laojian rotate_keys --new-key   -> print a new random key for LAOJIAN_FIELD_KEYS or LAOJIAN_INDEX_KEY
    laojian rotate_keys             -> rewrite every encrypted value and blind index, then re-seal every
                                       stored file not yet under the current key (audited)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core import crypto, keyrotation


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Re-encrypt the ID numbers, phones, medical text and stored files with the current key.")

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help=_("print a new random key and stop"))

    def handle(self, *args, **options):
        if options["new_key"]:
            self.stdout.write(crypto.new_key())
            return
        counts = keyrotation.rotate()
        for label, rows in counts.items():
            self.stdout.write(_("%(model)s: %(rows)s rows") % {"model": label, "rows": rows})
        self.stdout.write(_("Every value is now sealed with key %(key)s.") % {"key": crypto.keys().current})
        files = keyrotation.reseal_files()
        self.stdout.write(_("Files: %(resealed)s re-sealed, %(current)s already under key %(key)s.")
                          % {"resealed": files.resealed, "current": files.current, "key": crypto.keys().current})
        for problem in files.failed:
            self.stderr.write(problem)
        if files.failed:
            raise CommandError(_("%(n)s stored files do not open and were left as they are; keep the old key "
                                 "until they are resolved.") % {"n": len(files.failed)})
