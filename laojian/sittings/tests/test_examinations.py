"""The extra-examinations page: order one (which, where, by when), record its result, the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from laojian.cases.models import Mode
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.notify.models import Notification
from laojian.sittings import examinations, visits
from laojian.sittings.models import ExtraExamination
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db


def scheduled_case():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    clerk = clerk_of(committee)
    case = reviewed_case(committee, mode=Mode.REMOTE, experts=[expert])
    start = at(workday(7), 10)
    visits.visit_book(case.pk, Booking(mode=Mode.REMOTE, starts_at=start, ends_at=start + dt.timedelta(hours=1),
                                       local_doctor="王医生"), actor=clerk)
    return case, clerk, expert


def order(client, case, **extra):
    data = {"order-what": "右手正侧位X线片", "order-where": "聊城市人民医院放射科",
            "order-due": (timezone.localdate() + dt.timedelta(days=10)).isoformat()}
    data.update(extra)
    return client.post(reverse("sittings:extra_examinations", args=[case.pk]), data)


def test_ordering_from_the_page_lists_it_as_open_and_tells_the_worker(client, django_capture_on_commit_callbacks):
    case, clerk, expert = scheduled_case()
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        assert order(client, case).status_code == 303
    exam = ExtraExamination.objects.get(case=case)
    response = client.get(reverse("sittings:extra_examinations", args=[case.pk]))
    assert [e for e, _form in response.context["open_rows"]] == [exam]
    assert response.context["received"] == []
    assert Notification.objects.filter(template="appointment.extra_examination", case=case).exists()


def test_recording_the_result_moves_it_to_received(client):
    case, clerk, expert = scheduled_case()
    exam = examinations.extra_examination_order(case.pk, actor=clerk, what="肌电图", where="市人民医院",
                                                due=timezone.localdate() + dt.timedelta(days=5))
    client.force_login(clerk)
    response = client.post(reverse("sittings:extra_examination_receive", args=[exam.pk]),
                           {f"result-{exam.pk}-result_note": "正中神经损伤"})
    assert response.status_code == 303
    exam.refresh_from_db()
    assert exam.state == ExtraExamination.State.RECEIVED
    page = client.get(reverse("sittings:extra_examinations", args=[case.pk]))
    assert page.context["received"] == [exam]
    assert page.context["open_rows"] == []


def test_a_due_date_in_the_past_is_refused_on_the_field(client):
    case, clerk, expert = scheduled_case()
    client.force_login(clerk)
    response = order(client, case, **{"order-due": "2020-01-06"})
    assert response.status_code == 400
    assert "due" in response.context["order_form"].errors
    assert not ExtraExamination.objects.exists()


def test_the_panel_expert_may_order(client):
    case, clerk, expert = scheduled_case()
    client.force_login(expert.user)
    assert order(client, case).status_code == 303


def test_a_reviewer_may_look_but_not_order(client):
    case, clerk, expert = scheduled_case()
    client.force_login(UserFactory(committee=case.committee, roles=["reviewer"]))
    assert client.get(reverse("sittings:extra_examinations", args=[case.pk])).status_code == 200
    assert order(client, case).status_code == 404
    assert not ExtraExamination.objects.exists()


def test_another_committees_clerk_gets_404(client):
    case, clerk, expert = scheduled_case()
    client.force_login(clerk_of(CommitteeFactory()))
    assert client.get(reverse("sittings:extra_examinations", args=[case.pk])).status_code == 404
    assert order(client, case).status_code == 404


def test_a_result_without_a_summary_is_refused(client):
    case, clerk, expert = scheduled_case()
    exam = examinations.extra_examination_order(case.pk, actor=clerk, what="肌电图", where="市人民医院",
                                                due=timezone.localdate() + dt.timedelta(days=5))
    client.force_login(clerk)
    response = client.post(reverse("sittings:extra_examination_receive", args=[exam.pk]),
                           {f"result-{exam.pk}-result_note": ""})
    assert response.status_code == 400
    exam.refresh_from_db()
    assert exam.state == ExtraExamination.State.ORDERED
