"""Factories for committees and users."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from laojian.core.models import Committee, User


class CommitteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Committee
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"第{n}市劳动能力鉴定委员会")
    short_name = factory.Sequence(lambda n: f"第{n}市")
    code = factory.Sequence(lambda n: f"37{n:04d}")
    case_number_prefix = factory.Sequence(lambda n: f"测{n}劳鉴")


class UserFactory(factory.django.DjangoModelFactory):
    """A user; pass ``roles=["clerk"]`` to put them in role groups."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    committee = factory.SubFactory(CommitteeFactory)
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
            self.__dict__.pop("_laojian_roles", None)
