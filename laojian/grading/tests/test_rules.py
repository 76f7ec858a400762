"""The grading rules as plain functions: several injuries (GB/T 16180-2014, 4.2), care dependency
(4.1.5), the paid-leave and rehabilitation periods, and whether a panel's opinions agree.

No database: ``rules`` never touches it. Reasons are read in English (``translation.override``) so
the assertions do not depend on the catalogue's Chinese wording.
"""

from __future__ import annotations

from itertools import combinations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from laojian.grading import rules
from laojian.grading.rules import (
    Activity,
    CareLevel,
    MedicalDependency,
    PanelOpinion,
    PeriodLimits,
    Tolerance,
    care_level,
    catalogue_months,
    check_period,
    combine,
    panel_agreement,
)

GRADE = st.integers(min_value=1, max_value=10)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# SEVERAL INJURIES ---------------------------------------------------------------------------------

def test_several_grade_10_items_promote_to_9_and_the_panel_may_keep_10():
    result = combine([10, 10, 10])
    assert (result.grade, result.base, result.promoted, result.advisory) == (9, 10, True, False)
    assert result.allowed == (9, 10)
    assert result.label == "9级"
    assert "the panel confirms" in result.reasons[-1]


def test_the_most_severe_grade_decides_when_no_grade_is_shared():
    result = combine([7, 10])
    assert (result.grade, result.promoted, result.advisory, result.allowed) == (7, False, False, (7,))


def test_tied_lower_grades_are_advisory_and_leave_the_computed_grade_alone():
    result = combine([8, 9, 9])
    assert (result.grade, result.base, result.promoted, result.advisory) == (8, 8, False, True)
    assert set(result.allowed) == {8, 7}
    assert "advisory" in result.reasons[-1]


def test_no_item_is_below_every_grade():
    result = combine([])
    assert result.grade is None
    assert result.allowed == (None,)
    assert result.label == "未达到伤残等级"


def test_two_grade_1_items_stay_grade_1():
    result = combine([1, 1])
    assert (result.grade, result.promoted, result.allowed) == (1, False, (1,))


def test_a_single_item_is_its_own_grade():
    result = combine([4])
    assert (result.grade, result.base, result.promoted, result.advisory, result.allowed) == (4, 4, False, False, (4,))


def test_pre_existing_disability_is_explained_with_rule_4_3_in_an_initial_appraisal():
    result = combine([6], pre_existing=True)
    assert "4.3" in result.reasons[-1]
    assert "worsened" in result.reasons[-1]


def test_pre_existing_disability_in_a_review_appraisal_says_rule_4_3_does_not_apply():
    result = combine([6], pre_existing=True, review=True)
    assert "does not apply in a review appraisal" in result.reasons[-1]


def test_without_pre_existing_disability_rule_4_3_is_not_mentioned():
    assert not any("4.3" in r for r in combine([6, 6]).reasons)


@given(st.lists(GRADE, max_size=8))
def test_the_result_is_the_most_severe_grade_or_exactly_one_above_it(grades):
    result = combine(grades)
    if not grades:
        assert result.grade is None
        return
    assert result.grade in {min(grades), min(grades) - 1}
    assert result.grade >= 1
    assert set(result.allowed) <= {min(grades), min(grades) - 1}
    assert result.grade in result.allowed
    assert result.promoted == (result.grade != min(grades))


@given(st.lists(GRADE, min_size=2, max_size=8))
def test_a_shared_most_severe_grade_promotes_unless_it_is_grade_1(grades):
    result = combine(grades)
    shared = grades.count(min(grades)) >= 2
    assert result.promoted == (shared and min(grades) > 1)


@given(st.lists(GRADE, max_size=8), st.randoms())
def test_the_order_of_the_items_does_not_matter(grades, rnd):
    shuffled = list(grades)
    rnd.shuffle(shuffled)
    a, b = combine(grades), combine(shuffled)
    assert (a.grade, a.base, a.promoted, a.advisory, a.allowed) == (b.grade, b.base, b.promoted, b.advisory, b.allowed)


@given(st.lists(GRADE, max_size=5), st.one_of(st.integers(max_value=0), st.integers(min_value=11)),
       st.integers(min_value=0, max_value=5))
def test_grades_outside_1_to_10_are_refused(grades, bad, at):
    grades.insert(min(at, len(grades)), bad)
    with pytest.raises(ValueError):
        combine(grades)


# CARE DEPENDENCY ----------------------------------------------------------------------------------

EXPECTED_CARE = {0: CareLevel.NONE, 1: CareLevel.PARTIAL, 2: CareLevel.PARTIAL, 3: CareLevel.MOST,
                 4: CareLevel.MOST, 5: CareLevel.COMPLETE}
ALL_SUBSETS = [subset for n in range(6) for subset in combinations(Activity.values, n)]


def test_there_are_32_subsets_of_the_five_activities():
    assert len(ALL_SUBSETS) == 32


@pytest.mark.parametrize("needs", ALL_SUBSETS, ids=lambda s: "+".join(s) or "none")
def test_care_level_of_every_subset_of_the_five_activities(needs):
    assert care_level(needs) == EXPECTED_CARE[len(needs)]


@given(st.sets(st.sampled_from(Activity.values)), st.integers(min_value=1, max_value=3))
def test_care_level_counts_activities_not_mentions(needs, repeat):
    assert care_level(list(needs) * repeat) == EXPECTED_CARE[len(needs)]


def test_an_unknown_activity_is_refused():
    with pytest.raises(ValueError, match="cooking"):
        care_level(["eating", "cooking"])


# PERIODS ------------------------------------------------------------------------------------------

def test_a_first_paid_leave_period_of_12_months_is_allowed_13_is_not():
    assert check_period("leave", 12, extension=False).errors == ()
    assert "at most 12 months" in check_period("leave", 13, extension=False).errors[0]


def test_a_paid_leave_extension_is_at_most_12_months():
    assert check_period("leave", 12, extension=True, prior_months=12).errors == ()
    assert any("at most 12 months" in e for e in check_period("leave", 13, extension=True, prior_months=6).errors)


def test_paid_leave_is_at_most_24_months_counting_what_was_granted_before():
    assert check_period("leave", 10, extension=True, prior_months=14).errors == ()
    errors = check_period("leave", 11, extension=True, prior_months=14).errors
    assert len(errors) == 1
    assert "24 months in all" in errors[0] and "25" in errors[0]


def test_the_committee_limits_set_the_caps():
    limits = PeriodLimits(leave_months=6, leave_extension_months=3, leave_total_months=9)
    assert check_period("leave", 7, extension=False, limits=limits).errors
    assert check_period("leave", 4, extension=True, prior_months=5, limits=limits).errors
    assert check_period("leave", 3, extension=True, prior_months=6, limits=limits).errors == ()


def test_rehabilitation_caps_come_from_the_committee_limits():
    limits = PeriodLimits(rehab_months=6, rehab_extension_months=3)
    assert check_period("rehab", 6, extension=False, limits=limits).errors == ()
    assert "at most 6 months" in check_period("rehab", 7, extension=False, limits=limits).errors[0]
    assert check_period("rehab", 3, extension=True, limits=limits).errors == ()
    assert "at most 3 months" in check_period("rehab", 4, extension=True, limits=limits).errors[0]


def test_rehabilitation_has_no_catalogue_maximum():
    check = check_period("rehab", 6, extension=False, listed=[1])
    assert (check.catalogue_months, check.warnings) == (None, ())


def test_the_catalogue_maximum_is_the_longest_injury():
    assert catalogue_months([3, 6, 2], complication=False, limits=PeriodLimits()) == 6


def test_an_injury_not_in_the_catalogue_counts_as_the_committee_unlisted_months():
    assert catalogue_months([None, 2], complication=False, limits=PeriodLimits(unlisted_months=4)) == 4
    assert catalogue_months([None, 9], complication=False, limits=PeriodLimits(unlisted_months=4)) == 9


def test_a_complication_adds_the_committee_complication_months():
    assert catalogue_months([3], complication=True, limits=PeriodLimits(complication_months=2)) == 5


def test_no_injury_listed_means_no_catalogue_maximum():
    assert catalogue_months([], complication=True, limits=PeriodLimits()) is None


def test_months_beyond_the_catalogue_are_a_warning_not_an_error():
    check = check_period("leave", 8, extension=False, listed=[3, 6])
    assert check.errors == ()
    assert check.catalogue_months == 6
    assert len(check.warnings) == 1 and "6 months" in check.warnings[0]
    assert "3、6" in check.reasons[0]


def test_months_within_the_catalogue_give_no_warning():
    check = check_period("leave", 5, extension=False, listed=[None], complication=True,
                         limits=PeriodLimits(unlisted_months=3, complication_months=2))
    assert (check.catalogue_months, check.errors, check.warnings) == (5, (), ())
    assert "complication" in check.reasons[0]


def test_an_extension_is_compared_with_the_catalogue_including_the_months_already_granted():
    check = check_period("leave", 4, extension=True, prior_months=3, listed=[6])
    assert check.errors == ()
    assert "7 months exceed" in check.warnings[0]


def test_missing_months_are_an_error():
    check = check_period("leave", None, extension=False)
    assert len(check.errors) == 1 and "months" in check.errors[0]


def test_zero_months_are_an_error():
    assert check_period("rehab", 0, extension=False).errors


def test_an_unknown_period_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        check_period("holiday", 3, extension=False)


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=0, max_value=24),
       st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=24)), max_size=4))
def test_the_catalogue_never_turns_a_lawful_first_period_into_an_error(months, _prior, listed):
    check = check_period("leave", months, extension=False, listed=listed)
    assert check.errors == ()


# PANEL AGREEMENT ----------------------------------------------------------------------------------

def panel(*grades, care=CareLevel.NONE, dep=MedicalDependency.NONE, months=None):
    cares = care if isinstance(care, tuple) else (care,) * len(grades)
    month_list = months if isinstance(months, tuple) else (months,) * len(grades)
    return [PanelOpinion(g, c, dep, m) for g, c, m in zip(grades, cares, month_list, strict=True)]


def test_identical_opinions_agree():
    result = panel_agreement(panel(7, 7, 7, care=CareLevel.PARTIAL), Tolerance())
    assert (result.agrees, result.grade, result.care_level) == (True, 7, CareLevel.PARTIAL)
    assert result.reasons == ("The 3 signed opinions agree.",)


def test_grades_beyond_the_tolerance_diverge():
    result = panel_agreement(panel(7, 7, 8), Tolerance(grade_steps=0))
    assert result.agrees is False
    assert result.grade is None
    assert "7级、7级、8级" in result.reasons[0]


def test_within_a_tolerance_of_one_the_majority_grade_is_taken_and_said():
    result = panel_agreement(panel(7, 7, 8), Tolerance(grade_steps=1))
    assert (result.agrees, result.grade) == (True, 7)
    assert "within tolerance" in result.reasons[0]
    assert any("most experts gave" in r and "7级" in r for r in result.reasons)


def test_two_grades_apart_diverge_even_with_a_tolerance_of_one():
    assert panel_agreement(panel(6, 7, 8), Tolerance(grade_steps=1)).agrees is False


def test_no_grade_mixed_with_a_grade_diverges_whatever_the_tolerance():
    result = panel_agreement(panel(None, 10, 10), Tolerance(grade_steps=9))
    assert result.agrees is False
    assert "no grade" in result.reasons[0]


def test_all_no_grade_agrees_on_no_grade():
    result = panel_agreement(panel(None, None, None), Tolerance())
    assert (result.agrees, result.grade) == (True, None)


def test_different_care_levels_diverge():
    opinions = panel(7, 7, 7, care=(CareLevel.PARTIAL, CareLevel.PARTIAL, CareLevel.MOST))
    result = panel_agreement(opinions, Tolerance())
    assert result.agrees is False
    assert "Care levels differ" in result.reasons[0]


def test_different_care_levels_agree_by_majority_when_they_need_not_match():
    opinions = panel(7, 7, 7, care=(CareLevel.PARTIAL, CareLevel.PARTIAL, CareLevel.MOST))
    result = panel_agreement(opinions, Tolerance(care_must_match=False))
    assert (result.agrees, result.care_level) == (True, CareLevel.PARTIAL)


def test_different_medical_dependency_diverges():
    opinions = [PanelOpinion(5, CareLevel.NONE, MedicalDependency.GENERAL),
                PanelOpinion(5, CareLevel.NONE, MedicalDependency.SPECIAL),
                PanelOpinion(5, CareLevel.NONE, MedicalDependency.GENERAL)]
    assert panel_agreement(opinions, Tolerance()).agrees is False


def test_two_experts_one_grade_apart_have_no_majority_and_diverge():
    result = panel_agreement(panel(7, 8), Tolerance(grade_steps=1))
    assert result.agrees is False
    assert "no value has a majority" in result.reasons[0]


def test_months_within_the_tolerance_take_the_majority():
    result = panel_agreement(panel(None, None, None, months=(6, 6, 7)), Tolerance(months=1))
    assert (result.agrees, result.months) == (True, 6)


def test_months_beyond_the_tolerance_diverge():
    assert panel_agreement(panel(None, None, None, months=(6, 6, 8)), Tolerance(months=1)).agrees is False


def test_a_missing_recommendation_diverges():
    assert panel_agreement(panel(None, None, None, months=(6, 6, None)), Tolerance(months=12)).agrees is False


def test_an_empty_panel_is_a_programming_error():
    with pytest.raises(ValueError):
        panel_agreement([], Tolerance())


@given(st.lists(GRADE, min_size=1, max_size=5), st.integers(min_value=0, max_value=9))
def test_an_agreed_grade_is_one_an_expert_gave_and_never_an_average(grades, steps):
    result = panel_agreement(panel(*grades), Tolerance(grade_steps=steps))
    if result.agrees:
        assert result.grade in grades
        assert grades.count(result.grade) * 2 > len(grades)
        assert max(grades) - min(grades) <= steps
    else:
        assert result.grade is None


def test_grade_label():
    assert (rules.grade_label(None), rules.grade_label(1)) == ("未达到伤残等级", "1级")
