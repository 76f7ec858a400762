"""Factories and helpers for the appraisal-mode tests: venues, sittings, cases ready to book.

Dates are counted from the real today (the services refuse the past), on working days.
"""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from laojian.cases.models import CaseAssignment, Mode, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.tests.factories import ExpertFactory
from laojian.sittings.models import Room, Sitting, SittingGroup, Venue


def workday(days_ahead: int = 7, *, start: dt.date | None = None) -> dt.date:
    """The first working day at least ``days_ahead`` days from today (weekdays where the year is unknown)."""
    day = (start or timezone.localdate()) + dt.timedelta(days=days_ahead)
    while True:
        try:
            if WorkingCalendar.for_range(day, day).is_workday(day):
                return day
        except CalendarYearMissing:
            if day.weekday() < 5:
                return day
        day += dt.timedelta(days=1)


def rest_day(days_ahead: int = 7) -> dt.date:
    """The first Sunday at least ``days_ahead`` days from today (never a make-up workday in practice)."""
    day = timezone.localdate() + dt.timedelta(days=days_ahead)
    while True:
        if day.weekday() == 6:
            try:
                if not WorkingCalendar.for_range(day, day).is_workday(day):
                    return day
            except CalendarYearMissing:
                return day
        day += dt.timedelta(days=1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue
        skip_postgeneration_save = True

    committee = factory.SubFactory(CommitteeFactory)
    name = factory.Sequence(lambda n: f"鉴定中心{n}")
    address = "聊城市东昌府区柳园路1号"

    @factory.post_generation
    def rooms(self, create, extracted, **kwargs):
        if create:
            count = extracted if extracted is not None else 3
            for i in range(count):
                Room.objects.create(venue=self, name=f"第{i + 1}鉴定室", order=i)


class SittingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sitting

    committee = factory.SubFactory(CommitteeFactory)
    venue = factory.SubFactory(VenueFactory, committee=factory.SelfAttribute("..committee"))
    date = factory.LazyFunction(lambda: workday(7))
    starts_at = dt.time(8, 30)
    ends_at = dt.time(12, 0)
    created_by = factory.SubFactory(UserFactory, committee=factory.SelfAttribute("..committee"), roles=["clerk"])


def group_of(sitting: Sitting, index: int = 0, categories: list[int] | None = None) -> SittingGroup:
    room = list(sitting.venue.rooms.order_by("order"))[index]
    return SittingGroup.objects.create(sitting=sitting, room=room, categories=categories or [2], order=index)


def reviewed_case(committee, *, mode: str = Mode.SITTING, experts: list | None = None, **kwargs):
    """A case whose preliminary review passed, with panel experts assigned (confirmed seats are not drawn)."""
    case = CaseFactory(committee=committee, status=Status.REVIEWED, mode=mode, accepted_on=timezone.localdate(),
                       reviewed_on=timezone.localdate(), **kwargs)
    for expert in experts or []:
        CaseAssignment.objects.create(case=case, user=expert.user, role=CaseAssignment.Role.EXPERT)
    return case


def clerk_of(committee):
    return UserFactory(committee=committee, roles=["clerk"])


def expert_of(committee, **kwargs):
    return ExpertFactory(committee=committee, **kwargs)
