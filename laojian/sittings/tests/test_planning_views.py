"""The sitting pages: the list with its plan and venue forms, one sitting with its case picker,
fill and cancel, and the printed notices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases.models import Mode
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.sittings.models import Appointment, SchedulingRules, Sitting, SittingGroup, Venue
from laojian.sittings.tests.factories import (
    SittingFactory,
    clerk_of,
    expert_of,
    rest_day,
    reviewed_case,
    workday,
)
from laojian.sittings.tests.test_planning import ent_pool, filled_sitting, ortho_pool

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return user


# THE LIST ----------------------------------------------------------------------------------------

def test_the_list_shows_upcoming_sittings_first_with_their_workers(client):
    sitting, clerk, cases, result = filled_sitting(2, 0)
    later = SittingFactory(committee=sitting.committee, venue=sitting.venue, date=workday(20))
    signed_in(client, clerk)
    response = client.get(reverse("sittings:sittings"))
    assert response.status_code == 200
    assert [s.pk for s in response.context["upcoming"]] == [sitting.pk, later.pk]
    assert response.context["upcoming"][0].workers == 2
    assert b'id="plan-form"' in response.content


def test_the_list_shows_only_the_committees_own_sittings(client):
    SittingFactory()
    signed_in(client, clerk_of(CommitteeFactory()))
    response = client.get(reverse("sittings:sittings"))
    assert response.context["upcoming"] == []


def test_a_leader_reads_the_list_without_the_forms(client):
    sitting = SittingFactory()
    signed_in(client, UserFactory(committee=sitting.committee, roles=["leader"]))
    response = client.get(reverse("sittings:sittings"))
    assert response.status_code == 200
    assert b'id="plan-form"' not in response.content


def test_an_expert_may_not_see_the_list(client):
    sitting = SittingFactory()
    signed_in(client, expert_of(sitting.committee).user)
    assert client.get(reverse("sittings:sittings")).status_code == 403


def test_a_leader_may_not_plan(client):
    sitting = SittingFactory()
    signed_in(client, UserFactory(committee=sitting.committee, roles=["leader"]))
    response = client.post(reverse("sittings:sitting_plan"), {
        "plan-date": workday(10).isoformat(), "plan-venue": sitting.venue.pk, "plan-starts_at": "08:30",
        "plan-ends_at": "12:00"})
    assert response.status_code == 403
    assert Sitting.objects.count() == 1


def test_planning_a_sitting_from_the_form(client):
    venue = SittingFactory().venue
    clerk = signed_in(client, clerk_of(venue.committee))
    day = workday(10)
    response = client.post(reverse("sittings:sitting_plan"), {
        "plan-date": day.isoformat(), "plan-venue": venue.pk, "plan-starts_at": "14:00", "plan-ends_at": "17:30",
        "plan-bring": "身份证原件"})
    created = Sitting.objects.get(date=day)
    assert response.status_code == 303
    assert response["Location"] == reverse("sittings:sitting", args=[created.pk])
    assert (created.starts_at, created.bring, created.created_by) == (dt.time(14), "身份证原件", clerk)


def test_a_non_working_day_without_a_reason_is_refused_on_the_page(client):
    venue = SittingFactory().venue
    signed_in(client, clerk_of(venue.committee))
    day = rest_day(10)
    response = client.post(reverse("sittings:sitting_plan"), {
        "plan-date": day.isoformat(), "plan-venue": venue.pk, "plan-starts_at": "08:30", "plan-ends_at": "12:00"},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.context["plan_form"].errors["non_working_reason"]
    assert not Sitting.objects.filter(date=day).exists()


def test_a_venue_of_another_committee_cannot_be_chosen(client):
    foreign = SittingFactory().venue
    signed_in(client, clerk_of(CommitteeFactory()))
    response = client.post(reverse("sittings:sitting_plan"), {
        "plan-date": workday(10).isoformat(), "plan-venue": foreign.pk, "plan-starts_at": "08:30",
        "plan-ends_at": "12:00"})
    assert response.status_code == 400
    assert Sitting.objects.count() == 1


def test_adding_a_venue_with_its_rooms(client):
    committee = CommitteeFactory()
    signed_in(client, clerk_of(committee))
    response = client.post(reverse("sittings:venue_create"), {
        "venue-name": "市鉴定中心", "venue-address": "柳园路1号", "venue-rooms": "一号室\n二号室\n"})
    assert response.status_code == 303
    venue = Venue.objects.get(committee=committee)
    assert list(venue.rooms.values_list("name", flat=True)) == ["一号室", "二号室"]


def test_a_duplicate_room_name_is_refused_on_the_page(client):
    committee = CommitteeFactory()
    signed_in(client, clerk_of(committee))
    response = client.post(reverse("sittings:venue_create"), {
        "venue-name": "市鉴定中心", "venue-address": "柳园路1号", "venue-rooms": "一号室\n一号室"})
    assert response.status_code == 400
    assert response.context["venue_form"].errors["rooms"]
    assert not Venue.objects.exists()


# ONE SITTING -------------------------------------------------------------------------------------

def test_the_sitting_page_shows_rooms_panels_and_workers(client):
    sitting, clerk, cases, result = filled_sitting(2, 1)
    signed_in(client, clerk)
    response = client.get(reverse("sittings:sitting", args=[sitting.pk]))
    assert response.status_code == 200
    rooms = response.context["rooms"]
    assert [len(r["appointments"]) for r in rooms] == [2, 1]
    assert all(len(r["panel"]) == 3 and all(r["panel"]) for r in rooms)
    assert rooms[0]["panel"][0].encode() in response.content
    assert cases[0].worker.name.encode() in response.content


def test_the_picker_lists_only_the_cases_waiting_for_a_sitting(client):
    sitting = SittingFactory()
    waiting = reviewed_case(sitting.committee)
    reviewed_case(sitting.committee, mode=Mode.CLINIC)
    reviewed_case(CommitteeFactory())
    signed_in(client, clerk_of(sitting.committee))
    response = client.get(reverse("sittings:sitting", args=[sitting.pk]))
    assert [row["case"].pk for row in response.context["picker"]] == [waiting.pk]
    assert response.context["picker"][0]["categories"] == [2]


def test_an_already_booked_case_is_not_offered_again(client):
    sitting, clerk, cases, result = filled_sitting(1, 0)
    signed_in(client, clerk)
    response = client.get(reverse("sittings:sitting", args=[sitting.pk]))
    assert response.context["picker"] == []
    assert b'id="no-waiting-cases"' in response.content


def test_group_draw_and_book_from_the_page(client):
    sitting = SittingFactory()
    ortho_pool(sitting.committee)
    ent_pool(sitting.committee)
    a, b = reviewed_case(sitting.committee), reviewed_case(sitting.committee)
    signed_in(client, clerk_of(sitting.committee))
    response = client.post(reverse("sittings:sitting_fill", args=[sitting.pk]), {
        "cases": [a.pk, b.pk], f"categories-{a.pk}": ["2"], f"categories-{b.pk}": ["3"]})
    assert response.status_code == 303
    assert SittingGroup.objects.filter(sitting=sitting).count() == 2
    assert Appointment.objects.filter(sitting=sitting, state=Appointment.State.BOOKED).count() == 2


def test_a_refused_fill_shows_the_reason_and_saves_nothing(client):
    sitting = SittingFactory(venue__rooms=1)
    ortho_pool(sitting.committee)
    ent_pool(sitting.committee)
    a, b = reviewed_case(sitting.committee), reviewed_case(sitting.committee)
    signed_in(client, clerk_of(sitting.committee))
    response = client.post(reverse("sittings:sitting_fill", args=[sitting.pk]), {
        "cases": [a.pk, b.pk], f"categories-{a.pk}": ["2"], f"categories-{b.pk}": ["3"]},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "rooms" in response.context["fill_error"]
    assert b'id="fill-error"' in response.content
    assert {r["case"].pk for r in response.context["picker"] if r["chosen"]} == {a.pk, b.pk}
    assert not SittingGroup.objects.exists() and not Appointment.objects.exists()


def test_a_failed_draw_is_shown_on_the_page_and_saves_nothing(client):
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)  # nobody in the pool
    signed_in(client, clerk_of(sitting.committee))
    response = client.post(reverse("sittings:sitting_fill", args=[sitting.pk]),
                           {"cases": [case.pk], f"categories-{case.pk}": ["2"]})
    assert response.status_code == 400
    assert response.context["fill_error"]
    assert not SittingGroup.objects.exists() and not Appointment.objects.exists()


def test_short_notice_needs_the_reason_typed_on_the_page(client):
    sitting = SittingFactory(date=workday(1))
    SchedulingRules.objects.create(committee=sitting.committee, notice_lead_days=30)
    ortho_pool(sitting.committee)
    case = reviewed_case(sitting.committee)
    signed_in(client, clerk_of(sitting.committee))
    url = reverse("sittings:sitting_fill", args=[sitting.pk])
    data = {"cases": [case.pk], f"categories-{case.pk}": ["2"]}
    assert client.post(url, data).status_code == 400
    assert not Appointment.objects.exists()
    assert client.post(url, {**data, "short_notice_reason": "工人即将出国务工"}).status_code == 303
    assert Appointment.objects.get().lead_warning == "工人即将出国务工"


def test_a_case_ticked_without_a_category_is_refused(client):
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)
    signed_in(client, clerk_of(sitting.committee))
    response = client.post(reverse("sittings:sitting_fill", args=[sitting.pk]), {"cases": [case.pk]})
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_junk_in_the_fill_form_is_refused(client):
    sitting = SittingFactory()
    signed_in(client, clerk_of(sitting.committee))
    response = client.post(reverse("sittings:sitting_fill", args=[sitting.pk]), {"cases": ["x"]})
    assert response.status_code == 400


def test_cancelling_the_sitting_from_the_page(client):
    sitting, clerk, cases, result = filled_sitting(1, 0)
    signed_in(client, clerk)
    response = client.post(reverse("sittings:sitting_cancel", args=[sitting.pk]), {"cancel-reason": "场地停电"})
    assert response.status_code == 303
    sitting.refresh_from_db()
    assert sitting.state == Sitting.State.CANCELLED
    page = client.get(reverse("sittings:sitting", args=[sitting.pk]))
    assert b'id="sitting-cancelled"' in page.content and b'id="fill-form"' not in page.content


def test_cancelling_needs_a_reason(client):
    sitting = SittingFactory()
    signed_in(client, clerk_of(sitting.committee))
    response = client.post(reverse("sittings:sitting_cancel", args=[sitting.pk]), {"cancel-reason": ""})
    assert response.status_code == 400
    sitting.refresh_from_db()
    assert sitting.state == Sitting.State.PLANNED


def test_another_committees_sitting_is_404(client):
    sitting = SittingFactory()
    signed_in(client, clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:sitting", args=[sitting.pk])).status_code == 404
    assert client.post(reverse("sittings:sitting_cancel", args=[sitting.pk]),
                       {"cancel-reason": "x"}).status_code == 404
    sitting.refresh_from_db()
    assert sitting.state == Sitting.State.PLANNED


# NOTICES -----------------------------------------------------------------------------------------

def test_the_notices_page_prints_one_sheet_per_worker(client):
    sitting, clerk, cases, result = filled_sitting(2, 1)
    signed_in(client, clerk)
    response = client.get(reverse("sittings:sitting_notices", args=[sitting.pk]))
    assert response.status_code == 200
    assert response.content.count(b'class="notice-sheet"') == 3
    for case in cases:
        assert case.worker.name.encode() in response.content
    assert sitting.bring.encode() in response.content
    assert b"sittings/day.css" in response.content


def test_one_appointments_notice(client):
    sitting, clerk, cases, result = filled_sitting(1, 0)
    signed_in(client, clerk)
    appointment = result.appointments[0]
    response = client.get(reverse("sittings:appointment_notice", args=[appointment.pk]))
    assert response.status_code == 200
    assert response.content.count(b'class="notice-sheet"') == 1
    assert "第1鉴定室".encode() in response.content


def test_another_committees_notice_is_404(client):
    sitting, clerk, cases, result = filled_sitting(1, 0)
    signed_in(client, clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:appointment_notice", args=[result.appointments[0].pk])).status_code == 404
    assert client.get(reverse("sittings:sitting_notices", args=[sitting.pk])).status_code == 404
