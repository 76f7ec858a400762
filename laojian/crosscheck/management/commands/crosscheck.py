"""`laojian crosscheck`: cross-checks from the console (cron, or files too big to upload).

    laojian crosscheck import FILE --source ID [--user NAME]  -> import a partner file now, print the report
    laojian crosscheck import --resume RUN [--force]          -> go on with a failed (or dead) import
    laojian crosscheck import --discard RUN                   -> remove what a failed import wrote
    laojian crosscheck match [--committee CODE | --case ID]   -> run the matching engine (nightly: no option)

Each subcommand is a pair of functions registered in ``SUBCOMMANDS``: one adds its parser to the
subparsers, the other runs it (``(command, options)``). Add a subcommand by writing its two
functions and adding them to the dict; nothing else changes.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from laojian.core.errors import ApplicationError
from laojian.crosscheck import partners
from laojian.crosscheck.models import ImportRun, Source

# IMPORT ------------------------------------------------------------------------------------------------


def _import_arguments(sub: Any) -> None:
    parser = sub.add_parser("import", help=_("Import a partner file in the foreground and print the report."))
    parser.add_argument("file", nargs="?", help=_("the CSV or Excel file"))
    parser.add_argument("--source", type=int, help=_("the source's number (its page shows it)"))
    parser.add_argument("--user", default=None, help=_("the liaison the import is logged under (default: the console)"))
    parser.add_argument("--resume", type=int, metavar="RUN", help=_("go on with import RUN from its checkpoint"))
    parser.add_argument("--force", action="store_true",
                        help=_("with --resume: also an import still marked running (its worker died)"))
    parser.add_argument("--discard", type=int, metavar="RUN", help=_("remove the rows failed import RUN wrote"))


def _actor(options: dict[str, Any]) -> Any:
    if not options.get("user"):
        return None
    user = get_user_model().objects.filter(username=options["user"]).first()
    if user is None:
        raise CommandError(_("There is no user %(name)s.") % {"name": options["user"]})
    return user


def _run(run_id: int) -> ImportRun:
    run = ImportRun.objects.select_related("source").filter(pk=run_id).first()
    if run is None:
        raise CommandError(_("There is no import #%(run)s.") % {"run": run_id})
    return run


def _import(command: BaseCommand, options: dict[str, Any]) -> None:
    actor = _actor(options)
    progress = _progress_printer(command)
    if options["discard"]:
        run = partners.run_discard(_run(options["discard"]), actor=actor)
        command.stdout.write(_("Import #%(run)s discarded: its rows are removed.") % {"run": run.pk})
        return
    if options["resume"]:
        run = partners.run_resume(_run(options["resume"]), actor=actor, force=options["force"])
        run = partners.run_import(run.pk, progress=progress)
    else:
        if not options["file"] or not options["source"]:
            raise CommandError(_("Give a FILE and --source ID (or --resume RUN, or --discard RUN)."))
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("There is no file %(name)s.") % {"name": options["file"]})
        source = Source.objects.filter(pk=options["source"]).first()
        if source is None:
            raise CommandError(_("There is no source #%(source)s.") % {"source": options["source"]})
        run = partners.import_file(source, path, actor=actor, progress=progress)
    _print_report(command, run)
    if run.state != ImportRun.State.DONE:
        raise CommandError(run.error or _("The import did not finish."))


def _progress_printer(command: BaseCommand) -> Callable[[ImportRun], None]:
    def progress(run: ImportRun) -> None:
        total = f" / {run.rows_total:,}" if run.rows_total else ""
        command.stderr.write(_("  %(done)s%(total)s rows") % {"done": f"{run.rows_done:,}", "total": total})
    return progress


def _print_report(command: BaseCommand, run: ImportRun) -> None:
    out = command.stdout
    out.write(_("Import #%(run)s of %(source)s (%(file)s): %(state)s")
              % {"run": run.pk, "source": run.source.name, "file": run.file_name, "state": run.get_state_display()})
    rows = ((_("rows in the file"), run.rows_done), (_("added"), run.rows_added),
            (_("already stored"), run.rows_duplicate), (_("rejected"), run.rows_rejected),
            (_("kept with a warning (ID number check digit)"), run.rows_flagged))
    for label, value in rows:
        out.write(f"  {label:<48} {value:>12,}")
    if run.encoding:
        out.write(f"  {_('encoding'):<48} {run.encoding:>12}")
    report = partners.report_path(run) if run.stored_file else None
    if report is not None and report.exists():
        out.write(_("  every rejected row: %(path)s") % {"path": report})
    for reject in (run.rejects or [])[:20]:
        out.write(_("  line %(line)s: %(reason)s") % {"line": reject.get("line"),
                                                      "reason": partners.reason_label(str(reject.get("reason")))})
    if run.error:
        out.write(_("  error: %(error)s") % {"error": run.error})


# MATCH -------------------------------------------------------------------------------------------------


def _match_arguments(sub: Any) -> None:
    parser = sub.add_parser("match", help=_("Run the matching engine: every open case of every committee "
                                            "(nightly, from cron), one committee, or one case."))
    parser.add_argument("--committee", metavar="CODE", help=_("only this committee (its code)"))
    parser.add_argument("--case", type=int, metavar="ID", help=_("only this case (its number in the database)"))


@contextmanager
def _match_lock() -> Iterator[None]:
    """One nightly run at a time: a second cron start while the first still runs stops at once."""
    from laojian.crosscheck import store

    store.root().mkdir(parents=True, exist_ok=True)
    with open(store.root() / "match.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(_("Another matching run is going on; try again when it has finished.")) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _match(command: BaseCommand, options: dict[str, Any]) -> None:
    from laojian.core.models import Committee
    from laojian.crosscheck import matching, selectors, services

    with _match_lock():
        if options.get("case"):
            runs = [services.match_case_now(options["case"])]
        elif options.get("committee"):
            committee = Committee.objects.filter(code=options["committee"]).first()
            if committee is None:
                raise CommandError(_("There is no committee %(code)s.") % {"code": options["committee"]})
            runs = [services.match_committee(committee)]
        else:
            runs = services.match_all()
    failed = []
    for run in runs:
        where = run.committee.code + (f" #{run.case_id}" if run.case_id else "")
        if run.error:
            failed.append(where)
            command.stderr.write(_("%(where)s: the run failed: %(error)s") % {"where": where, "error": run.error})
            continue
        command.stdout.write(_("%(where)s: %(cases)d case(s) checked, %(found)d finding(s), %(new)d new flag(s).")
                             % {"where": where, "cases": run.cases_checked, "found": run.flags_found,
                                "new": run.flags_raised})
        for text in selectors.skipped_text(run.skipped):
            command.stdout.write(_("  some rules were not run: %(why)s") % {"why": text})
    if not runs:
        command.stdout.write(_("No open case to check (statuses: %(states)s).")
                             % {"states": ", ".join(sorted(matching.MATCHED_STATES))})
    if failed:
        raise CommandError(_("The run failed for %(where)s.") % {"where": ", ".join(failed)})


# THE COMMAND ---------------------------------------------------------------------------------------------

# name -> (add its parser to the subparsers, run it with (command, options))
SUBCOMMANDS: dict[str, tuple[Callable[[Any], None], Callable[[BaseCommand, dict[str, Any]], None]]] = {
    "import": (_import_arguments, _import),
    "match": (_match_arguments, _match),
}


class Command(BaseCommand):
    @property
    def help(self) -> str:
        return _("Cross-checks: import partner files (and the other subcommands listed below).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
        for add_arguments, _handle in SUBCOMMANDS.values():
            add_arguments(sub)

    def handle(self, *args, **options):
        _add_arguments, handle = SUBCOMMANDS[options["action"]]
        try:
            handle(self, options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
