"""Planning a sitting: filling it (rooms by category, one drawn panel a room, a time per worker),
what is refused with nothing saved, cancelling it, and the printed notices."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases.models import CaseAssignment, Mode, Status
from laojian.core.errors import ValidationFailed
from laojian.core.tests.factories import CommitteeFactory
from laojian.experts.models import Expert, Panel
from laojian.experts.tests.factories import SpecialtyFactory
from laojian.notify.models import Notification
from laojian.sittings import planning, printing, selectors, services
from laojian.sittings.models import Appointment, SchedulingRules, Sitting, SittingGroup
from laojian.sittings.services import Booking
from laojian.sittings.tests.factories import SittingFactory, at, clerk_of, expert_of, reviewed_case, workday

pytestmark = pytest.mark.django_db


def ortho_pool(committee, n: int = 4) -> list:
    """n orthopaedists (category 2), each of their own hospital."""
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    return [expert_of(committee, specialties=[ortho]) for _ in range(n)]


def ent_pool(committee, n: int = 4) -> list:
    ent = SpecialtyFactory(code="ent", name="耳鼻喉科", category=3)
    return [expert_of(committee, specialties=[ent]) for _ in range(n)]


def filled_sitting(n_ortho: int = 2, n_ent: int = 1, **sitting_kwargs):
    """A sitting filled with n orthopaedic cases and n ENT cases; returns (sitting, clerk, cases, result)."""
    sitting = SittingFactory(**sitting_kwargs)
    committee = sitting.committee
    ortho_pool(committee)
    if n_ent:
        ent_pool(committee)
    clerk = clerk_of(committee)
    cases = [reviewed_case(committee) for _ in range(n_ortho + n_ent)]
    chosen = {c.pk: [2] for c in cases[:n_ortho]} | {c.pk: [3] for c in cases[n_ortho:]}
    result = planning.sitting_fill(sitting.pk, chosen, actor=clerk)
    return sitting, clerk, cases, result


def nothing_saved(sitting: Sitting) -> bool:
    return (not SittingGroup.objects.filter(sitting=sitting).exists() and not Appointment.objects.exists()
            and not Panel.objects.exists() and not CaseAssignment.objects.exists())


def test_fill_puts_each_category_in_its_own_room():
    sitting, clerk, cases, result = filled_sitting(2, 1)
    assert [g.categories for g in result.groups] == [[2], [3]]
    assert [g.room.name for g in result.groups] == ["第1鉴定室", "第2鉴定室"]


def test_fill_books_the_workers_of_a_room_one_after_the_other():
    sitting, clerk, cases, result = filled_sitting(2, 0)
    times = sorted((a.starts_at, a.ends_at) for a in result.appointments)
    assert times[0][0] == selectors.combine(sitting.date, sitting.starts_at)
    assert times[0][1] == times[1][0]
    assert all(a.state == Appointment.State.BOOKED and a.sitting_id == sitting.pk for a in result.appointments)


def test_fill_schedules_every_case():
    sitting, clerk, cases, result = filled_sitting(2, 1)
    for case in cases:
        case.refresh_from_db()
        assert case.status == Status.SCHEDULED


def test_fill_seats_one_panel_on_every_case_of_a_room():
    sitting, clerk, cases, result = filled_sitting(2, 0)
    panels = [set(selectors.panel_experts(c)) for c in cases]
    assert len(panels[0]) == 3 and panels[0] == panels[1]


def test_each_panel_expert_gets_one_sitting_sms_for_the_room_not_one_per_worker():
    sitting, clerk, cases, result = filled_sitting(3, 0)
    experts = Expert.objects.filter(user_id__in=selectors.panel_experts(cases[0]))
    assert experts.count() == 3
    for expert in experts:
        room_sms = Notification.objects.filter(recipient=expert.phone, template="appointment.expert_sitting")
        assert room_sms.count() == 1
        assert "共3名职工" in room_sms.get().text
        assert not Notification.objects.filter(recipient=expert.phone, template="appointment.expert_booked").exists()


def test_every_worker_of_a_sitting_gets_their_own_sms():
    sitting, clerk, cases, result = filled_sitting(3, 0)
    assert Notification.objects.filter(template="appointment.booked").count() == 3


def test_fill_refuses_more_rooms_than_the_venue_has_and_saves_nothing():
    sitting = SittingFactory(venue__rooms=1)
    ortho_pool(sitting.committee)
    ent_pool(sitting.committee)
    a, b = reviewed_case(sitting.committee), reviewed_case(sitting.committee)
    with pytest.raises(ValidationFailed) as exc:
        planning.sitting_fill(sitting.pk, {a.pk: [2], b.pk: [3]}, actor=clerk_of(sitting.committee))
    assert exc.value.code == "too_few_rooms"
    assert nothing_saved(sitting)


def test_fill_refuses_a_room_whose_panel_cannot_be_drawn_and_saves_nothing():
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)  # no orthopaedist in the pool
    with pytest.raises(ValidationFailed):
        planning.sitting_fill(sitting.pk, {case.pk: [2]}, actor=clerk_of(sitting.committee))
    assert nothing_saved(sitting)


def test_fill_refuses_short_notice_without_a_reason_and_saves_nothing():
    sitting = SittingFactory(date=workday(1))
    SchedulingRules.objects.create(committee=sitting.committee, notice_lead_days=30)
    ortho_pool(sitting.committee)
    case = reviewed_case(sitting.committee)
    with pytest.raises(ValidationFailed) as exc:
        planning.sitting_fill(sitting.pk, {case.pk: [2]}, actor=clerk_of(sitting.committee))
    assert exc.value.code == "short_notice"
    assert nothing_saved(sitting)


def test_fill_accepts_short_notice_with_a_reason():
    sitting = SittingFactory(date=workday(1))
    SchedulingRules.objects.create(committee=sitting.committee, notice_lead_days=30)
    ortho_pool(sitting.committee)
    case = reviewed_case(sitting.committee)
    result = planning.sitting_fill(sitting.pk, {case.pk: [2]}, actor=clerk_of(sitting.committee),
                                   short_notice_reason="工人即将出国务工")
    assert result.appointments[0].lead_warning == "工人即将出国务工"


def test_fill_refuses_a_room_that_does_not_fit_in_the_sitting():
    sitting = SittingFactory(ends_at=dt.time(8, 40))  # from 08:30, 15 minutes a worker
    ortho_pool(sitting.committee)
    case = reviewed_case(sitting.committee)
    with pytest.raises(ValidationFailed) as exc:
        planning.sitting_fill(sitting.pk, {case.pk: [2]}, actor=clerk_of(sitting.committee))
    assert exc.value.code == "sitting_too_long"
    assert nothing_saved(sitting)


def test_fill_needs_the_categories_of_every_case():
    sitting = SittingFactory()
    case = reviewed_case(sitting.committee)
    with pytest.raises(ValidationFailed) as exc:
        planning.sitting_fill(sitting.pk, {case.pk: []}, actor=clerk_of(sitting.committee))
    assert exc.value.code == "no_categories"


def test_fill_never_seats_one_expert_in_two_rooms():
    sitting = SittingFactory()
    SchedulingRules.objects.create(committee=sitting.committee, workers_per_group=1)
    ortho_pool(sitting.committee, 6)  # just enough for two rooms of three
    clerk = clerk_of(sitting.committee)
    a, b = reviewed_case(sitting.committee), reviewed_case(sitting.committee)
    planning.sitting_fill(sitting.pk, {a.pk: [2], b.pk: [2]}, actor=clerk)
    room_a, room_b = set(selectors.panel_experts(a)), set(selectors.panel_experts(b))
    assert len(room_a) == len(room_b) == 3
    assert not room_a & room_b


def test_a_pool_too_small_for_two_disjoint_panels_fills_nothing():
    sitting = SittingFactory()
    SchedulingRules.objects.create(committee=sitting.committee, workers_per_group=1)
    ortho_pool(sitting.committee, 5)
    a, b = reviewed_case(sitting.committee), reviewed_case(sitting.committee)
    with pytest.raises(ValidationFailed):
        planning.sitting_fill(sitting.pk, {a.pk: [2], b.pk: [2]}, actor=clerk_of(sitting.committee))
    assert nothing_saved(sitting)


def test_a_later_fill_of_the_same_sitting_draws_other_experts():
    sitting = SittingFactory()
    ortho_pool(sitting.committee, 6)
    clerk = clerk_of(sitting.committee)
    a, b = reviewed_case(sitting.committee), reviewed_case(sitting.committee)
    planning.sitting_fill(sitting.pk, {a.pk: [2]}, actor=clerk)
    planning.sitting_fill(sitting.pk, {b.pk: [2]}, actor=clerk)
    assert not set(selectors.panel_experts(a)) & set(selectors.panel_experts(b))


def test_fill_never_draws_an_expert_booked_at_another_sitting_at_the_same_time():
    first = SittingFactory()
    second = SittingFactory(committee=first.committee, date=first.date)  # another venue, same morning
    ortho_pool(first.committee, 6)  # just enough for the two rooms
    clerk = clerk_of(first.committee)
    a, b = reviewed_case(first.committee), reviewed_case(first.committee)
    planning.sitting_fill(first.pk, {a.pk: [2]}, actor=clerk)
    planning.sitting_fill(second.pk, {b.pk: [2]}, actor=clerk)
    assert not set(selectors.panel_experts(a)) & set(selectors.panel_experts(b))


def test_cancelling_a_sitting_cancels_every_appointment_on_it():
    sitting, clerk, cases, result = filled_sitting(2, 0)
    planning.sitting_cancel(sitting.pk, actor=clerk, reason="场地停电")
    sitting.refresh_from_db()
    assert sitting.state == Sitting.State.CANCELLED and sitting.cancel_reason == "场地停电"
    assert set(Appointment.objects.values_list("state", flat=True)) == {Appointment.State.CANCELLED}


def test_a_cancelled_sitting_cannot_be_filled():
    sitting, clerk, cases, result = filled_sitting(1, 0)
    planning.sitting_cancel(sitting.pk, actor=clerk, reason="场地停电")
    case = reviewed_case(sitting.committee)
    with pytest.raises(Exception) as exc:
        planning.sitting_fill(sitting.pk, {case.pk: [2]}, actor=clerk)
    assert getattr(exc.value, "code", "") == "sitting_closed"


# NOTICES -----------------------------------------------------------------------------------------

def test_a_sitting_prints_one_notice_per_worker():
    sitting, clerk, cases, result = filled_sitting(2, 1)
    notices = printing.sitting_notices(sitting)
    assert sorted(n.appointment_id for n in notices) == sorted(a.pk for a in result.appointments)


def test_the_notice_names_the_worker_the_room_the_time_and_what_to_bring():
    sitting, clerk, cases, result = filled_sitting(1, 0)
    [notice] = printing.sitting_notices(sitting)
    case = cases[0]
    case.refresh_from_db()
    assert notice.worker == case.worker.name and notice.number == case.number
    assert notice.room == "第1鉴定室" and sitting.venue.name in notice.place
    assert notice.bring == sitting.bring and notice.committee == sitting.committee.name
    assert f"{sitting.date.month}月{sitting.date.day}日 08:30" in notice.when
    assert len(notice.procedure) >= 3


def test_a_cancelled_appointment_gets_no_notice():
    sitting, clerk, cases, result = filled_sitting(1, 0)
    planning.sitting_cancel(sitting.pk, actor=clerk, reason="场地停电")
    assert printing.sitting_notices(sitting) == []


def test_any_mode_prints_its_notice():
    committee = CommitteeFactory()
    expert = expert_of(committee)
    case = reviewed_case(committee, mode=Mode.CLINIC, experts=[expert])
    start = at(workday(7), 9)
    appointment = services.appointment_book(
        case.pk, Booking(mode=Mode.CLINIC, starts_at=start, ends_at=start + dt.timedelta(minutes=30),
                         expert_id=expert.pk), actor=clerk_of(committee))
    notice = printing.appointment_notice(appointment.pk, committee.pk)
    assert notice.worker == case.worker.name and notice.room == "" and notice.when
    assert notice.mode == str(Mode.CLINIC.label)


def test_another_committees_appointment_prints_nothing():
    sitting, clerk, cases, result = filled_sitting(1, 0)
    assert printing.appointment_notice(result.appointments[0].pk, CommitteeFactory().pk) is None


def test_a_fill_writes_its_audit_entries_in_one_go_and_the_chain_verifies():
    from laojian.core import audit
    from laojian.core.models import AuditEvent

    sitting, clerk, cases, result = filled_sitting(2, 1)
    assert AuditEvent.objects.filter(action="appointment.book").count() == 3
    assert AuditEvent.objects.filter(action="sitting.fill").count() == 1
    assert all(report.ok for report in audit.verify())
