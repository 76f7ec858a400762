"""Each dashboard figure against a hand-counted set of cases, and the drill-down lists behind them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laojian.cases.models import CaseType, Mode, Status
from laojian.core import calendar
from laojian.core.models import CalendarDay
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.crosscheck.models import Flag
from laojian.experts.tests.factories import ExpertFactory, HospitalFactory
from laojian.reports import selectors
from laojian.reports.scope import Scope, committees_for_statistics
from laojian.reports.tests.factories import at, case, concluded, entered, november, province_with_cities, seat
from laojian.review.models import Reappraisal
from laojian.sittings.models import Appointment

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)


def counts(scope, key: str) -> dict[str, int]:
    return {r.key: r.n for r in selectors.figure(scope, key).rows}


# FLOW -------------------------------------------------------------------------------------------

def test_applications_received_accepted_and_concluded_in_the_period_are_counted_by_their_own_date():
    c = CommitteeFactory()
    case(c, received=dt.date(2026, 11, 3))
    case(c, received=dt.date(2026, 11, 30), accepted_on=dt.date(2026, 11, 30), status=Status.ACCEPTED)
    case(c, received=dt.date(2026, 10, 31), accepted_on=dt.date(2026, 11, 2), status=Status.ACCEPTED)
    case(c, received=dt.date(2026, 12, 1))
    concluded(c, dt.date(2026, 9, 1), dt.date(2026, 11, 20), grade=9)
    flow = counts(november(c), "flow")
    assert (flow["received"], flow["accepted"], flow["concluded"]) == (2, 2, 1)


def test_terminations_withdrawals_and_rejections_count_on_the_day_the_case_entered_them():
    c = CommitteeFactory()
    entered(case(c), Status.TERMINATED, dt.date(2026, 11, 5))
    entered(case(c), Status.WITHDRAWN, dt.date(2026, 11, 30))
    entered(case(c), Status.WITHDRAWN, dt.date(2026, 12, 1))
    entered(case(c), Status.REJECTED, dt.date(2026, 10, 31))
    flow = counts(november(c), "flow")
    assert (flow["terminated"], flow["withdrawn"], flow["rejected"]) == (1, 1, 0)


def test_another_committees_cases_are_not_counted():
    mine, other = CommitteeFactory(), CommitteeFactory()
    case(mine)
    case(other)
    case(other)
    assert counts(november(mine), "flow")["received"] == 1


# BACKLOG AND RISK -------------------------------------------------------------------------------

def test_the_backlog_counts_open_cases_by_step_whatever_their_dates():
    c = CommitteeFactory()
    case(c, status=Status.SUBMITTED, received=dt.date(2025, 1, 2))
    case(c, status=Status.SUBMITTED)
    case(c, status=Status.SCHEDULED)
    case(c, status=Status.ARCHIVED)
    case(c, status=Status.DRAFT, received=None)
    backlog = selectors.figure(november(c), "backlog")
    assert (backlog.get("submitted"), backlog.get("scheduled"), backlog.total) == (2, 1, 3)


def test_cases_at_risk_use_each_committees_warning_days():
    quick, slow = CommitteeFactory(risk_warning_days=2), CommitteeFactory(risk_warning_days=10)
    today = dt.date(2026, 12, 1)
    case(quick, status=Status.ACCEPTED, next_due=today - dt.timedelta(days=1))   # overdue
    case(quick, status=Status.ACCEPTED, next_due=today + dt.timedelta(days=2))   # due soon
    case(quick, status=Status.ACCEPTED, next_due=today + dt.timedelta(days=5))   # fine for this committee
    case(slow, status=Status.ACCEPTED, next_due=today + dt.timedelta(days=5))    # due soon for that one
    case(slow, status=Status.DELIVERED, next_due=None)
    risk = counts(november(quick, slow), "risk")
    assert (risk["overdue"], risk["at_risk"]) == (1, 2)


# CYCLE TIME -------------------------------------------------------------------------------------

def test_cycle_time_in_working_days_skips_the_national_day_holiday():
    # 2026-09-30 (Wed) to 2026-10-12 (Mon): 1-7 October are the holiday, Saturday 10 October is a
    # make-up working day, so the working days are 8, 9, 10 and 12 October.
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 9, 30), dt.date(2026, 10, 12))
    scope = Scope(committee_ids=(c.pk,), first=dt.date(2026, 10, 1), last=dt.date(2026, 10, 31))
    rows = selectors.cycle_rows(scope)
    assert [(r["workdays"], r["calendar_days"], r["n"]) for r in rows] == [(4, 12, 1)]
    assert calendar.workdays_between(dt.date(2026, 9, 30), dt.date(2026, 10, 12)) == 4


def test_a_holiday_entered_by_the_committee_shortens_the_working_days_at_once():
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 9))  # Mon to Mon: 5 working days
    assert selectors.cycle_rows(november(c))[0]["workdays"] == 5
    CalendarDay.objects.create(date=dt.date(2026, 11, 4), kind=CalendarDay.Kind.HOLIDAY, name="停电")
    assert selectors.cycle_rows(november(c))[0]["workdays"] == 4


def test_median_and_90th_percentile_by_mode_are_nearest_rank():
    c = CommitteeFactory()
    # Clinic cases: 3, 5, 8 and 20 working days (Mon 2 Nov + n working days, no holiday in November).
    for concluded_on in (dt.date(2026, 11, 5), dt.date(2026, 11, 9), dt.date(2026, 11, 12), dt.date(2026, 11, 30)):
        concluded(c, dt.date(2026, 11, 2), concluded_on, mode=Mode.CLINIC)
    concluded(c, dt.date(2026, 9, 1), dt.date(2026, 11, 10), mode=Mode.SITTING)
    table = selectors.cycle_table(november(c))
    clinic = next(s for _label, code, s in table.by_mode if code == Mode.CLINIC)
    assert (clinic.n, clinic.fastest_workdays, clinic.median_workdays, clinic.p90_workdays) == (4, 3, 5, 20)
    assert (clinic.median_days, clinic.p90_days) == (7, 28)
    assert table.overall.n == 5


@given(st.dictionaries(st.integers(0, 400), st.integers(1, 50), min_size=1), st.sampled_from([0.5, 0.9]))
def test_the_nearest_rank_percentile_has_the_share_at_or_below_it(counts_, share):
    value = selectors.nearest_rank(counts_, share)
    n = sum(counts_.values())
    at_or_below = sum(k for v, k in counts_.items() if v <= value)
    below = sum(k for v, k in counts_.items() if v < value)
    assert value in counts_
    assert at_or_below >= share * n - 1e-9
    assert below < share * n


def test_cycle_bands_split_the_concluded_cases():
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 5))    # 3
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 16))   # 10
    concluded(c, dt.date(2026, 10, 12), dt.date(2026, 11, 6))   # 19
    concluded(c, dt.date(2026, 8, 3), dt.date(2026, 11, 2))     # far more than 60
    bands = counts(november(c), "cycle")
    assert (bands["0-10"], bands["11-20"], bands["61-"], bands["unknown"]) == (2, 1, 1, 0)


# LIMITS -----------------------------------------------------------------------------------------

def test_conclusions_within_and_after_the_statutory_limit_and_the_service_target():
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 10, 1), dt.date(2026, 11, 5), due=dt.date(2026, 11, 5), target=dt.date(2026, 11, 1))
    concluded(c, dt.date(2026, 9, 1), dt.date(2026, 11, 6), due=dt.date(2026, 11, 5))
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 10), target=dt.date(2026, 11, 16))
    limits, targets = counts(november(c), "limits"), counts(november(c), "targets")
    assert (limits["within_limit"], limits["late"]) == (2, 1)
    assert (targets["within_target"], targets["missed_target"], targets["no_target"]) == (1, 1, 1)


# RESULTS ----------------------------------------------------------------------------------------

def test_grades_and_care_levels_of_the_conclusions_of_the_period():
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 10, 1), dt.date(2026, 11, 5), grade=7)
    concluded(c, dt.date(2026, 10, 1), dt.date(2026, 11, 6), grade=7, care="partial")
    concluded(c, dt.date(2026, 10, 1), dt.date(2026, 11, 7), grade=None)
    concluded(c, dt.date(2026, 9, 1), dt.date(2026, 10, 30), grade=7)
    grades, care = counts(november(c), "grades"), counts(november(c), "care")
    assert (grades["7"], grades["none"], sum(grades.values())) == (2, 1, 3)
    assert (care["partial"], care["none"]) == (1, 2)


def test_leave_and_rehabilitation_periods_confirmed_by_case_type():
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 9), case_type=CaseType.LEAVE_CONFIRMATION, months=6)
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 9), case_type=CaseType.LEAVE_EXTENSION, months=3)
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 9), case_type=CaseType.LEAVE_EXTENSION, months=6)
    concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 9), case_type=CaseType.INITIAL, grade=9)
    periods = selectors.figure(november(c), "periods")
    assert (periods.get("leave_confirmation"), periods.get("leave_extension"), periods.total) == (1, 2, 3)
    assert selectors.dashboard(november(c)).period_months == {"leave_confirmation": (1, 6.0),
                                                              "leave_extension": (2, 4.5)}


def test_person_times_by_mode_and_sittings_held():
    from laojian.sittings.tests.factories import SittingFactory

    c = CommitteeFactory()
    sitting = SittingFactory(committee=c, date=dt.date(2026, 11, 12))
    clerk = UserFactory(committee=c)
    for mode, state, day in ((Mode.SITTING, Appointment.State.EXAMINED, dt.date(2026, 11, 12)),
                             (Mode.SITTING, Appointment.State.EXAMINED, dt.date(2026, 11, 12)),
                             (Mode.SITTING, Appointment.State.ABSENT, dt.date(2026, 11, 12)),
                             (Mode.CLINIC, Appointment.State.EXAMINED, dt.date(2026, 11, 30)),
                             (Mode.CLINIC, Appointment.State.EXAMINED, dt.date(2026, 12, 1))):
        Appointment.objects.create(case=case(c, mode=mode), committee=c, mode=mode, state=state, starts_at=at(day),
                                   ends_at=at(day, 11), place="鉴定中心", created_by=clerk,
                                   sitting=sitting if mode == Mode.SITTING else None)
    modes = counts(november(c), "modes")
    assert (modes["sitting"], modes["clinic"], modes["home"]) == (2, 1, 0)
    assert selectors.dashboard(november(c)).sittings_held == 1


def test_cases_with_cross_check_flags_by_rule_count_each_case_once():
    c = CommitteeFactory()
    flagged = case(c)
    for n, (rule, day) in enumerate(((Flag.Rule.NO_SETTLEMENT, NOV), (Flag.Rule.NO_SETTLEMENT, NOV),
                                     (Flag.Rule.PRE_EXISTING, NOV), (Flag.Rule.PRE_EXISTING, dt.date(2026, 10, 9)))):
        Flag.objects.create(case=flagged if n < 3 else case(c), committee=c, rule=rule, fingerprint=f"f{n}",
                            found_at=at(day), last_seen_at=at(day))
    flags = counts(november(c), "flags")
    assert (flags["no_settlement"], flags["pre_existing"], flags["dates_disagree"]) == (1, 1, 0)


def test_reappraisals_requested_and_how_the_province_decided():
    c = CommitteeFactory()
    clerk = UserFactory(committee=c)

    def sent(requested, outcome=Reappraisal.Outcome.PENDING, decided=None):
        Reappraisal.objects.create(case=concluded(c, dt.date(2026, 6, 1), dt.date(2026, 7, 1)), committee=c,
                                   requested_on=requested, party="worker", requester_name="甲", grounds="不服",
                                   recorded_by=clerk, outcome=outcome, provincial_concluded_on=decided)

    sent(dt.date(2026, 11, 3))
    sent(dt.date(2026, 8, 3), Reappraisal.Outcome.CHANGED, dt.date(2026, 11, 20))
    sent(dt.date(2026, 8, 3), Reappraisal.Outcome.UPHELD, dt.date(2026, 11, 21))
    sent(dt.date(2026, 8, 3), Reappraisal.Outcome.UPHELD, dt.date(2026, 10, 21))
    r = counts(november(c), "reappraisals")
    assert (r["requested"], r["changed"], r["upheld"]) == (1, 1, 1)


def test_expert_workload_counts_panel_seats_on_the_cases_concluded():
    c = CommitteeFactory()
    busy, idle = ExpertFactory(committee=c), ExpertFactory(committee=c)
    for day in (dt.date(2026, 11, 5), dt.date(2026, 11, 6), dt.date(2026, 10, 6)):
        seat(concluded(c, dt.date(2026, 9, 1), day), busy.user)
    workload = counts(november(c), "workload")
    assert (workload[str(busy.user_id)], workload[str(idle.user_id)]) == (2, 0)


# FILTERS ----------------------------------------------------------------------------------------

def test_filters_narrow_every_figure_to_the_county_mode_case_type_and_hospital():
    c = CommitteeFactory()
    hospital = HospitalFactory(committee=c)
    expert = ExpertFactory(committee=c, hospital=hospital)
    a = case(c, mode=Mode.CLINIC)
    a.worker.county = "东昌府区"
    a.worker.save()
    seat(a, expert.user)
    case(c, mode=Mode.SITTING, case_type=CaseType.REVIEW)
    assert counts(november(c, county="东昌府区"), "flow")["received"] == 1
    assert counts(november(c, mode=Mode.SITTING), "flow")["received"] == 1
    assert counts(november(c, case_type=CaseType.REVIEW), "flow")["received"] == 1
    assert counts(november(c, hospital_id=hospital.pk), "flow")["received"] == 1
    assert counts(november(c, hospital_id=HospitalFactory(committee=c).pk), "flow")["received"] == 0


# DRILL-DOWN -------------------------------------------------------------------------------------

def test_every_drill_down_list_adds_up_to_its_figure():
    c = CommitteeFactory()
    clerk = UserFactory(committee=c)
    expert = ExpertFactory(committee=c)
    case(c, status=Status.SUBMITTED, next_due=dt.date(2026, 11, 30))
    entered(case(c), Status.WITHDRAWN, dt.date(2026, 11, 5))
    for grade, care, mode in ((7, "none", Mode.SITTING), (9, "partial", Mode.CLINIC), (None, "none", Mode.HOME)):
        done = concluded(c, dt.date(2026, 10, 8), dt.date(2026, 11, 9), grade=grade, care=care, mode=mode,
                         due=dt.date(2026, 11, 6))
        seat(done, expert.user)
        Flag.objects.create(case=done, committee=c, rule=Flag.Rule.DATES_DISAGREE, fingerprint=f"d{done.pk}",
                            found_at=at(NOV), last_seen_at=at(NOV))
        Appointment.objects.create(case=done, committee=c, mode=mode, state=Appointment.State.EXAMINED,
                                   starts_at=at(NOV), ends_at=at(NOV, 11), place="鉴定中心", created_by=clerk)
    Reappraisal.objects.create(case=done, committee=c, requested_on=NOV, party="worker", requester_name="甲",
                               grounds="不服", recorded_by=clerk)
    # Unfiltered, the counters read appointments, flags and re-appraisals by committee; filtered, by case.
    for scope, at_least in ((november(c), 20), (november(c, mode=Mode.CLINIC), 5), (november(c, county="无此县"), 0)):
        checked = 0
        for key in selectors.FIGURES:
            for row in selectors.figure(scope, key).rows:
                assert selectors.drill(scope, key, row.key).count() == row.n, (scope, key, row.key)
                checked += row.n
            by_committee = selectors.figure_by_committee(scope, key)[c.pk]
            assert [r.n for r in by_committee.rows] == [r.n for r in selectors.figure(scope, key).rows], key
        assert checked >= at_least


# WHO SEES WHAT ----------------------------------------------------------------------------------

def test_a_province_sees_every_city_and_a_city_only_itself():
    province, (a, b) = province_with_cities(2)
    CommitteeFactory()  # a committee of another province
    assert set(committees_for_statistics(UserFactory(committee=province, roles=["leader"]))) == {province, a, b}
    assert list(committees_for_statistics(UserFactory(committee=a, roles=["leader"]))) == [a]


def test_a_user_without_the_statistics_permission_sees_no_committee():
    c = CommitteeFactory()
    assert not committees_for_statistics(UserFactory(committee=c, roles=["expert"])).exists()


def test_a_province_gets_its_cities_side_by_side():
    province, (a, b) = province_with_cities(2)
    case(a)
    case(a)
    case(b)
    board = selectors.dashboard(november(province, a, b))
    side = {committee.pk: figs["flow"].get("received") for committee, figs in board.committees}
    assert side == {province.pk: 0, a.pk: 2, b.pk: 1}
