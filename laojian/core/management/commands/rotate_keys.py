"""`laojian rotate_keys`: re-encrypt every sealed field with the current key (docs/data-inventory.md).

    laojian rotate_keys --new-key   -> print a new random key for LAOJIAN_FIELD_KEYS or LAOJIAN_INDEX_KEY
    laojian rotate_keys             -> rewrite every encrypted value and blind index (audited)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from laojian.core import crypto, keyrotation


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Re-encrypt the ID numbers, phones and medical text with the current key.")

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
