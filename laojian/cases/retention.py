"""Retention and deletion of personal data (SEC-64, PIPL Arts. 19 and 47; `laojian retention`).

Each case gets a retention class when it closes (:func:`on_status`, called by the workflow):

- ``application``: rejected, or withdrawn before it was accepted — kept ``LAOJIAN_RETENTION_DAYS
  ["application"]`` (3 years) after closing;
- ``no_conclusion``: terminated, or withdrawn after acceptance — 10 years;
- ``appraised``: archived with its conclusion — 50 years, and never before its archive package's
  own ``retain_until``.

A case past its period is **anonymised**, not deleted: the personal and free-text medical fields
declared with :func:`register_scrub` (by each app, for its own models) get neutral values, the stored files of the case (materials, examination
records, documents, receipts, the archive package) are deleted, and the case skeleton stays (type,
status, dates, clocks, grades and conclusions) for the statistics. A worker is anonymised only once
every case of theirs is; an injury determination once every case resting on it is. Every case and
every worker anonymised writes an audit entry in the same transaction as the change. The audit trail
itself is never touched: it is append-only (database triggers) and kept at least 3 years.

Signed expert opinions and findings, conclusions and discussion minutes are left as they are: they
are covered by signatures or hashes (SEC-54) that anonymising them would break (see docs/pia/).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from laojian.cases.models import Case, InjuryDetermination, RetentionClass, Status, Worker
from laojian.core import audit
from laojian.core.errors import ApplicationError

if TYPE_CHECKING:
    from laojian.core.models import User

# SEC-52 / Cybersecurity Law Art. 21: logs are kept at least six months. A case holds its timeline
# (who did what when), so no retention period may be shorter.
MIN_LOG_RETENTION_DAYS = 180

# The neutral values written in place of personal data. Stored data, not interface text: not translated.
NEUTRAL_NAME = "已匿名"
CHUNK = 200  # cases per transaction in apply: a failure rolls back one chunk; a new run goes on from there
NEUTRAL_ID_PREFIX = "ANON"  # + the worker's id, 18 characters: unique (the blind index is), never a valid ID

CLOSED_CLASSES = {
    Status.REJECTED: RetentionClass.APPLICATION,
    Status.TERMINATED: RetentionClass.NO_CONCLUSION,
    Status.ARCHIVED: RetentionClass.APPRAISED,
}


class RetentionRefused(ApplicationError):
    code = "retention_refused"


# THE CLASS ---------------------------------------------------------------------------------------


def classify(case: Case) -> str:
    """The retention class of a case in its current status (``open`` while it is not closed)."""
    if case.status == Status.WITHDRAWN:
        return RetentionClass.APPLICATION if case.accepted_on is None else RetentionClass.NO_CONCLUSION
    return CLOSED_CLASSES.get(case.status, RetentionClass.OPEN)


def on_status(case: Case, today: dt.date) -> None:
    """Set the class (and the closing day, when the case just closed) after a status change."""
    klass = classify(case)
    if klass == RetentionClass.OPEN:
        case.retention_class, case.closed_on = RetentionClass.OPEN, None
    elif klass != case.retention_class or case.closed_on is None:
        case.retention_class, case.closed_on = klass, today


# THE PERIODS -------------------------------------------------------------------------------------


def periods(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """The retention period in days of each closed class, from ``LAOJIAN_RETENTION_DAYS``.

    Refuses (``RetentionRefused``) a missing class or a period under :data:`MIN_LOG_RETENTION_DAYS`.
    """
    configured = {**getattr(settings, "LAOJIAN_RETENTION_DAYS", {}), **(overrides or {})}
    found: dict[str, int] = {}
    for klass in (c for c in RetentionClass.values if c != RetentionClass.OPEN):
        days = configured.get(klass)
        if not isinstance(days, int) or isinstance(days, bool):
            raise RetentionRefused(_("No retention period is set for the class “%(klass)s” "
                                     "(LAOJIAN_RETENTION_DAYS).") % {"klass": klass}, code="period_missing")
        if days < MIN_LOG_RETENTION_DAYS:
            raise RetentionRefused(
                _("The retention period of “%(klass)s” is %(days)s days: a case holds its timeline, a log, "
                  "which must be kept at least %(min)s days (Cybersecurity Law Art. 21). Nothing was changed.")
                % {"klass": klass, "days": days, "min": MIN_LOG_RETENTION_DAYS}, code="period_too_short")
        found[klass] = days
    return found


def retain_until(closed_on: dt.date, days: int) -> dt.date:
    """The first day a case closed on ``closed_on`` may be anonymised."""
    return closed_on + dt.timedelta(days=days)


def expired(today: dt.date, days: dict[str, int] | None = None) -> models.QuerySet[Case]:
    """Closed cases past their retention on ``today`` and not yet anonymised, oldest first."""
    days = days if days is not None else periods()
    past = Q()
    for klass, period in days.items():
        past |= Q(retention_class=klass, closed_on__lte=today - dt.timedelta(days=period))
    cases = Case.objects.filter(past, anonymised_on__isnull=True, closed_on__isnull=False)
    for keeper in _KEEPERS:
        cases = cases.exclude(keeper(today))
    return cases.order_by("closed_on", "pk")


# WHAT IS ANONYMISED ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scrub:
    """Fields of one model, reached from a case by ``case_path``, and the neutral value each gets."""

    model: str
    case_path: str
    values: dict[str, Any]


# Per case: the cases app's own fields and files; each other app registers its own in its
# AppConfig.ready() (register_scrub, register_files, register_keeper), so this module never reaches
# into another app. Every field named is also in docs/data-inventory.md.
_SCRUB: list[Scrub] = [
    Scrub("cases.case", "pk", {"applicant_name": "", "applicant_phone": "", "mode_reason": "",
                               "difficult_reason": "", "extension_reason": ""}),
    Scrub("cases.timelineentry", "case_id", {"note": ""}),
    Scrub("cases.materialcheck", "case_id", {"note": ""}),
]


@dataclass(frozen=True)
class Files:
    """Stored files of one model reached from a case; ``delete_rows``: the rows go too, else the
    file field is emptied (the row is kept, marked purged by its empty file)."""

    model: str
    case_path: str
    field: str
    delete_rows: bool


_FILES: list[Files] = [Files("cases.material", "case_id", "file", True)]
# Functions of ``today`` giving a condition on a case (an ``Exists`` over OuterRef("pk")) that keeps
# it past its own period, e.g. an archive package not yet due.
_KEEPERS: list[Callable[[dt.date], Any]] = []


def register_scrub(model: str, values: dict[str, Any], *, case_path: str = "case_id") -> None:
    """Declare the personal fields of ``model`` ("app.model") and the neutral value each gets."""
    if not any(s.model == model for s in _SCRUB):
        _SCRUB.append(Scrub(model, case_path, values))


def register_files(model: str, field: str, *, delete_rows: bool, case_path: str = "case_id") -> None:
    """Declare a file field of ``model`` whose files go with the case's personal data."""
    if not any(f.model == model and f.field == field for f in _FILES):
        _FILES.append(Files(model, case_path, field, delete_rows))


def register_keeper(keeper: Callable[[dt.date], Any]) -> None:
    """Declare a reason to keep a case longer than its class says."""
    if keeper not in _KEEPERS:
        _KEEPERS.append(keeper)


def scrub_specs() -> tuple[Scrub, ...]:
    return tuple(_SCRUB)


def file_specs() -> tuple[Files, ...]:
    return tuple(_FILES)


WORKER_VALUES = {"name": NEUTRAL_NAME, "phone": "", "address": ""}  # + id_number, birth_date: see below
DETERMINATION_VALUES = {"diagnosis": ""}


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def neutral_id_number(worker_pk: int) -> str:
    return f"{NEUTRAL_ID_PREFIX}{worker_pk:014d}"


# THE PLAN ----------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What a run found (and, after :func:`apply`, did)."""

    today: dt.date
    periods: dict[str, int]
    cases: list[Case] = field(default_factory=list)
    workers: list[int] = field(default_factory=list)  # to anonymise: all their cases past retention
    workers_kept: list[int] = field(default_factory=list)  # a case of theirs is still kept
    determinations: list[int] = field(default_factory=list)
    rows: Counter = field(default_factory=Counter)  # "app.model": rows whose fields are neutralised
    files: Counter = field(default_factory=Counter)  # "app.model": stored files deleted
    rows_deleted: Counter = field(default_factory=Counter)
    applied: bool = False

    def by_class(self) -> Counter:
        return Counter(case.retention_class for case in self.cases)


def _case_rows(case_ids: list[int], plan: Plan) -> None:
    for scrub in _SCRUB:
        plan.rows[scrub.model] += _model(scrub.model).objects.filter(**{f"{scrub.case_path}__in": case_ids}).count()
    for spec in _FILES:
        qs = _model(spec.model).objects.filter(**{f"{spec.case_path}__in": case_ids}).exclude(**{spec.field: ""})
        plan.files[spec.model] += qs.count()
        if spec.delete_rows:
            plan.rows_deleted[spec.model] += _model(spec.model).objects.filter(
                **{f"{spec.case_path}__in": case_ids}).count()


def _parties(case_ids: set[int]) -> tuple[list[int], list[int], list[int]]:
    """(workers to anonymise, workers kept, determinations to anonymise) once ``case_ids`` are done."""
    done = Q(pk__in=case_ids) | Q(anonymised_on__isnull=False)
    workers = set(Case.objects.filter(pk__in=case_ids).values_list("worker_id", flat=True))
    live_workers = set(Case.objects.filter(worker_id__in=workers).exclude(done).values_list("worker_id", flat=True))
    determinations = set(Case.objects.filter(pk__in=case_ids).values_list("determination_id", flat=True))
    live_determinations = set(Case.objects.filter(determination_id__in=determinations).exclude(done)
                              .values_list("determination_id", flat=True))
    return sorted(workers - live_workers), sorted(workers & live_workers), sorted(determinations - live_determinations)


def report(*, today: dt.date, overrides: dict[str, int] | None = None) -> Plan:
    """The dry run: which cases are past their retention on ``today`` and what apply would change."""
    plan = Plan(today=today, periods=periods(overrides))
    plan.cases = list(expired(today, plan.periods).select_related("committee"))
    ids = [case.pk for case in plan.cases]
    _case_rows(ids, plan)
    plan.workers, plan.workers_kept, plan.determinations = _parties(set(ids))
    plan.workers = [pk for pk in plan.workers if Worker.objects.filter(pk=pk, anonymised_on__isnull=True).exists()]
    return plan


# APPLYING ----------------------------------------------------------------------------------------


def _delete_files_on_commit(names: list[tuple[Any, str]]) -> None:
    """Files go once the rows that named them are committed: a rollback never leaves a row without its file."""

    def delete() -> None:
        for storage, name in names:
            storage.delete(name)

    if names:
        transaction.on_commit(delete)


def _counts(qs: models.QuerySet, path: str) -> Counter:
    """Rows of ``qs`` per case."""
    return Counter(dict(qs.order_by().values_list(path).annotate(n=Count("pk")).values_list(path, "n")))


def _anonymise_cases(cases: list[Case], *, today: dt.date, actor: User | None, plan: Plan) -> None:
    """Anonymise one chunk of cases in one transaction, with an audit entry per case (written in the
    same transaction, batched: one locked chain head per chunk instead of one per entry)."""
    by_pk = {case.pk: case for case in cases}
    with transaction.atomic(), audit.batched():
        ids = list(Case.objects.select_for_update().filter(pk__in=list(by_pk), anonymised_on__isnull=True)
                   .order_by("pk").values_list("pk", flat=True))
        if not ids:  # another run did them meanwhile
            return
        rows: dict[int, Counter] = {pk: Counter() for pk in ids}
        files: dict[int, Counter] = {pk: Counter() for pk in ids}
        names: list[tuple[Any, str]] = []
        for spec in _FILES:
            model = _model(spec.model)
            qs = model.objects.filter(**{f"{spec.case_path}__in": ids})
            storage = model._meta.get_field(spec.field).storage
            for case_id, name in qs.exclude(**{spec.field: ""}).values_list(spec.case_path, spec.field):
                if name:
                    names.append((storage, name))
                    files[case_id][spec.model] += 1
                    plan.files[spec.model] += 1
            if spec.delete_rows:
                for case_id, count in _counts(qs, spec.case_path).items():
                    rows[case_id][f"{spec.model} deleted"] += count
                    plan.rows_deleted[spec.model] += count
                qs.delete()
            else:
                qs.exclude(**{spec.field: ""}).update(**{spec.field: ""})
        for scrub in _SCRUB:
            qs = _model(scrub.model).objects.filter(**{f"{scrub.case_path}__in": ids})
            if scrub.case_path != "pk":
                for case_id, count in _counts(qs, scrub.case_path).items():
                    rows[case_id][scrub.model] += count
            plan.rows[scrub.model] += qs.update(**scrub.values)
        Case.objects.filter(pk__in=ids).update(anonymised_on=today)
        for pk in ids:
            case = by_pk[pk]
            audit.record("retention.anonymise_case", actor=actor, committee=case.committee,
                         object_type=Case._meta.label_lower, object_id=str(pk),
                         after={"retention_class": case.retention_class, "closed_on": case.closed_on,
                                "period_days": plan.periods[case.retention_class],
                                "rows": dict(rows[pk]), "files_deleted": dict(files[pk])})
        _delete_files_on_commit(names)


def _anonymise_worker(worker_id: int, *, today: dt.date, actor: User | None) -> str:
    """Anonymise one worker whose cases are all anonymised; inside the caller's transaction.
    Returns "done", "kept" (a case of theirs is still kept) or "" (anonymised before)."""
    worker = Worker.objects.select_for_update().filter(pk=worker_id, anonymised_on__isnull=True).first()
    if worker is None:
        return ""
    cases = list(Case.objects.filter(worker_id=worker_id).order_by("pk").values_list("pk", "anonymised_on"))
    if any(anonymised is None for _pk, anonymised in cases):
        return "kept"
    for name, value in WORKER_VALUES.items():
        setattr(worker, name, value)
    worker.id_number = neutral_id_number(worker.pk)  # the blind index follows at save: unique
    worker.birth_date = dt.date(worker.birth_date.year, 1, 1)  # the year stays for age statistics
    worker.anonymised_on = today
    worker.save(update_fields=[*WORKER_VALUES, "id_number", "id_number_index", "birth_date", "anonymised_on",
                               "updated_at"])
    audit.record("retention.anonymise_worker", actor=actor, obj=worker,
                 after={"fields": sorted([*WORKER_VALUES, "id_number", "birth_date"]),
                        "cases": [pk for pk, _anonymised in cases]})
    return "done"


def _anonymise_determination(determination_id: int, *, actor: User | None) -> bool:
    with transaction.atomic():
        if Case.objects.filter(determination_id=determination_id, anonymised_on__isnull=True).exists():
            return False
        changed = (InjuryDetermination.objects.filter(pk=determination_id).exclude(diagnosis="")
                   .update(**DETERMINATION_VALUES))
        if changed:
            audit.record("retention.anonymise_determination", actor=actor,
                         object_type=InjuryDetermination._meta.label_lower, object_id=str(determination_id),
                         after={"fields": sorted(DETERMINATION_VALUES)})
    return bool(changed)


def apply(*, today: dt.date, actor: User | None = None, overrides: dict[str, int] | None = None) -> Plan:
    """Anonymise every case past its retention on ``today``, then the workers and determinations
    whose cases are all anonymised. One transaction per chunk of :data:`CHUNK` cases, with an audit
    entry per case: a run that stops half-way is simply run again; a second run finds nothing to do."""
    plan = Plan(today=today, periods=periods(overrides))
    plan.cases = list(expired(today, plan.periods).select_related("committee"))
    for start in range(0, len(plan.cases), CHUNK):
        _anonymise_cases(plan.cases[start:start + CHUNK], today=today, actor=actor, plan=plan)
    ids = {case.pk for case in plan.cases}
    # Also parties left over by an earlier run that stopped between a case and its worker.
    pending_workers = set(Worker.objects.filter(anonymised_on__isnull=True)
                          .filter(Exists(Case.objects.filter(worker=OuterRef("pk"), anonymised_on__isnull=False)))
                          .values_list("pk", flat=True))
    workers = set(Case.objects.filter(pk__in=ids).values_list("worker_id", flat=True)) | pending_workers
    ordered = sorted(workers)
    for start in range(0, len(ordered), CHUNK):
        with transaction.atomic(), audit.batched():
            for worker_id in ordered[start:start + CHUNK]:
                outcome = _anonymise_worker(worker_id, today=today, actor=actor)
                if outcome == "done":
                    plan.workers.append(worker_id)
                elif outcome == "kept":
                    plan.workers_kept.append(worker_id)
    determinations = set(Case.objects.filter(Q(pk__in=ids) | Q(worker_id__in=workers))
                         .values_list("determination_id", flat=True))
    for determination_id in sorted(determinations):
        if _anonymise_determination(determination_id, actor=actor):
            plan.determinations.append(determination_id)
    plan.applied = True
    return plan
