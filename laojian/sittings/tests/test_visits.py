"""Home visits (上门鉴定): booking with the panel drawn when the case has none, the family's SMS,
the day's route sheet and its order, and the examination recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases.models import Mode, Status
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts import services as experts_services
from laojian.experts.models import Panel
from laojian.experts.tests.factories import SpecialtyFactory
from laojian.notify.models import Notification
from laojian.sittings import day, visits
from laojian.sittings.models import Appointment
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db

REASON = "高位截瘫，卧床不能行动"


def ortho_pool(committee, n: int = 4) -> list:
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    return [expert_of(committee, specialties=[ortho]) for _ in range(n)]


def home_case(committee, **kwargs):
    kwargs.setdefault("determination__worker__address", "聊城市东昌府区建设路8号3单元201")
    return reviewed_case(committee, mode=Mode.HOME, mode_reason=REASON, **kwargs)


def home_booking(day_: dt.date, staff, *, hour: int = 9, family_phone: str = "13900001111", **kwargs) -> Booking:
    return Booking(mode=Mode.HOME, starts_at=at(day_, hour), ends_at=at(day_, hour + 1), address="",
                   staff_member_id=staff.pk, family_phone=family_phone, **kwargs)


def test_a_case_without_a_panel_gets_one_drawn_then_the_visit_is_booked():
    committee = CommitteeFactory()
    ortho_pool(committee)
    clerk = clerk_of(committee)
    case = home_case(committee)
    appointment = visits.visit_book(case.pk, home_booking(workday(7), clerk), actor=clerk, categories=[2])
    assert Panel.objects.filter(case=case).count() == 1
    assert len(visits.selectors.panel_experts(case)) >= 3
    assert appointment.mode == Mode.HOME
    case.refresh_from_db()
    assert case.status == Status.SCHEDULED


def test_the_address_defaults_to_the_workers():
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    case = home_case(committee, experts=[expert_of(committee)])
    appointment = visits.visit_book(case.pk, home_booking(workday(7), clerk), actor=clerk)
    assert appointment.address == case.worker.address
    assert appointment.place == case.worker.address


def test_the_family_is_told_by_sms(django_capture_on_commit_callbacks):
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    case = home_case(committee, experts=[expert_of(committee)])
    with django_capture_on_commit_callbacks(execute=True):
        visits.visit_book(case.pk, home_booking(workday(7), clerk, family_phone="13900002222"), actor=clerk)
    sms = Notification.objects.get(template="appointment.family_visit")
    assert sms.recipient == "13900002222"
    assert sms.case_id == case.pk


def test_without_categories_a_case_without_panel_is_refused_and_nothing_is_saved():
    committee = CommitteeFactory()
    ortho_pool(committee)
    clerk = clerk_of(committee)
    case = home_case(committee)
    with pytest.raises(ValidationFailed) as exc:
        visits.visit_book(case.pk, home_booking(workday(7), clerk), actor=clerk, categories=[])
    assert exc.value.code == "no_categories"
    assert not Appointment.objects.exists()


def test_a_refused_booking_leaves_no_drawn_panel_behind():
    committee = CommitteeFactory()
    ortho_pool(committee)
    clerk = clerk_of(committee)
    case = home_case(committee)
    booking = home_booking(workday(7), clerk)
    booking.staff_member_id = None
    with pytest.raises(ValidationFailed) as exc:
        visits.visit_book(case.pk, booking, actor=clerk, categories=[2])
    assert exc.value.code == "no_staff_member"
    assert not Panel.objects.exists()
    assert not Appointment.objects.exists()


def test_only_a_planner_books():
    committee = CommitteeFactory()
    case = home_case(committee, experts=[expert_of(committee)])
    reviewer = UserFactory(committee=committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        visits.visit_book(case.pk, home_booking(workday(7), clerk_of(committee)), actor=reviewer)


def test_identity_staff_are_the_committees_clerks():
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    UserFactory(committee=committee, roles=["reviewer"])
    clerk_of(CommitteeFactory())
    assert list(visits.identity_staff(committee)) == [clerk]


def test_home_visit_end_to_end_reviewed_to_examined():
    committee = CommitteeFactory()
    ortho_pool(committee)
    clerk = clerk_of(committee)
    case = home_case(committee)
    on = workday(7)
    appointment = visits.visit_book(case.pk, home_booking(on, clerk), actor=clerk, categories=[2])
    rows = visits.route_sheet(committee, on)
    assert [r["appointment"] for r in rows] == [appointment]
    assert rows[0]["worker"].name == case.worker.name
    assert len(rows[0]["experts"]) >= 3
    for member in Panel.objects.get(case=case).members.select_related("expert__user"):
        experts_services.member_confirm(member.pk, actor=member.expert.user)
    day.examination_done(appointment.pk, actor=clerk, at=appointment.starts_at)
    case.refresh_from_db()
    assert case.status == Status.EXAMINED
    assert [r["appointment"].state for r in visits.route_sheet(committee, on)] == [Appointment.State.EXAMINED]


def two_visits():
    committee = CommitteeFactory()
    clerk = clerk_of(committee)
    on = workday(7)
    first = visits.visit_book(home_case(committee, experts=[expert_of(committee)]).pk,
                              home_booking(on, clerk, hour=9), actor=clerk)
    second = visits.visit_book(home_case(committee, experts=[expert_of(committee)]).pk,
                               home_booking(on, clerk, hour=14), actor=clerk)
    return committee, clerk, on, first, second


def test_the_route_sheet_is_in_time_order_by_default():
    committee, clerk, on, first, second = two_visits()
    assert [r["appointment"].pk for r in visits.route_sheet(committee, on)] == [first.pk, second.pk]


def test_the_route_order_overrides_the_time_order_and_is_audited():
    committee, clerk, on, first, second = two_visits()
    visits.route_order_set([second.pk, first.pk], actor=clerk)
    assert [r["appointment"].pk for r in visits.route_sheet(committee, on)] == [second.pk, first.pk]
    event = AuditEvent.objects.filter(action="appointment.route_order").get()
    assert event.after["order"] == [second.pk, first.pk]


def test_the_route_sheet_shows_only_this_committees_visits_of_that_day():
    committee, clerk, on, first, second = two_visits()
    assert visits.route_sheet(CommitteeFactory(), on) == []
    assert visits.route_sheet(committee, on + dt.timedelta(days=1)) == []


def test_another_committees_clerk_cannot_order_the_route():
    committee, clerk, on, first, second = two_visits()
    with pytest.raises(NotFoundError):
        visits.route_order_set([second.pk, first.pk], actor=clerk_of(CommitteeFactory()))
    first.refresh_from_db()
    assert first.route_order is None


def test_a_visit_listed_twice_is_refused():
    committee, clerk, on, first, second = two_visits()
    with pytest.raises(ValidationFailed) as exc:
        visits.route_order_set([first.pk, first.pk], actor=clerk)
    assert exc.value.code == "duplicate"
