"""The clinic pages: the roster grid with its add and end forms, and booking a case's clinic slot."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from laojian.cases.models import Mode, Status
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.tests.factories import SpecialtyFactory
from laojian.sittings import clinic
from laojian.sittings.models import Appointment, RosterEntry
from laojian.sittings.tests.factories import VenueFactory, clerk_of, expert_of, reviewed_case

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def roster_setup(client, *, with_line: bool = True):
    committee = CommitteeFactory()
    venue = VenueFactory(committee=committee)
    specialty = SpecialtyFactory()
    expert = expert_of(committee, specialties=[specialty])
    clerk = clerk_of(committee)
    entry = None
    if with_line:
        entry = clinic.roster_add(committee, actor=clerk, expert_id=expert.pk, specialty_id=specialty.pk, weekday=1,
                                  half="am", venue_id=venue.pk, room_id=venue.rooms.first().pk,
                                  valid_from=timezone.localdate())
    client.force_login(clerk)
    return {"committee": committee, "venue": venue, "specialty": specialty, "expert": expert, "clerk": clerk,
            "entry": entry}


def line_data(s, **overrides) -> dict:
    data = {"roster-expert": s["expert"].pk, "roster-specialty": s["specialty"].pk, "roster-weekday": 1,
            "roster-half": "am", "roster-venue": s["venue"].pk, "roster-room": "",
            "roster-valid_from": timezone.localdate().isoformat(), "roster-valid_to": ""}
    data.update(overrides)
    return data


# THE ROSTER PAGE ---------------------------------------------------------------------------------

def test_the_roster_page_shows_the_weekly_grid(client):
    s = roster_setup(client)
    response = client.get(reverse("sittings:roster"))
    assert response.status_code == 200
    assert b'id="roster-grid"' in response.content
    tuesday_am = response.context["grid"][1][2][0]
    assert [e.pk for e in tuesday_am.entries] == [s["entry"].pk]
    assert s["expert"].name.encode() in response.content


def test_the_roster_page_warns_of_a_specialty_no_one_sits_the_clinic_for(client):
    s = roster_setup(client)
    expert_of(s["committee"], specialties=[SpecialtyFactory(code="eye", name="眼科", category=4)])
    response = client.get(reverse("sittings:roster"))
    assert response.context["uncovered"] == ["眼科"]
    assert b'id="uncovered-specialties"' in response.content


def test_the_roster_page_does_not_warn_when_every_specialty_is_covered(client):
    roster_setup(client)
    response = client.get(reverse("sittings:roster"))
    assert response.context["uncovered"] == []
    assert b'id="uncovered-specialties"' not in response.content


def test_an_empty_roster_leaves_every_specialty_of_the_pool_uncovered(client):
    s = roster_setup(client, with_line=False)
    assert clinic.uncovered_specialties(s["committee"], on=timezone.localdate()) == [s["specialty"].name]


def test_an_ended_line_no_longer_covers_its_specialty(client):
    s = roster_setup(client)
    clinic.roster_end(s["entry"].pk, actor=s["clerk"], valid_to=timezone.localdate())
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert clinic.uncovered_specialties(s["committee"], on=tomorrow) == [s["specialty"].name]


def test_a_user_without_a_scheduling_role_cannot_open_the_roster(client):
    roster_setup(client)
    client.force_login(UserFactory(committee=CommitteeFactory(), roles=["expert"]))
    assert client.get(reverse("sittings:roster")).status_code == 403


def test_adding_a_line_from_the_page(client):
    s = roster_setup(client, with_line=False)
    response = client.post(reverse("sittings:roster_add"), line_data(s))
    assert response.status_code == 303
    assert RosterEntry.objects.filter(expert=s["expert"], weekday=1, half="am").count() == 1


def test_a_duplicate_line_is_refused_with_the_reason_and_what_was_typed(client):
    s = roster_setup(client)
    response = client.post(reverse("sittings:roster_add"), line_data(s), **EN)
    assert response.status_code == 400
    assert "already sits this half-day" in " ".join(response.context["add_form"].errors["expert"])
    assert b"already sits this half-day" in response.content
    assert response.context["add_form"].data["roster-weekday"] == "1"
    assert RosterEntry.objects.count() == 1


def test_ending_a_line_from_the_page(client):
    s = roster_setup(client)
    last = timezone.localdate() + dt.timedelta(days=20)
    response = client.post(reverse("sittings:roster_end", args=[s["entry"].pk]), {"end-valid_to": last.isoformat()})
    assert response.status_code == 303
    s["entry"].refresh_from_db()
    assert s["entry"].valid_to == last


def test_ending_a_line_before_it_starts_is_refused_on_the_page(client):
    s = roster_setup(client)
    response = client.post(reverse("sittings:roster_end", args=[s["entry"].pk]),
                           {"end-valid_to": (timezone.localdate() - dt.timedelta(days=1)).isoformat()}, **EN)
    assert response.status_code == 400
    assert b"cannot end before it starts" in response.content


# BOOKING A CASE'S SLOT ---------------------------------------------------------------------------

def test_the_booking_page_shows_the_earliest_slot_first(client):
    s = roster_setup(client)
    case = reviewed_case(s["committee"], mode=Mode.CLINIC)
    response = client.get(reverse("sittings:case_clinic", args=[case.pk]))
    assert response.status_code == 200
    assert response.context["earliest"] == clinic.earliest_slot(case)
    assert len(response.context["slots"]) == clinic.PAGE_SLOTS
    assert b'id="earliest-slot"' in response.content


def test_the_clerk_can_ask_for_another_specialty(client):
    s = roster_setup(client)
    neuro = SpecialtyFactory(code="neuro", name="神经内科", category=1)
    neurologist = expert_of(s["committee"], specialties=[neuro])
    clinic.roster_add(s["committee"], actor=s["clerk"], expert_id=neurologist.pk, specialty_id=neuro.pk, weekday=3,
                      half="pm", venue_id=s["venue"].pk, valid_from=timezone.localdate())
    case = reviewed_case(s["committee"], mode=Mode.CLINIC)
    response = client.get(reverse("sittings:case_clinic", args=[case.pk]), {"specialty": neuro.pk})
    assert response.context["earliest"].expert_id == neurologist.pk
    assert {slot.expert_id for slot in response.context["slots"]} == {neurologist.pk}


def test_booking_from_the_page_books_and_goes_to_the_appointments(client):
    s = roster_setup(client)
    case = reviewed_case(s["committee"], mode=Mode.CLINIC)
    slot = clinic.earliest_slot(case)
    response = client.post(reverse("sittings:case_clinic_book", args=[case.pk]), {"slot": slot.key})
    assert response.status_code == 303
    assert response["Location"] == reverse("sittings:case", args=[case.pk])
    appointment = Appointment.objects.get(case=case)
    assert appointment.starts_at == slot.starts_at and appointment.expert == s["expert"]
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED


def test_a_slot_taken_meanwhile_is_refused_on_the_page(client):
    s = roster_setup(client)
    first, second = (reviewed_case(s["committee"], mode=Mode.CLINIC) for _ in range(2))
    slot = clinic.earliest_slot(first)
    clinic.clinic_book(first.pk, entry_id=slot.entry_id, starts_at=slot.starts_at, actor=clerk_of(s["committee"]))
    response = client.post(reverse("sittings:case_clinic_book", args=[second.pk]), {"slot": slot.key}, **EN)
    assert response.status_code == 400
    assert b'id="booking-error"' in response.content and b"already booked" in response.content
    assert response.context["chosen"] == slot.key
    assert not Appointment.objects.filter(case=second).exists()


def test_a_forged_slot_is_refused(client):
    s = roster_setup(client)
    case = reviewed_case(s["committee"], mode=Mode.CLINIC)
    response = client.post(reverse("sittings:case_clinic_book", args=[case.pk]), {"slot": "junk"})
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_another_committees_case_is_a_404(client):
    s = roster_setup(client)
    case = reviewed_case(CommitteeFactory(), mode=Mode.CLINIC)
    assert client.get(reverse("sittings:case_clinic", args=[case.pk])).status_code == 404
    slot_key = f"{s['entry'].pk}@2030-01-01T08:30"
    assert client.post(reverse("sittings:case_clinic_book", args=[case.pk]), {"slot": slot_key}).status_code == 404


def test_a_booked_case_offers_no_slots(client):
    s = roster_setup(client)
    case = reviewed_case(s["committee"], mode=Mode.CLINIC)
    slot = clinic.earliest_slot(case)
    clinic.clinic_book(case.pk, entry_id=slot.entry_id, starts_at=slot.starts_at, actor=s["clerk"])
    response = client.get(reverse("sittings:case_clinic", args=[case.pk]))
    assert response.context["live"] is not None and response.context["earliest"] is None


def test_the_appointments_page_links_to_the_clinic_booking(client):
    s = roster_setup(client)
    case = reviewed_case(s["committee"], mode=Mode.CLINIC)
    response = client.get(reverse("sittings:case", args=[case.pk]))
    assert reverse("sittings:case_clinic", args=[case.pk]).encode() in response.content


# THE 10-WORKING-DAY CLINIC TARGET ON THE WORKLIST --------------------------------------------------

def working_days_before(today: dt.date, n: int) -> dt.date:
    """The day ``n`` working days before ``today`` (weekdays where the year has no holiday schedule)."""
    from laojian.core.calendar import CalendarYearMissing, WorkingCalendar

    calendar = WorkingCalendar.for_range(today - dt.timedelta(days=60), today)
    day, left = today, n
    while left:
        day -= dt.timedelta(days=1)
        try:
            working = calendar.is_workday(day)
        except CalendarYearMissing:
            working = day.weekday() < 5
        left -= working
    return day


def test_a_clinic_case_eight_working_days_after_receipt_is_at_risk_on_the_worklist(client):
    from laojian.cases import clocks
    from laojian.cases.models import Case

    s = roster_setup(client, with_line=False)
    today = timezone.localdate()
    received = working_days_before(today, 8)
    case = reviewed_case(s["committee"], mode=Mode.CLINIC, received_on=received)
    clocks.refresh(case)
    Case.objects.filter(pk=case.pk).update(target_due=case.target_due, next_due=case.next_due,
                                           conclusion_due=case.conclusion_due, clock_basis=case.clock_basis)
    assert case.next_due == case.target_due  # the 10-working-day target falls due before the 60 days
    response = client.get(reverse("cases:worklist"))
    [row] = [c for c in response.context["cases"] if c.pk == case.pk]
    assert row.due.date == case.target_due
    assert row.due.risk == "at_risk"
