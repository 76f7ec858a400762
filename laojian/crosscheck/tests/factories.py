"""Test data for cross-checks: cases with claimed care, and partner records written the way an
import writes them (Parquet chunks through ``store.write_chunk`` and a finished ``ImportRun``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

import factory
import polars as pl

from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory, InjuryDeterminationFactory
from laojian.core.tests.factories import UserFactory
from laojian.crosscheck import store
from laojian.crosscheck.models import ClaimedCare, ImportRun, Source

D = dt.date
HOSPITAL_A = "聊城市人民医院"
HOSPITAL_B = "聊城市第二人民医院"
INJURY = D(2026, 3, 2)
_chunks = itertools.count(1)


def open_case(*, status: str = Status.ACCEPTED, injury_date: dt.date = INJURY, **kwargs: Any):
    """A filed case not yet concluded, whose worker was injured on ``injury_date``."""
    if "determination" not in kwargs:
        kwargs["determination"] = InjuryDeterminationFactory(injury_date=injury_date,
                                                             determination_date=injury_date + dt.timedelta(days=30))
    return CaseFactory(status=status, **kwargs)


class ClaimedCareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimedCare

    case = factory.SubFactory(CaseFactory)
    kind = ClaimedCare.Kind.STAY
    hospital_name = HOSPITAL_A
    started_on = D(2026, 3, 2)
    ended_on = D(2026, 3, 20)
    diagnosis = "右手示指末节离断伤"
    icd10 = "S62.6"
    record_number = factory.Sequence(lambda n: f"ZY{n:06d}")
    entered_by = factory.LazyAttribute(lambda o: UserFactory(committee=o.case.committee, roles=["clerk"]))


def staff(case, role: str, **kwargs: Any):
    return UserFactory(committee=case.committee, roles=[role], **kwargs)


def care_row(case, **values: Any) -> dict[str, Any]:
    """A settlement or health-department row about the case's worker (defaults: an inpatient stay
    at hospital A from 2 to 20 March 2026)."""
    row = {"id_number": case.worker.id_number, "id_valid": True, "person_name": case.worker.name,
           "hospital_code": "", "hospital_name": HOSPITAL_A, "service": "inpatient",
           "admitted_on": D(2026, 3, 2), "discharged_on": D(2026, 3, 20), "diagnosis": "", "icd10": "",
           "record_number": ""}
    row.update(values)
    return row


def licensed_row(hospital_name: str = HOSPITAL_A, **values: Any) -> dict[str, Any]:
    row = {"hospital_code": "", "hospital_name": hospital_name, "services": "inpatient|outpatient|examination",
           "valid_from": D(2020, 1, 1), "valid_until": None}
    row.update(values)
    return row


def partner_data(committee, kind: str, rows: list[dict[str, Any]], *, state: str = ImportRun.State.DONE,
                 source: Source | None = None) -> ImportRun:
    """Store rows as one import of ``kind`` would: a Source, an ImportRun, one Parquet chunk."""
    if source is None:
        source, _created = Source.objects.get_or_create(committee=committee, name=f"test {kind}",
                                                        defaults={"kind": kind})
    run = ImportRun.objects.create(source=source, file_name=f"{kind}.csv",
                                   file_sha256=hashlib.sha256(f"{kind}{next(_chunks)}".encode()).hexdigest(),
                                   state=state, rows_total=len(rows), rows_done=len(rows), rows_added=len(rows))
    schema = store.schema_for(kind)
    full = []
    for row in rows:
        values = {name: row.get(name) for name in schema if name not in ("row_key", "source_id", "run_id")}
        key = hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()[:32]
        full.append({**values, "row_key": key, "source_id": source.pk, "run_id": run.pk})
    store.write_chunk(committee.pk, kind, run.pk, 0, pl.DataFrame(full, schema=schema))
    return run
