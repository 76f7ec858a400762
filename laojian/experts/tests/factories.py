"""Factories for the expert pool."""

from __future__ import annotations

import datetime as dt

import factory

from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.models import Expert, Hospital, Specialty, TrainingRecord


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    committee = factory.SubFactory(CommitteeFactory)
    code = factory.Sequence(lambda n: f"H{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}人民医院")
    level = "三级甲等"


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("code",)

    code = "ortho"
    name = "骨科"
    category = 2


class ExpertFactory(factory.django.DjangoModelFactory):
    """An active, trained expert in term with a user account; pass ``specialties=[...]``."""

    class Meta:
        model = Expert
        skip_postgeneration_save = True

    committee = factory.SubFactory(CommitteeFactory)
    hospital = factory.SubFactory(HospitalFactory, committee=factory.SelfAttribute("..committee"))
    # An unusable password: hashing one per expert would dominate the tests (they sign in with force_login).
    user = factory.SubFactory(UserFactory, committee=factory.SelfAttribute("..committee"), roles=["expert"],
                              password=None)
    name = factory.Sequence(lambda n: f"专家{n}")
    title = "主任医师"
    senior_title = True
    term_start = dt.date(2025, 1, 1)
    term_end = dt.date(2027, 12, 31)
    phone = factory.Sequence(lambda n: f"139{n:08d}")

    @factory.post_generation
    def specialties(self, create, extracted, **kwargs):
        if create:
            self.specialties.set(extracted if extracted is not None else [SpecialtyFactory()])

    @factory.post_generation
    def trained(self, create, extracted, **kwargs):
        if create and extracted is not False:
            TrainingRecord.objects.create(expert=self, date=dt.date(2025, 2, 1), topic="政策与标准培训", hours=4)
