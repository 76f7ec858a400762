"""The home-visit booking page and the day's route sheet."""

from __future__ import annotations

import pytest
from django.urls import reverse

from laojian.cases.models import Mode, Status
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.models import Panel
from laojian.notify.models import Notification
from laojian.sittings import visits
from laojian.sittings.models import Appointment
from laojian.sittings.tests.factories import clerk_of, expert_of, workday
from laojian.sittings.tests.test_visits import REASON, home_booking, home_case, ortho_pool

pytestmark = pytest.mark.django_db


def post_home(client, case, staff, on, **extra):
    data = {"home-date": on.isoformat(), "home-start": "09:00", "home-end": "10:00",
            "home-address": case.worker.address, "home-staff_member": str(staff.pk),
            "home-family_phone": "13900003333", "home-bring": "身份证、病历"}
    data.update(extra)
    return client.post(reverse("sittings:case_home", args=[case.pk]), data)


def test_the_page_shows_why_the_worker_cannot_travel_and_defaults_the_address(client):
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    case = home_case(committee)
    client.force_login(clerk)
    response = client.get(reverse("sittings:case_home", args=[case.pk]))
    assert response.status_code == 200
    assert REASON.encode() in response.content
    assert response.context["form"]["address"].value() == case.worker.address
    assert list(response.context["form"].fields["staff_member"].queryset) == [clerk]


def test_booking_from_the_page_draws_the_panel_books_and_tells_the_family(client, django_capture_on_commit_callbacks):
    committee = CommitteeFactory()
    ortho_pool(committee)
    clerk = clerk_of(committee)
    case = home_case(committee)
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_home(client, case, clerk, workday(7), **{"home-categories": ["2"]})
    assert response.status_code == 303
    appointment = Appointment.objects.get(case=case)
    assert appointment.mode == Mode.HOME
    assert appointment.staff_member == clerk
    assert Panel.objects.filter(case=case).exists()
    assert Notification.objects.filter(template="appointment.family_visit", recipient="13900003333").exists()
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED


def test_a_refused_booking_shows_the_form_again_with_the_error(client):
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    case = home_case(committee, experts=[expert_of(committee)])
    client.force_login(clerk)
    response = post_home(client, case, clerk, workday(7), **{"home-date": "2020-01-06"})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not Appointment.objects.exists()


def test_another_committees_clerk_gets_404(client):
    committee = CommitteeFactory()
    case = home_case(committee, experts=[expert_of(committee)])
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:case_home", args=[case.pk])).status_code == 404


def test_a_user_who_does_not_plan_gets_404(client):
    committee = CommitteeFactory()
    case = home_case(committee, experts=[expert_of(committee)])
    client.force_login(UserFactory(committee=committee, roles=["reviewer"]))
    assert client.get(reverse("sittings:case_home", args=[case.pk])).status_code == 404


def booked_day(client):
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    on = workday(7)
    first_case = home_case(committee, experts=[expert_of(committee)])
    first = visits.visit_book(first_case.pk, home_booking(on, clerk, hour=9), actor=clerk)
    second = visits.visit_book(home_case(committee, experts=[expert_of(committee)]).pk,
                               home_booking(on, clerk, hour=14), actor=clerk)
    client.force_login(clerk)
    return committee, clerk, on, first, second


def test_the_route_sheet_lists_the_days_visits_with_full_names_and_phones(client):
    committee, clerk, on, first, second = booked_day(client)
    response = client.get(reverse("sittings:route_sheet", args=[on.isoformat()]))
    assert response.status_code == 200
    assert [r["appointment"].pk for r in response.context["rows"]] == [first.pk, second.pk]
    content = response.content.decode()
    assert first.case.worker.name in content
    assert first.address in content
    assert "13900001111" in content
    assert f'id="visit-{first.pk}"' in content


def test_the_order_form_reorders_the_route(client):
    committee, clerk, on, first, second = booked_day(client)
    response = client.post(reverse("sittings:route_sheet", args=[on.isoformat()]),
                           {f"route-pos_{first.pk}": "2", f"route-pos_{second.pk}": "1"})
    assert response.status_code == 303
    response = client.get(reverse("sittings:route_sheet", args=[on.isoformat()]))
    assert [r["appointment"].pk for r in response.context["rows"]] == [second.pk, first.pk]


def test_another_committee_sees_an_empty_route_sheet(client):
    committee, clerk, on, first, second = booked_day(client)
    client.force_login(clerk_of(CommitteeFactory()))
    response = client.get(reverse("sittings:route_sheet", args=[on.isoformat()]))
    assert response.status_code == 200
    assert response.context["rows"] == []


def test_a_bad_date_is_404(client):
    booked_day(client)
    assert client.get(reverse("sittings:route_sheet", args=["2026-13-40"])).status_code == 404
