"""The day's pages: the sign-in desk, a room's queue, and the public waiting-room screen."""

from __future__ import annotations

import pytest
from django.urls import reverse

from laojian.cases.models import Status
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import mask_name
from laojian.sittings import day, planning
from laojian.sittings.models import Appointment
from laojian.sittings.tests.factories import clerk_of, expert_of
from laojian.sittings.tests.test_day import day_sitting, to_today

pytestmark = pytest.mark.django_db


def today_sitting(n: int = 2, rooms: int = 1):
    sitting, groups, clerk, experts, booked = day_sitting(n, rooms)
    to_today(sitting)
    for rows in booked:
        for a in rows:
            a.refresh_from_db()
    return sitting, groups, clerk, experts, booked


def sign_in_post(client, sitting, appointment, id_number=None, photo=True):
    data = {f"in{appointment.pk}-id_number": id_number or appointment.case.worker.id_number}
    if photo:
        data[f"in{appointment.pk}-photo_matched"] = "on"
    return client.post(reverse("sittings:desk_sign_in", args=[sitting.pk, appointment.pk]), data,
                       HTTP_ACCEPT_LANGUAGE="en")


# THE DESK ----------------------------------------------------------------------------------------

def test_the_desk_lists_the_workers_with_the_last_four_digits_of_the_id_number(client):
    sitting, groups, clerk, experts, booked = today_sitting(2)
    client.force_login(clerk)
    response = client.get(reverse("sittings:desk", args=[sitting.pk]))
    assert response.status_code == 200
    worker = booked[0][0].case.worker
    assert worker.name.encode() in response.content
    assert worker.id_number[-4:].encode() in response.content
    assert worker.id_number.encode() not in response.content


def test_the_desk_search_filters_by_name_and_answers_htmx_with_the_rows_only(client):
    sitting, groups, clerk, experts, booked = today_sitting(2)
    client.force_login(clerk)
    wanted = booked[0][1].case.worker.name
    response = client.get(reverse("sittings:desk", args=[sitting.pk]), {"q": wanted}, HTTP_HX_REQUEST="true")
    assert [a.pk for a in response.context["rows"]] == [booked[0][1].pk]
    assert b"<html" not in response.content and b'class="table desk-table"' in response.content


def test_the_desk_search_finds_a_case_number(client):
    sitting, groups, clerk, experts, booked = today_sitting(2)
    client.force_login(clerk)
    number = booked[0][0].case.number
    response = client.get(reverse("sittings:desk", args=[sitting.pk]), {"q": number})
    assert [a.pk for a in response.context["rows"]] == [booked[0][0].pk]


def test_signing_in_at_the_desk_shows_the_queue_number(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    client.force_login(clerk)
    a = booked[0][0]
    response = sign_in_post(client, sitting, a)
    assert response.status_code == 303
    a.refresh_from_db()
    assert (a.state, a.queue_number, a.checked_in_by) == (Appointment.State.CHECKED_IN, 1, clerk)
    page = client.get(response["Location"])
    assert page.context["signed"].pk == a.pk
    assert b'id="queue-number">1<' in page.content


def test_a_wrong_id_number_is_refused_with_a_clear_error_and_nothing_saved(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    client.force_login(clerk)
    a = booked[0][0]
    response = sign_in_post(client, sitting, a, id_number="110101199001011234")
    assert response.status_code == 400
    assert b"does not match" in response.content
    a.refresh_from_db()
    assert (a.state, a.queue_number) == (Appointment.State.BOOKED, None)


def test_the_photo_must_be_compared(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    client.force_login(clerk)
    a = booked[0][0]
    response = sign_in_post(client, sitting, a, photo=False)
    assert response.status_code == 400
    a.refresh_from_db()
    assert a.state == Appointment.State.BOOKED


def test_an_appointment_of_another_sitting_cannot_be_signed_in_through_this_desk(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    other, _g, _c, _e, other_booked = today_sitting(1)
    client.force_login(clerk)
    assert sign_in_post(client, sitting, other_booked[0][0]).status_code == 404


def test_only_the_desk_opens_the_desk(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    client.force_login(UserFactory(committee=sitting.committee, roles=["leader"]))
    assert client.get(reverse("sittings:desk", args=[sitting.pk])).status_code == 404
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:desk", args=[sitting.pk])).status_code == 404


# A ROOM ------------------------------------------------------------------------------------------

def test_the_room_shows_its_queue_signed_in_first_by_number(client):
    sitting, groups, clerk, experts, booked = today_sitting(3)
    first, second, third = booked[0]
    for a in (third, first):
        day.check_in(a.pk, actor=clerk, id_number=a.case.worker.id_number, photo_matched=True)
    client.force_login(clerk)
    response = client.get(reverse("sittings:room", args=[groups[0].pk]))
    assert response.status_code == 200
    assert [a.pk for a in response.context["rows"]] == [third.pk, first.pk, second.pk]
    assert [a.queue_state for a in response.context["rows"]] == ["waiting", "waiting", "expected"]
    assert response.context["next"].pk == third.pk


def test_call_next_from_the_room_page(client):
    sitting, groups, clerk, experts, booked = today_sitting(2)
    a = booked[0][1]
    day.check_in(a.pk, actor=clerk, id_number=a.case.worker.id_number, photo_matched=True)
    client.force_login(experts[0].user)
    response = client.post(reverse("sittings:room_call_next", args=[groups[0].pk]))
    assert response.status_code == 303
    a.refresh_from_db()
    assert a.called_at is not None
    page = client.get(reverse("sittings:room", args=[groups[0].pk]))
    assert page.context["current"].pk == a.pk
    assert b'id="room-current">1<' in page.content


def test_call_next_with_nobody_waiting_calls_nobody(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    client.force_login(clerk)
    response = client.post(reverse("sittings:room_call_next", args=[groups[0].pk]))
    assert response.status_code == 303
    assert not Appointment.objects.filter(called_at__isnull=False).exists()


def test_another_rooms_expert_gets_404(client):
    sitting, groups, clerk, experts, booked = today_sitting(1, rooms=2)
    client.force_login(experts[1].user)
    assert client.get(reverse("sittings:room", args=[groups[0].pk])).status_code == 404
    assert client.post(reverse("sittings:room_call_next", args=[groups[0].pk])).status_code == 404
    client.force_login(expert_of(sitting.committee).user)
    assert client.get(reverse("sittings:room", args=[groups[0].pk])).status_code == 404


def test_examined_from_the_room_page(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    a = booked[0][0]
    day.check_in(a.pk, actor=clerk, id_number=a.case.worker.id_number, photo_matched=True)
    day.call_next(groups[0].pk, actor=clerk)
    client.force_login(experts[0].user)
    response = client.post(reverse("sittings:room_examined", args=[groups[0].pk, a.pk]))
    assert response.status_code == 303
    a.refresh_from_db()
    a.case.refresh_from_db()
    assert a.state == Appointment.State.EXAMINED and a.case.status == Status.EXAMINED


def test_examined_before_signing_in_is_refused(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    client.force_login(experts[0].user)
    response = client.post(reverse("sittings:room_examined", args=[groups[0].pk, booked[0][0].pk]))
    assert response.status_code == 400
    booked[0][0].refresh_from_db()
    assert booked[0][0].state == Appointment.State.BOOKED


def test_absent_from_the_room_page_terminates_the_appraisal(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    a = booked[0][0]
    client.force_login(clerk)
    response = client.post(reverse("sittings:room_absent", args=[groups[0].pk, a.pk]),
                           {f"absence{a.pk}-outcome": "absent", f"absence{a.pk}-note": "未到场，电话无人接听"})
    assert response.status_code == 303
    a.refresh_from_db()
    a.case.refresh_from_db()
    assert a.state == Appointment.State.ABSENT and a.case.status == Status.TERMINATED


def test_absent_without_a_note_is_refused(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    a = booked[0][0]
    client.force_login(clerk)
    response = client.post(reverse("sittings:room_absent", args=[groups[0].pk, a.pk]),
                           {f"absence{a.pk}-outcome": "absent", f"absence{a.pk}-note": ""})
    assert response.status_code == 400
    a.refresh_from_db()
    assert a.state == Appointment.State.BOOKED


def test_an_appointment_of_another_room_is_404(client):
    sitting, groups, clerk, experts, booked = today_sitting(1, rooms=2)
    client.force_login(clerk)
    url = reverse("sittings:room_examined", args=[groups[0].pk, booked[1][0].pk])
    assert client.post(url).status_code == 404


# THE SCREEN --------------------------------------------------------------------------------------

def called_sitting():
    sitting, groups, clerk, experts, booked = today_sitting(2)
    for a in booked[0]:
        day.check_in(a.pk, actor=clerk, id_number=a.case.worker.id_number, photo_matched=True)
    called = day.call_next(groups[0].pk, actor=clerk)
    return sitting, clerk, booked, called


def test_the_screen_opens_without_signing_in_and_is_never_cached(client):
    sitting, clerk, booked, called = called_sitting()
    for name in ("sittings:screen", "sittings:screen_part"):
        response = client.get(reverse(name, args=[sitting.screen_token]))
        assert response.status_code == 200
        assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_the_screen_shows_numbers_and_masked_names_only(client):
    sitting, clerk, booked, called = called_sitting()
    response = client.get(reverse("sittings:screen", args=[sitting.screen_token]))
    content = response.content.decode()
    for a in booked[0]:
        a.case.refresh_from_db()
        worker = a.case.worker
        assert mask_name(worker.name) in content
        assert worker.name not in content and worker.id_number not in content and a.case.number not in content
    assert f'<span class="screen-number">{called.queue_number}</span>' in content


def test_the_screen_polls_its_part_every_five_seconds_with_the_local_htmx(client):
    sitting, clerk, booked, called = called_sitting()
    content = client.get(reverse("sittings:screen", args=[sitting.screen_token])).content.decode()
    assert f'hx-get="{reverse("sittings:screen_part", args=[sitting.screen_token])}"' in content
    assert 'hx-trigger="every 5s"' in content
    assert "vendor/htmx/htmx.min.js" in content and "<script>" not in content


def test_an_unknown_screen_key_is_404(client):
    assert client.get(reverse("sittings:screen", args=["nope"])).status_code == 404
    assert client.get(reverse("sittings:screen_part", args=["nope"])).status_code == 404


def test_a_cancelled_sitting_shows_a_notice_on_the_screen(client):
    sitting, groups, clerk, experts, booked = today_sitting(1)
    planning.sitting_cancel(sitting.pk, actor=clerk, reason="场地停电")
    response = client.get(reverse("sittings:screen_part", args=[sitting.screen_token]))
    assert b'id="screen-cancelled"' in response.content
    assert response.context["rooms"] == []
