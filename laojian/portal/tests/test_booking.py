"""The applicant books the clinic appointment of their own case on the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from laojian.cases.models import Mode, Status
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.tests.factories import SpecialtyFactory
from laojian.portal import services
from laojian.sittings import clinic
from laojian.sittings.models import Appointment
from laojian.sittings.tests.factories import VenueFactory, clerk_of, expert_of, reviewed_case

pytestmark = pytest.mark.django_db


def clinic_case(client, *, mode: str = Mode.CLINIC):
    committee = CommitteeFactory()
    venue = VenueFactory(committee=committee)
    specialty = SpecialtyFactory()
    expert = expert_of(committee, specialties=[specialty])
    clinic.roster_add(committee, actor=clerk_of(committee), expert_id=expert.pk, specialty_id=specialty.pk,
                      weekday=1, half="am", venue_id=venue.pk, room_id=venue.rooms.first().pk,
                      valid_from=timezone.localdate())
    applicant = services.applicant_for_phone("13900000001")
    case = reviewed_case(committee, mode=mode, applicant_user=applicant)
    client.force_login(applicant)
    return case, applicant


def test_the_applicant_sees_the_earliest_slot_and_alternatives(client):
    case, _applicant = clinic_case(client)
    response = client.get(reverse("portal:booking"))
    assert response.status_code == 200
    [row] = response.context["rows"]
    assert row["case"] == case
    assert row["earliest"] == clinic.earliest_slot(case)
    assert len(row["slots"]) == 4


def test_the_applicant_books_a_slot_and_the_case_is_scheduled(client):
    case, _applicant = clinic_case(client)
    slot = clinic.next_slots(case, count=2)[1]
    response = client.post(reverse("portal:booking_book", args=[case.pk]), {"slot": slot.key})
    assert response.status_code == 302
    appointment = Appointment.objects.get(case=case)
    assert appointment.starts_at == slot.starts_at
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED


def test_a_sitting_case_is_not_offered_clinic_slots(client):
    clinic_case(client, mode=Mode.SITTING)
    assert client.get(reverse("portal:booking")).context["rows"] == []


def test_another_applicants_case_is_a_404(client):
    case, _applicant = clinic_case(client)
    client.force_login(services.applicant_for_phone("13900000002"))
    slot = clinic.earliest_slot(case)
    assert client.post(reverse("portal:booking_book", args=[case.pk]), {"slot": slot.key}).status_code == 404
    assert not Appointment.objects.exists()


def test_a_taken_slot_is_refused_with_the_reason(client):
    case, _applicant = clinic_case(client)
    slot = clinic.earliest_slot(case)
    other = reviewed_case(case.committee, mode=Mode.CLINIC)
    clinic.clinic_book(other.pk, entry_id=slot.entry_id, starts_at=slot.starts_at, actor=clerk_of(case.committee))
    response = client.post(reverse("portal:booking_book", args=[case.pk]), {"slot": slot.key},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert b"already booked" in response.content
    assert not Appointment.objects.filter(case=case).exists()


def test_staff_cannot_use_the_applicants_booking_page(client):
    clinic_case(client)
    client.force_login(UserFactory(committee=CommitteeFactory(), roles=["reviewer"]))
    assert client.get(reverse("portal:booking")).status_code == 404


def test_the_status_page_points_a_reviewed_case_to_the_booking(client):
    case, _applicant = clinic_case(client)
    case.number = "聊劳鉴〔2026〕0999号"
    case.save(update_fields=["number"])
    client.logout()
    response = client.post(reverse("portal:status"), {"number": case.number,
                                                      "id_suffix": case.worker.id_number[-6:]})
    assert b'id="clinic-booking-box"' in response.content
