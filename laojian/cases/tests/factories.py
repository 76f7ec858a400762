"""Factories for workers, employers, determinations and cases."""

from __future__ import annotations

import datetime as dt

import factory

from laojian.cases.models import Case, CaseType, Employer, InjuryDetermination, Mode, Status, Worker
from laojian.core.tests.factories import CommitteeFactory
from laojian.core.validators import build_credit_code, build_resident_id, parse_resident_id


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    id_number = factory.Sequence(lambda n: build_resident_id("371502", dt.date(1970, 1, 1) + dt.timedelta(days=n % 9000), n % 1000))
    name = factory.Sequence(lambda n: f"工人{n}")
    birth_date = factory.LazyAttribute(lambda o: parse_resident_id(o.id_number).birth_date)
    sex = factory.LazyAttribute(lambda o: parse_resident_id(o.id_number).sex)
    phone = "13800000000"


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer

    credit_code = factory.Sequence(lambda n: build_credit_code(f"9137150{n:010d}"))
    name = factory.Sequence(lambda n: f"聊城测试企业{n}有限公司")


class InjuryDeterminationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InjuryDetermination

    number = factory.Sequence(lambda n: f"聊人社工伤认字〔2026〕{n:05d}号")
    worker = factory.SubFactory(WorkerFactory)
    employer = factory.SubFactory(EmployerFactory)
    injury_date = dt.date(2026, 3, 2)
    determination_date = dt.date(2026, 5, 6)
    injured_parts = "右手"
    diagnosis = "右手示指末节离断伤"


class CaseFactory(factory.django.DjangoModelFactory):
    """A case row as it would be in ``status``; it does not go through the workflow."""

    class Meta:
        model = Case

    committee = factory.SubFactory(CommitteeFactory)
    determination = factory.SubFactory(InjuryDeterminationFactory)
    worker = factory.SelfAttribute("determination.worker")
    employer = factory.SelfAttribute("determination.employer")
    case_type = CaseType.INITIAL
    applicant_kind = "worker"
    applicant_name = factory.SelfAttribute("worker.name")
    mode = Mode.SITTING
    status = Status.SUBMITTED
    received_on = dt.date(2026, 11, 2)
