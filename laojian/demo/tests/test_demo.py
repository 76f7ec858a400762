"""The demo city: built once per module through the real services, then checked from the database."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from laojian.cases.models import Case, CaseAssignment, CaseType, Mode, Status, TimelineEntry, Worker
from laojian.cases.workflow import TERMINAL_STATES
from laojian.core.models import AuditEvent, Committee, User
from laojian.core.roles import ROLES
from laojian.core.validators import parse_resident_id
from laojian.demo import checks
from laojian.experts.models import Expert, Hospital, Specialty

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 27)


def _counts() -> dict[str, object]:
    return {
        "committees": Committee.objects.count(),
        "hospitals": Hospital.objects.count(),
        "specialties": Specialty.objects.count(),
        "experts": Expert.objects.count(),
        "users": User.objects.count(),
        "workers": Worker.objects.count(),
        "cases": Case.objects.count(),
        "assignments": CaseAssignment.objects.count(),
        "timeline": TimelineEntry.objects.count(),
        "statuses": dict(Counter(Case.objects.values_list("status", flat=True))),
    }


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the city once for the module, inside a transaction rolled back at the end, so the
    rows never leak into other modules' tests."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            out = StringIO()
            call_command("demo", "--today", TODAY.isoformat(), stdout=out)
            yield out.getvalue()
            transaction.set_rollback(True)


def test_one_committee_with_its_reference_data(demo):
    committee = Committee.objects.get()
    assert (committee.name, committee.short_name, committee.code, committee.case_number_prefix) == (
        "聊城市劳动能力鉴定委员会", "聊城", "371500", "聊劳鉴"
    )
    assert Hospital.objects.filter(committee=committee).count() == 12
    assert set(Specialty.objects.values_list("category", flat=True)) == {1, 2, 3, 4, 5}
    experts = Expert.objects.filter(committee=committee)
    assert experts.count() >= 80
    assert set(experts.values_list("status", flat=True)) == set(Expert.Status.values)
    assert not experts.filter(senior_title=False).exists()
    assert not experts.filter(user=None).exists()
    # Every expert's own account is in the expert group; only the demo one can sign in.
    assert User.objects.filter(expert__isnull=False, groups__name="expert").count() == experts.count()
    usable = [e.user.username for e in experts.select_related("user") if e.user.has_usable_password()]
    assert usable == ["expert"]


def test_one_demo_login_per_role(demo):
    for code in (c for c, role in ROLES.items() if role.sign_in):
        user = User.objects.get(username=code)
        assert list(user.groups.values_list("name", flat=True)) == [code]
        assert user.committee is not None and user.committee.code == "371500"
        assert user.display_name
        assert authenticate(username=code, password=settings.LAOJIAN_DEMO_PASSWORD) == user
    for username, code in (("clerk2", "clerk"), ("reviewer2", "reviewer")):
        assert list(User.objects.get(username=username).groups.values_list("name", flat=True)) == [code]
    admin = User.objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser
    assert not User.objects.filter(is_superuser=True).exists()


def test_cases_cover_every_status_mode_and_type(demo):
    cases = Case.objects.all()
    assert cases.count() >= 280
    assert set(cases.values_list("status", flat=True)) == set(Status.values)
    assert set(cases.values_list("mode", flat=True)) == set(Mode.values)
    assert set(cases.values_list("case_type", flat=True)) == set(CaseType.values)
    # Older cases are mostly finished; the newest are in the early states.
    old = cases.filter(received_on__lt=TODAY - dt.timedelta(days=180))
    assert old.filter(status__in=TERMINAL_STATES | {Status.DELIVERED}).count() == old.count()
    assert cases.filter(status=Status.ARCHIVED).count() > cases.count() / 2


def test_worker_id_numbers_and_parties_are_valid(demo):
    for worker in Worker.objects.all():
        parsed = parse_resident_id(worker.id_number, today=TODAY)
        assert (parsed.birth_date, parsed.sex) == (worker.birth_date, worker.sex)
        assert worker.id_number.startswith("3715")
        assert 1960 <= worker.birth_date.year <= 2000
    for case in Case.objects.select_related("determination"):
        d = case.determination
        assert d.injury_date <= d.determination_date
        if case.received_on:
            assert d.determination_date <= case.received_on


def test_dates_and_timelines_are_in_order(demo):
    assert not Case.objects.filter(received_on__gt=TODAY).exists()
    assert not Case.objects.filter(status=Status.DRAFT).exclude(received_on=None).exists()
    assert not Case.objects.exclude(status=Status.DRAFT).filter(received_on=None).exists()
    timelines: dict[int, list[TimelineEntry]] = {}
    for entry in TimelineEntry.objects.order_by("case_id", "id"):
        timelines.setdefault(entry.case_id, []).append(entry)
    for case in Case.objects.all():
        entries = timelines[case.pk]
        times = [e.at for e in entries]
        assert times == sorted(times), case.number
        assert entries[0].action == "register"
        # The history is replayed before today; the cross-checks and the discussion are set up now.
        replayed = [e for e in entries if e.action not in checks.PRESENT_ACTIONS]
        assert timezone.localdate(replayed[-1].at) < TODAY
        transitions = [e for e in entries if e.to_status]
        assert transitions[-1].to_status == case.status, case.number


def test_the_cross_checks_find_the_planted_doubts(demo):
    from laojian.crosscheck.models import Flag

    assert set(Flag.objects.values_list("rule", flat=True)) >= {"no_settlement", "dates_disagree", "pre_existing"}


def test_the_difficult_cases_are_on_a_collective_discussion(demo):
    from laojian.review.models import AgendaItem

    difficult = set(Case.objects.filter(status=Status.DIFFICULT).values_list("pk", flat=True))
    assert difficult and set(AgendaItem.objects.values_list("case_id", flat=True)) == difficult


def test_separation_of_duties_and_panels(demo):
    for case in Case.objects.exclude(accepted_by=None).select_related("accepted_by"):
        review = case.timeline.filter(action="pass_review").select_related("actor").first()
        if review is not None:
            assert review.actor != case.accepted_by
            assert (case.accepted_by.username, review.actor.username) in {
                ("clerk", "reviewer"), ("clerk2", "reviewer2")
            }
    examined = Case.objects.filter(timeline__action="record_examination").distinct()
    assert examined.exists()
    for case in examined:
        panel = case.assignments.filter(role=CaseAssignment.Role.EXPERT).count()
        assert panel in (3, 5), case.number
        examiner = case.timeline.get(action="record_examination").actor
        assert case.assignments.filter(user=examiner, role=CaseAssignment.Role.EXPERT).exists()
    assert Case.objects.filter(assignments__user__username="expert").exists()


def test_clinic_is_quick_and_deadlines_are_kept(demo):
    from laojian.core.calendar import workdays_between

    clinic = Case.objects.filter(mode=Mode.CLINIC).exclude(concluded_on=None)
    quick = [workdays_between(c.received_on, c.concluded_on) <= 10 for c in clinic]
    assert quick and sum(quick) / len(quick) > 0.75
    for case in Case.objects.exclude(concluded_on=None):
        assert case.concluded_on <= case.conclusion_due, case.number
    assert Case.objects.filter(extension_days__gt=0).exists()
    assert Case.objects.filter(reschedule_shift_days__gt=0).exists()
    # The worklist shows colours: some open cases are overdue, some at risk.
    open_cases = Case.objects.exclude(status__in=TERMINAL_STATES | {Status.DRAFT})
    assert open_cases.filter(next_due__lt=TODAY).exists()
    assert open_cases.filter(next_due__gte=TODAY, next_due__lte=TODAY + dt.timedelta(days=5)).exists()


def test_applicant_sees_own_cases(demo):
    applicant = User.objects.get(username="applicant")
    own = Case.objects.filter(applicant_user=applicant)
    assert set(own.values_list("status", flat=True)) == {Status.ARCHIVED, Status.DRAFT}
    assert own.values("worker").distinct().count() == 1


def test_audit_chain_verifies(demo):
    from laojian.core import audit

    assert AuditEvent.objects.filter(action="case.register").count() == Case.objects.count()
    reports = audit.verify()
    assert reports and all(r.ok for r in reports), [r for r in reports if not r.ok]


def test_output_lists_logins_and_counts(demo):
    for code in (c for c, role in ROLES.items() if role.sign_in):
        assert f"\n  {code} " in demo
    assert settings.LAOJIAN_DEMO_PASSWORD in demo
    assert "http://127.0.0.1:8000/" in demo
    assert "12" in demo


def test_running_again_changes_nothing(demo):
    before = _counts()
    audit_before = AuditEvent.objects.count()
    out = StringIO()
    call_command("demo", "--today", TODAY.isoformat(), stdout=out)
    assert _counts() == before
    assert AuditEvent.objects.count() == audit_before
    # Another day or seed does not add a second city either.
    call_command("demo", "--today", "2026-06-01", "--seed", "7", stdout=StringIO())
    assert _counts() == before


def test_bad_date_is_refused(demo):
    with pytest.raises(CommandError):
        call_command("demo", "--today", "27.11.2026", stdout=StringIO())


def test_refuses_in_production(demo, monkeypatch):
    monkeypatch.setattr(settings, "PRODUCTION", True)
    with pytest.raises(CommandError):
        call_command("demo", stdout=StringIO())


def test_plan_is_deterministic():
    from laojian.demo.city import Planner

    def summary(seed: int) -> list[tuple]:
        plans = Planner(TODAY, seed).plan_cases()
        return [(p.party[0].id_number, p.party[2].number, p.options.mode,
                 [(s.kind, s.day, s.actor, s.at) for s in p.steps]) for p in plans]

    first = summary(1)
    assert summary(1) == first
    assert summary(2) != first
    assert len(first) == 300


def test_demo_falls_back_to_the_last_scheduled_day_when_this_year_has_no_schedule(monkeypatch):
    import io

    from laojian.cases import clocks
    from laojian.core import calendar
    from laojian.demo.management.commands import demo

    monkeypatch.setattr(clocks, "today", lambda: dt.date(calendar.PACKAGE_LAST_YEAR + 1, 1, 2))
    stderr = io.StringIO()
    day = demo._last_scheduled_day(stderr)
    assert day == dt.date(calendar.PACKAGE_LAST_YEAR, 12, 31)
    assert str(calendar.PACKAGE_LAST_YEAR + 1) in stderr.getvalue()


def test_a_clerk_can_draw_a_real_panel_in_the_demo_city(demo, django_db_blocker):
    from laojian.experts import services as expert_services

    with django_db_blocker.unblock(), transaction.atomic():
        clerk = User.objects.get(username="clerk")
        case = Case.objects.filter(status=Status.REVIEWED).order_by("id").first()
        panel = expert_services.panel_draw(
            case.pk, expert_services.DrawRequest(categories=[2], sitting_date=TODAY), actor=clerk
        )
        seated = list(panel.members.values_list("expert__hospital_id", flat=True))
        assert len(seated) == 3
        assert len(set(seated)) == 3  # one expert per hospital
        transaction.set_rollback(True)


def test_every_scheduled_case_has_a_live_appointment_in_its_mode(demo):
    from laojian.sittings.models import Appointment

    scheduled = Case.objects.filter(status=Status.SCHEDULED)
    assert scheduled.exists()
    for case in scheduled:
        appointment = Appointment.objects.get(case=case, state__in=Appointment.LIVE)
        assert appointment.mode == case.mode
        assert appointment.starts_at.date() >= TODAY


def test_the_sitting_cases_sit_on_the_next_sitting_and_the_screen_address_is_printed(demo):
    from laojian.sittings.models import Appointment, Sitting

    sitting = Sitting.objects.get(state=Sitting.State.PLANNED)
    assert sitting.date >= TODAY and sitting.venue.rooms.count() >= 2
    assert Appointment.objects.filter(sitting=sitting, group__isnull=False).count() == \
        Case.objects.filter(status=Status.SCHEDULED, mode=Mode.SITTING).count()
    assert f"/sittings/screen/{sitting.screen_token}/" in demo


def test_the_history_s_examinations_took_place_at_held_sittings_and_appointments(demo):
    from laojian.sittings.models import Appointment, Sitting

    examined = TimelineEntry.objects.filter(to_status=Status.EXAMINED).count()
    assert examined > 0
    assert Appointment.objects.filter(state=Appointment.State.EXAMINED).count() == examined
    held = Sitting.objects.filter(state=Sitting.State.HELD)
    assert held.exists() and all(s.date < TODAY for s in held)


def test_the_clinic_has_a_weekly_roster(demo):
    from laojian.sittings.models import RosterEntry

    assert RosterEntry.objects.values("weekday", "half").distinct().count() >= 8
