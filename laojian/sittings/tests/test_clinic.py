"""The appraisal clinic: the duty roster, the slots it yields, the earliest suitable slot, booking."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from laojian.cases.models import Mode, Status
from laojian.core.audit import AuditEvent
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar
from laojian.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from laojian.core.models import CalendarDay
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.models import ConflictDeclaration, Expert, Panel, UnavailablePeriod
from laojian.experts.tests.factories import SpecialtyFactory
from laojian.sittings import clinic, day, selectors, services
from laojian.sittings.clinic import Busy, Line, generate_slots
from laojian.sittings.models import Appointment, RosterEntry, SchedulingRules
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import (
    SittingFactory,
    VenueFactory,
    at,
    clerk_of,
    expert_of,
    group_of,
    reviewed_case,
)

pytestmark = pytest.mark.django_db

TZ_BOUNDS = {"am": (dt.time(8, 30), dt.time(12, 0)), "pm": (dt.time(14, 0), dt.time(17, 30))}


def is_workday(day: dt.date) -> bool:
    try:
        return WorkingCalendar.for_range(day, day).is_workday(day)
    except CalendarYearMissing:
        return day.weekday() < 5


def first_roster_day(weekday: int, *, lead: int = 3) -> dt.date:
    """The first working day of ``weekday`` at least ``lead`` days from today."""
    day = timezone.localdate() + dt.timedelta(days=lead)
    while day.weekday() != weekday or not is_workday(day):
        day += dt.timedelta(days=1)
    return day


class Clinic:
    """A committee with a venue, a clerk, one specialty and one expert sitting Tuesday mornings."""

    def __init__(self, weekday: int = 1, half: str = "am"):
        self.committee = CommitteeFactory()
        self.venue = VenueFactory(committee=self.committee)
        self.room = self.venue.rooms.order_by("order").first()
        self.specialty = SpecialtyFactory()
        self.clerk = clerk_of(self.committee)
        self.expert = expert_of(self.committee, specialties=[self.specialty])
        self.entry = self.add(self.expert, weekday=weekday, half=half)

    def add(self, expert: Expert, *, weekday: int = 1, half: str = "am", room=None, **kwargs) -> RosterEntry:
        return clinic.roster_add(self.committee, actor=self.clerk, expert_id=expert.pk,
                                 specialty_id=kwargs.pop("specialty_id", self.specialty.pk), weekday=weekday,
                                 half=half, venue_id=kwargs.pop("venue_id", self.venue.pk),
                                 room_id=(room or self.room).pk,
                                 valid_from=kwargs.pop("valid_from", timezone.localdate()), **kwargs)

    def case(self, **kwargs):
        return reviewed_case(self.committee, mode=Mode.CLINIC, **kwargs)


# THE ROSTER --------------------------------------------------------------------------------------

def test_a_roster_line_is_added_and_audited():
    c = Clinic()
    assert c.entry.expert == c.expert and c.entry.weekday == 1 and c.entry.half == "am"
    assert AuditEvent.objects.filter(action="roster.add", object_id=str(c.entry.pk)).exists()


def test_an_expert_of_another_committee_is_refused():
    c = Clinic()
    with pytest.raises(ValidationFailed) as exc:
        c.add(expert_of(CommitteeFactory(), specialties=[c.specialty]), weekday=2)
    assert exc.value.code == "bad_expert"


def test_an_inactive_expert_is_refused():
    c = Clinic()
    retired = expert_of(c.committee, specialties=[c.specialty], status=Expert.Status.RETIRED)
    with pytest.raises(ValidationFailed) as exc:
        c.add(retired, weekday=2)
    assert exc.value.code == "expert_inactive"


def test_a_specialty_the_expert_lacks_is_refused():
    c = Clinic()
    other = SpecialtyFactory(code="neuro", name="神经内科", category=1)
    with pytest.raises(ValidationFailed) as exc:
        c.add(c.expert, weekday=2, specialty_id=other.pk)
    assert exc.value.code == "bad_specialty"


def test_a_venue_of_another_committee_is_refused():
    c = Clinic()
    with pytest.raises(ValidationFailed) as exc:
        c.add(c.expert, weekday=2, venue_id=VenueFactory().pk)
    assert exc.value.code == "bad_venue"


def test_a_room_of_another_venue_is_refused():
    c = Clinic()
    with pytest.raises(ValidationFailed) as exc:
        c.add(c.expert, weekday=2, room=VenueFactory(committee=c.committee).rooms.first())
    assert exc.value.code == "bad_room"


def test_a_line_ending_before_it_starts_is_refused():
    c = Clinic()
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as exc:
        c.add(c.expert, weekday=2, valid_from=today, valid_to=today - dt.timedelta(days=1))
    assert exc.value.code == "validity_order"


def test_the_same_expert_twice_on_one_half_day_is_refused():
    c = Clinic()
    with pytest.raises(ValidationFailed) as exc:
        c.add(c.expert, weekday=1, room=c.venue.rooms.order_by("order")[1])
    assert exc.value.code == "roster_duplicate"
    assert RosterEntry.objects.count() == 1


def test_the_same_half_day_in_a_later_period_is_allowed():
    c = Clinic()
    today = timezone.localdate()
    clinic.roster_end(c.entry.pk, actor=c.clerk, valid_to=today + dt.timedelta(days=30))
    later = c.add(c.expert, weekday=1, valid_from=today + dt.timedelta(days=31))
    assert later.pk


def test_a_room_held_by_another_expert_is_refused():
    c = Clinic()
    with pytest.raises(ValidationFailed) as exc:
        c.add(expert_of(c.committee, specialties=[c.specialty]), weekday=1)
    assert exc.value.code == "room_taken"


def test_a_user_without_the_planning_permission_cannot_add_lines():
    c = Clinic()
    reviewer = UserFactory(committee=c.committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        clinic.roster_add(c.committee, actor=reviewer, expert_id=c.expert.pk, specialty_id=c.specialty.pk,
                          weekday=3, half="pm", venue_id=c.venue.pk, valid_from=timezone.localdate())


def test_ending_a_line_sets_its_last_day_and_is_audited():
    c = Clinic()
    last = timezone.localdate() + dt.timedelta(days=14)
    clinic.roster_end(c.entry.pk, actor=c.clerk, valid_to=last)
    c.entry.refresh_from_db()
    assert c.entry.valid_to == last
    assert AuditEvent.objects.filter(action="roster.end", object_id=str(c.entry.pk)).exists()


def test_a_line_cannot_end_before_booked_slots():
    c = Clinic()
    clinic.clinic_book(c.case().pk, **_key(clinic.earliest_slot(c.case())), actor=c.clerk)
    with pytest.raises(ValidationFailed) as exc:
        clinic.roster_end(c.entry.pk, actor=c.clerk, valid_to=timezone.localdate())
    assert exc.value.code == "roster_has_bookings"


def test_another_committees_clerk_cannot_end_a_line():
    c = Clinic()
    with pytest.raises(NotFoundError):
        clinic.roster_end(c.entry.pk, actor=clerk_of(CommitteeFactory()), valid_to=timezone.localdate())


# SLOT GENERATION (PURE) ----------------------------------------------------------------------------

def _aware(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)


lines_strategy = st.lists(
    st.builds(Line, entry_id=st.integers(1, 50), expert_id=st.integers(1, 4), weekday=st.integers(0, 6),
              half=st.sampled_from(["am", "pm"]), valid_from=st.dates(dt.date(2030, 1, 1), dt.date(2030, 2, 1)),
              valid_to=st.none() | st.dates(dt.date(2030, 1, 1), dt.date(2030, 3, 1))),
    max_size=12).map(lambda lines: [dataclasses.replace(ln, entry_id=i + 1) for i, ln in enumerate(lines)])


@settings(max_examples=60, deadline=None)
@given(lines=lines_strategy, minutes=st.sampled_from([10, 15, 20, 30, 45, 60, 90]),
       rest=st.sets(st.dates(dt.date(2030, 1, 1), dt.date(2030, 2, 28)), max_size=15),
       lead=st.integers(0, 30),
       booked=st.lists(st.tuples(st.integers(1, 4), st.dates(dt.date(2030, 1, 1), dt.date(2030, 2, 28)),
                                 st.integers(8 * 60, 17 * 60)), max_size=20))
def test_generated_slots_never_overlap_stay_inside_the_half_day_and_skip_rest_days(lines, minutes, rest, lead,
                                                                                     booked):
    first, last = dt.date(2030, 1, 1), dt.date(2030, 2, 28)
    earliest = first + dt.timedelta(days=lead)
    busy_raw: dict[int, list] = {}
    for expert_id, day_, minute in booked:
        start = _aware(day_, dt.time(minute // 60, minute % 60))
        busy_raw.setdefault(expert_id, []).append((start, start + dt.timedelta(minutes=25)))
    busy = {k: Busy(v) for k, v in busy_raw.items()}
    slots = list(generate_slots(lines, first=first, last=last, bounds=TZ_BOUNDS, minutes=minutes,
                                is_workday=lambda d: d.weekday() < 5 and d not in rest, earliest=earliest,
                                busy=busy, make=_aware))
    by_expert: dict[int, list] = {}
    for slot in slots:
        d = slot.starts_at.date()
        line = next(ln for ln in lines if ln.entry_id == slot.entry_id and ln.weekday == d.weekday()
                    and ln.valid_from <= d and (ln.valid_to is None or d <= ln.valid_to))
        begin, end = TZ_BOUNDS[line.half]
        assert begin <= slot.starts_at.time() and slot.ends_at.time() <= end
        assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=minutes)
        assert d.weekday() < 5 and d not in rest
        assert earliest <= d <= last
        assert not any(s < slot.ends_at and e > slot.starts_at for s, e in busy_raw.get(slot.expert_id, ()))
        by_expert.setdefault(slot.expert_id, []).append(slot)
    for own in by_expert.values():
        own.sort(key=lambda s: s.starts_at)
        assert all(a.ends_at <= b.starts_at for a, b in zip(own, own[1:], strict=False))
    assert [s.starts_at for s in slots] == sorted(s.starts_at for s in slots)


def test_a_busy_interval_removes_the_slots_it_touches():
    line = Line(1, 7, 0, "am", dt.date(2030, 1, 1), None)
    monday = dt.date(2030, 1, 7)
    busy = {7: Busy([(_aware(monday, dt.time(9, 10)), _aware(monday, dt.time(9, 40)))])}
    slots = list(generate_slots([line], first=monday, last=monday, bounds=TZ_BOUNDS, minutes=30,
                                is_workday=lambda d: True, earliest=monday, busy=busy, make=_aware))
    starts = [s.starts_at.time() for s in slots]
    assert dt.time(9, 0) not in starts and dt.time(9, 30) not in starts
    assert starts[:2] == [dt.time(8, 30), dt.time(10, 0)] and len(starts) == 5


# SLOTS FROM THE ROSTER ---------------------------------------------------------------------------

def test_slots_are_cut_from_the_half_day_by_the_committees_slot_length():
    c = Clinic()
    day_ = first_roster_day(1)
    slots = list(clinic.bookable_slots(c.committee, first=day_, last=day_))
    assert [selectors.local(s.starts_at).time() for s in slots] == [
        dt.time(8, 30), dt.time(9), dt.time(9, 30), dt.time(10), dt.time(10, 30), dt.time(11), dt.time(11, 30)]
    assert slots[0].place.startswith(c.venue.name) and c.room.name in slots[0].place


def test_a_holiday_on_the_roster_day_is_skipped():
    c = Clinic()
    day_ = first_roster_day(1)
    CalendarDay.objects.create(date=day_, kind=CalendarDay.Kind.HOLIDAY, name="测试假日")
    assert clinic.earliest_slot(c.case()).starts_at.date() > day_


def test_no_slot_is_offered_inside_the_lead_time():
    c = Clinic()
    SchedulingRules.objects.update_or_create(committee=c.committee, defaults={"notice_lead_days": 12})
    slot = clinic.earliest_slot(c.case())
    assert selectors.local(slot.starts_at).date() >= timezone.localdate() + dt.timedelta(days=12)


def test_a_booked_slot_is_not_offered_again():
    c = Clinic()
    first = clinic.earliest_slot(c.case())
    clinic.clinic_book(c.case().pk, **_key(first), actor=c.clerk)
    assert clinic.earliest_slot(c.case()).starts_at == first.starts_at + dt.timedelta(minutes=30)


def test_an_examined_slot_stays_taken():
    c = Clinic()
    first = clinic.earliest_slot(c.case())
    appointment = clinic.clinic_book(c.case().pk, **_key(first), actor=c.clerk)
    Appointment.objects.filter(pk=appointment.pk).update(state=Appointment.State.EXAMINED)
    assert clinic.earliest_slot(c.case()).starts_at != first.starts_at


def test_an_expert_sitting_on_a_panel_elsewhere_is_not_offered_then():
    c = Clinic(weekday=3)
    day_ = first_roster_day(1)
    sitting = SittingFactory(committee=c.committee, date=day_)
    other = reviewed_case(c.committee, experts=[c.expert])
    start = at(day_, 8, 30)
    services.appointment_book(other.pk, Booking(mode=Mode.SITTING, starts_at=start,
                                                ends_at=start + dt.timedelta(hours=1), group_id=group_of(sitting).pk),
                              actor=c.clerk)
    c.add(c.expert, weekday=1, room=c.venue.rooms.order_by("order")[1])  # the duty added after the sitting
    slots = list(clinic.bookable_slots(c.committee, first=day_, last=day_))
    assert selectors.local(slots[0].starts_at).time() == dt.time(9, 30)


def test_an_expert_on_leave_is_not_offered():
    c = Clinic()
    day_ = first_roster_day(1)
    UnavailablePeriod.objects.create(expert=c.expert, start=day_, end=day_, reason="休假")
    assert list(clinic.bookable_slots(c.committee, first=day_, last=day_)) == []


def test_an_expert_without_the_required_training_is_not_offered():
    c = Clinic(weekday=3)
    untrained = expert_of(c.committee, specialties=[c.specialty], trained=False)
    c.add(untrained, weekday=1, room=c.venue.rooms.order_by("order")[1])
    day_ = first_roster_day(1)
    assert list(clinic.bookable_slots(c.committee, first=day_, last=day_)) == []


# THE EARLIEST SUITABLE SLOT ----------------------------------------------------------------------

def test_the_earliest_slot_is_the_first_roster_morning_after_the_lead_time():
    c = Clinic()
    slot = clinic.earliest_slot(c.case())
    assert slot.starts_at == at(first_roster_day(1), 8, 30)
    assert slot.expert_id == c.expert.pk and slot.entry_id == c.entry.pk


def test_the_earliest_slot_follows_the_specialty_of_the_cases_injuries():
    c = Clinic(weekday=1)
    neuro = SpecialtyFactory(code="neuro", name="神经内科", category=1)
    neurologist = expert_of(c.committee, specialties=[neuro])
    c.add(neurologist, weekday=3, specialty_id=neuro.pk, room=c.venue.rooms.order_by("order")[1])
    case = c.case()
    Panel.objects.create(case=case, committee=c.committee, size=3, categories=[1], sitting_date=timezone.localdate(),
                         created_by=c.clerk, state=Panel.State.CANCELLED)
    assert clinic.earliest_slot(case).expert_id == neurologist.pk


def test_an_explicit_specialty_choice_wins():
    c = Clinic(weekday=1)
    neuro = SpecialtyFactory(code="neuro", name="神经内科", category=1)
    neurologist = expert_of(c.committee, specialties=[neuro])
    c.add(neurologist, weekday=3, specialty_id=neuro.pk, room=c.venue.rooms.order_by("order")[1])
    assert clinic.earliest_slot(c.case(), specialty_ids=[neuro.pk]).expert_id == neurologist.pk


def test_an_expert_with_a_declared_conflict_is_not_offered():
    c = Clinic(weekday=1)
    colleague = expert_of(c.committee, specialties=[c.specialty])
    c.add(colleague, weekday=3, room=c.venue.rooms.order_by("order")[1])
    case = c.case()
    ConflictDeclaration.objects.create(expert=c.expert, worker=case.worker, reason="近亲属")
    assert clinic.earliest_slot(case).expert_id == colleague.pk


def test_a_roster_line_starting_months_ahead_is_found():
    c = Clinic()
    later = timezone.localdate() + dt.timedelta(days=150)
    clinic.roster_end(c.entry.pk, actor=c.clerk, valid_to=timezone.localdate())
    c.add(c.expert, weekday=1, valid_from=later)
    slot = clinic.earliest_slot(c.case())
    assert selectors.local(slot.starts_at).date() >= later


def test_no_roster_means_no_slot():
    committee = CommitteeFactory()
    assert clinic.earliest_slot(reviewed_case(committee, mode=Mode.CLINIC)) is None


def test_a_year_of_roster_costs_a_fixed_number_of_queries(django_assert_max_num_queries):
    c = Clinic()
    for weekday in range(5):
        for half in ("am", "pm"):
            if (weekday, half) != (1, "am"):
                c.add(expert_of(c.committee, specialties=[c.specialty]), weekday=weekday, half=half)
    case = c.case()
    with django_assert_max_num_queries(60):  # a few per window (4 weeks, 8, 16, 32), none per slot
        slots = clinic.next_slots(case, count=5000)
    assert len(slots) > 1000  # a year of ten half-days a week


# BOOKING -----------------------------------------------------------------------------------------

def _key(slot) -> dict:
    return {"entry_id": slot.entry_id, "starts_at": slot.starts_at}


def test_booking_a_slot_schedules_the_case_at_the_roster_place():
    c = Clinic()
    case = c.case()
    slot = clinic.earliest_slot(case)
    appointment = clinic.clinic_book(case.pk, **_key(slot), actor=c.clerk)
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED
    assert appointment.mode == Mode.CLINIC and appointment.expert == c.expert and appointment.roster_entry == c.entry
    assert appointment.place == f"{c.venue.name}（{c.venue.address}）{c.room.name}"
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=30)


def test_a_slot_booked_by_another_clerk_is_refused_and_nothing_is_saved():
    c = Clinic()
    slot = clinic.earliest_slot(c.case())
    clinic.clinic_book(c.case().pk, **_key(slot), actor=c.clerk)
    second = c.case()
    with pytest.raises(ApplicationError) as exc:
        clinic.clinic_book(second.pk, **_key(slot), actor=clerk_of(c.committee))
    assert exc.value.code in {"double_booked", "booked_meanwhile"}
    second.refresh_from_db()
    assert second.status == Status.REVIEWED and not second.appointments.exists()


def test_the_database_refuses_a_second_booking_of_a_slot():
    c = Clinic()
    slot = clinic.earliest_slot(c.case())
    clinic.clinic_book(c.case().pk, **_key(slot), actor=c.clerk)
    with pytest.raises(ConflictError) as exc:
        # Past the service's own check (as a concurrent clerk would be): the constraint answers.
        with mock.patch.object(selectors, "conflicts", return_value=[]):
            clinic.clinic_book(c.case().pk, **_key(slot), actor=c.clerk)
    assert exc.value.code == "booked_meanwhile"


def test_a_time_off_the_roster_grid_is_refused():
    c = Clinic()
    slot = clinic.earliest_slot(c.case())
    with pytest.raises(ValidationFailed) as exc:
        clinic.clinic_book(c.case().pk, entry_id=c.entry.pk, starts_at=slot.starts_at + dt.timedelta(minutes=10),
                           actor=c.clerk)
    assert exc.value.code == "not_on_roster"


def test_a_recused_expert_cannot_be_booked_for_the_case():
    c = Clinic()
    case = c.case()
    slot = clinic.earliest_slot(case)
    ConflictDeclaration.objects.create(expert=c.expert, employer=case.employer, reason="曾任该单位顾问")
    with pytest.raises(ValidationFailed) as exc:
        clinic.clinic_book(case.pk, **_key(slot), actor=c.clerk)
    assert exc.value.code == "expert_recused"


def test_a_clinic_case_goes_from_booked_to_examined():
    c = Clinic()
    case = c.case()
    appointment = clinic.clinic_book(case.pk, **_key(clinic.earliest_slot(case)), actor=c.clerk)
    day.examination_done(appointment.pk, actor=c.clerk, at=appointment.starts_at + dt.timedelta(minutes=20))
    case.refresh_from_db()
    appointment.refresh_from_db()
    assert appointment.state == Appointment.State.EXAMINED
    assert case.status == Status.EXAMINED


# THE APPLICANT BOOKS ON THE PORTAL ---------------------------------------------------------------

def applicant_case(c: Clinic):
    applicant = UserFactory(roles=["applicant"])
    return applicant, c.case(applicant_user=applicant)


def test_the_applicant_books_their_own_case_and_the_trail_names_them():
    c = Clinic()
    applicant, case = applicant_case(c)
    slot = clinic.earliest_slot(case)
    appointment = clinic.clinic_book_by_applicant(case.pk, applicant=applicant, **_key(slot))
    assert appointment.created_by.username == f"system-{c.committee.code}"
    assert AuditEvent.objects.filter(action="appointment.book_by_applicant", actor=applicant).exists()
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED


def test_an_applicant_cannot_book_someone_elses_case():
    c = Clinic()
    _owner, case = applicant_case(c)
    stranger = UserFactory(roles=["applicant"])
    with pytest.raises(NotFoundError):
        clinic.clinic_book_by_applicant(case.pk, applicant=stranger, **_key(clinic.earliest_slot(case)))
    assert not Appointment.objects.exists()


def test_an_applicant_cannot_book_a_sitting_case_at_the_clinic():
    c = Clinic()
    applicant = UserFactory(roles=["applicant"])
    case = reviewed_case(c.committee, mode=Mode.SITTING, applicant_user=applicant)
    with pytest.raises(NotFoundError):
        clinic.clinic_book_by_applicant(case.pk, applicant=applicant, **_key(clinic.earliest_slot(case)))


# CONCURRENCY -------------------------------------------------------------------------------------

@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers; the race needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_clerks_booking_one_slot_at_the_same_moment_cannot_both_succeed():
    c = Clinic()
    cases = [c.case(), c.case()]
    clerks = [c.clerk, clerk_of(c.committee)]
    slot = clinic.earliest_slot(cases[0])
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def go(i: int) -> None:
        try:
            barrier.wait()
            clinic.clinic_book(cases[i].pk, **_key(slot), actor=clerks[i])
            outcomes[i] = "won"
        except ApplicationError as exc:
            outcomes[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert "won" in outcomes and outcomes.count("won") == 1
    assert set(outcomes) - {"won"} <= {"double_booked", "booked_meanwhile"}
    assert Appointment.objects.filter(expert=c.expert, starts_at=slot.starts_at,
                                      state=Appointment.State.BOOKED).count() == 1
