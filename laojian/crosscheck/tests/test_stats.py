"""Statistics on a hand-made set of flags: exact numbers, by rule and by hospital, in a period."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from laojian.crosscheck import selectors
from laojian.crosscheck.models import Flag
from laojian.crosscheck.tests.factories import HOSPITAL_A, HOSPITAL_B, D, open_case, staff

pytestmark = pytest.mark.django_db


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.fixture
def fixture():
    """Two cases of one committee, one of another; flags found in March and in May 2026."""
    a = open_case()
    b = open_case(committee=a.committee)
    elsewhere = open_case()
    rows = [
        # (case, rule, hospital, state, found)
        (a, "no_settlement", HOSPITAL_A, "open", D(2026, 3, 3)),
        (a, "dates_disagree", HOSPITAL_A, "cleared", D(2026, 3, 3)),
        (a, "pre_existing", HOSPITAL_B, "confirmed", D(2026, 3, 31)),
        (b, "no_settlement", HOSPITAL_B, "letter_sent", D(2026, 3, 15)),
        (b, "no_settlement", HOSPITAL_A, "cleared", D(2026, 3, 16)),
        (b, "not_licensed", HOSPITAL_B, "confirmed", D(2026, 5, 2)),        # outside March
        (elsewhere, "no_settlement", HOSPITAL_A, "open", D(2026, 3, 10)),  # another committee
    ]
    for n, (case, rule, hospital, state, day) in enumerate(rows):
        Flag.objects.create(case=case, committee=case.committee, rule=rule, fingerprint=f"f{n}", weight=1,
                            hospital_name=hospital, state=state, found_at=at(day), last_seen_at=at(day))
    return a


def test_the_totals_of_a_period_are_exact(fixture):
    stats = selectors.flag_stats(staff(fixture, "liaison"), D(2026, 3, 1), D(2026, 3, 31))
    assert stats.totals == {"found": 5, "cases": 2, "open": 2, "letter_sent": 1, "cleared": 2, "confirmed": 1}


def test_by_rule(fixture):
    stats = selectors.flag_stats(staff(fixture, "leader"), D(2026, 3, 1), D(2026, 3, 31))
    assert [(r["rule"], r["found"], r["open"], r["cleared"], r["confirmed"]) for r in stats.by_rule] == [
        ("no_settlement", 3, 2, 1, 0), ("dates_disagree", 1, 0, 1, 0), ("pre_existing", 1, 0, 0, 1)]


def test_by_hospital(fixture):
    stats = selectors.flag_stats(staff(fixture, "reviewer"), D(2026, 3, 1), D(2026, 5, 31))
    assert [(r["hospital_name"], r["found"], r["cases"], r["open"], r["cleared"], r["confirmed"])
            for r in stats.by_hospital] == [(HOSPITAL_A, 3, 2, 1, 2, 0), (HOSPITAL_B, 3, 2, 1, 0, 2)]


def test_the_period_ends_include_their_whole_day(fixture):
    stats = selectors.flag_stats(staff(fixture, "liaison"), D(2026, 3, 31), D(2026, 3, 31))
    assert stats.totals["found"] == 1


def test_the_statistics_take_a_constant_number_of_queries(fixture, django_assert_num_queries):
    user = staff(fixture, "liaison")
    user.has_perm("crosscheck.view_flag")  # permissions cached
    with django_assert_num_queries(3):
        selectors.flag_stats(user, D(2026, 1, 1), D(2026, 12, 31))
