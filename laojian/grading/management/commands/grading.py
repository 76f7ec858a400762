"""`laojian grading`: the grading standard from the console.

    laojian grading import FILE --edition "GB/T 16180-20xx" [--effective 2027-01-01]
    laojian grading import-periods FILE          -> add or update paid-leave catalogue entries
    laojian grading combine 5.10.2(12) 5.10.2(12) -> "9级" on the first line, the reasoning below
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core.errors import ApplicationError
from laojian.core.management.arguments import parse_date
from laojian.grading import catalogue, rules, selectors


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Load the grading standard and check how several injuries combine.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import,import-periods,combine}")
        load = sub.add_parser("import", help=_("Load an edition of GB/T 16180 from a CSV file."))
        load.add_argument("file", help=_("CSV: clause_id,grade,seq,categories,body_parts,criterion_zh"))
        load.add_argument("--edition", required=True, help=_("the edition's name, e.g. GB/T 16180-2014"))
        load.add_argument("--title", default="", help=_("the standard's title"))
        load.add_argument("--effective", type=parse_date, default=None, help=_("in force from (YYYY-MM-DD)"))
        load.add_argument("--not-current", action="store_true",
                          help=_("load it without making it the edition new opinions use"))
        periods = sub.add_parser("import-periods", help=_("Add or update paid-leave catalogue entries."))
        periods.add_argument("file", help=_("CSV: icd10,name_zh,body_region,max_months[,source]"))
        combine = sub.add_parser("combine", help=_("Print the overall grade of several clauses and why."))
        combine.add_argument("clauses", nargs="*", help=_("clause numbers such as 5.10.2(12)"))
        combine.add_argument("--edition", default=None, help=_("the edition (default: the current one)"))
        combine.add_argument("--review", action="store_true", help=_("a review appraisal"))

    def handle(self, *args, **options):
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None

    def _read(self, name: str) -> bytes:
        path = Path(name)
        if not path.is_file():
            raise CommandError(_("There is no file %(name)s.") % {"name": name})
        return path.read_bytes()

    def _import(self, options) -> None:
        result = catalogue.import_edition(self._read(options["file"]), code=options["edition"],
                                          title=options["title"], effective_from=options["effective"],
                                          make_current=not options["not_current"])
        self.stdout.write(_("Loaded %(edition)s: %(n)d clauses.") % {"edition": result.edition.code,
                                                                      "n": result.clauses})
        self.stdout.write(", ".join(f"{grade}级 {n}" for grade, n in result.per_grade.items()))

    def _import_periods(self, options) -> None:
        n = catalogue.import_leave_periods(self._read(options["file"]))
        self.stdout.write(_("%(n)d catalogue entries added or updated.") % {"n": n})

    def _combine(self, options) -> None:
        if options["edition"]:
            from laojian.grading.models import Edition

            edition = Edition.objects.filter(code=options["edition"]).first()
            if edition is None:
                raise CommandError(_("Edition %(code)s is not loaded.") % {"code": options["edition"]})
        else:
            edition = selectors.current_edition()
        found = selectors.clauses_by_number(edition, options["clauses"])
        unknown = [c for c in options["clauses"] if c not in found]
        if unknown:
            raise CommandError(_("Clause %(clause)s does not exist in %(edition)s.")
                               % {"clause": unknown[0], "edition": edition.code})
        result = rules.combine([found[c].grade for c in options["clauses"]], review=options["review"])
        self.stdout.write(result.label)
        for number in options["clauses"]:
            self.stdout.write(f"  {number} {found[number].grade}级 {found[number].criterion}")
        for reason in result.reasons:
            self.stdout.write(f"  {reason}")
        if len(result.allowed) > 1:
            self.stdout.write("  " + _("The panel may confirm: %(grades)s.")
                              % {"grades": " / ".join(rules.grade_label(g) for g in result.allowed)})
