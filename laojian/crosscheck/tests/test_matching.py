"""The matching engine, rule by rule (a finding and a near miss each), through the nightly service
on the real database with partner data stored as Parquet."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from laojian.cases.models import Status
from laojian.crosscheck import services
from laojian.crosscheck.models import Flag, ImportRun, MatchRun
from laojian.crosscheck.tests.factories import (
    HOSPITAL_A,
    HOSPITAL_B,
    ClaimedCareFactory,
    D,
    care_row,
    licensed_row,
    open_case,
    partner_data,
)

pytestmark = pytest.mark.django_db


def run(case) -> MatchRun:
    return services.match_committee(case.committee)


def rules(case) -> list[str]:
    return sorted(Flag.objects.filter(case=case).values_list("rule", flat=True))


def only(case, rule: str) -> Flag:
    return Flag.objects.get(case=case, rule=rule)


@pytest.fixture
def case():
    """An accepted case claiming one stay at hospital A, 2–20 March 2026, for an injury of 2 March."""
    case = open_case()
    ClaimedCareFactory(case=case)
    return case


# NO SETTLEMENT -----------------------------------------------------------------------------------

def test_a_claimed_stay_without_settlement_at_that_hospital_is_flagged(case):
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    run(case)
    assert rules(case) == ["no_settlement", "overlapping_stays"]
    flag = only(case, "no_settlement")
    assert (flag.hospital_name, flag.state, flag.weight) == (HOSPITAL_A, Flag.State.OPEN, 5)
    assert flag.evidence["claimed"][0]["started_on"] == "2026-03-02"
    # The settlement rows of the person around the stay are shown, to see where the money went.
    assert [row["hospital_name"] for row in flag.evidence["partner"]] == [HOSPITAL_B]


def test_a_settlement_within_the_date_tolerance_is_a_match(case):
    partner_data(case.committee, "settlement", [care_row(case, admitted_on=D(2026, 3, 4), discharged_on=D(2026, 3, 22))])
    run(case)
    assert rules(case) == []


def test_a_settlement_of_another_person_does_not_count(case):
    other = open_case(committee=case.committee)
    partner_data(case.committee, "settlement", [care_row(other)])
    run(case)
    assert rules(case) == ["no_settlement"]


def test_the_hospital_code_decides_when_both_sides_have_one(case):
    case.claimed_care.update(hospital_code="H371500001")
    partner_data(case.committee, "settlement", [care_row(case, hospital_code="h371500001", hospital_name="人民医院")])
    run(case)
    assert rules(case) == []


def test_without_settlement_data_the_rule_is_skipped_and_the_run_says_so(case):
    partner_data(case.committee, "health_stay", [care_row(case)])
    result = run(case)
    assert result.skipped == {"no_settlement": ["settlement"], "not_licensed": ["licensed"]}
    assert rules(case) == []


def test_only_finished_imports_are_read(case):
    partner_data(case.committee, "settlement", [care_row(case)], state=ImportRun.State.RUNNING)
    result = run(case)
    assert "no_settlement" in result.skipped
    assert rules(case) == []


# DATES DISAGREE ----------------------------------------------------------------------------------

def test_a_stay_whose_discharge_differs_beyond_the_tolerance_is_flagged(case):
    partner_data(case.committee, "settlement", [care_row(case, discharged_on=D(2026, 3, 10))])
    run(case)
    assert rules(case) == ["dates_disagree"]
    flag = only(case, "dates_disagree")
    assert (flag.evidence["admitted_diff_days"], flag.evidence["discharged_diff_days"]) == (0, -10)
    assert flag.evidence["partner"][0]["discharged_on"] == "2026-03-10"


def test_dates_within_the_tolerance_agree(case, settings):
    partner_data(case.committee, "settlement", [care_row(case, admitted_on=D(2026, 3, 5), discharged_on=D(2026, 3, 17))])
    run(case)
    assert rules(case) == []
    settings.LAOJIAN_CROSSCHECK_DATE_TOLERANCE_DAYS = 2
    run(case)
    assert rules(case) == ["dates_disagree"]


def test_the_closest_of_several_records_is_compared(case):
    partner_data(case.committee, "health_stay", [care_row(case, discharged_on=D(2026, 3, 10)), care_row(case)])
    run(case)
    assert rules(case) == []


# OTHER BODY SYSTEM -------------------------------------------------------------------------------

def test_a_partner_diagnosis_in_another_icd10_chapter_is_flagged(case):
    partner_data(case.committee, "settlement", [care_row(case, icd10="I21.0", diagnosis="急性心肌梗死")])
    run(case)
    assert rules(case) == ["other_body_system"]
    flag = only(case, "other_body_system")
    assert (flag.evidence["claimed_chapter"], flag.evidence["partner_chapters"]) == ("XIX", ["IX"])


def test_a_partner_diagnosis_in_the_same_chapter_is_no_doubt(case):
    partner_data(case.committee, "settlement", [care_row(case, icd10="S62.3")])
    run(case)
    assert rules(case) == []


# NOT LICENSED ------------------------------------------------------------------------------------

def test_a_hospital_licensed_but_not_for_inpatients_is_flagged(case):
    partner_data(case.committee, "licensed", [licensed_row(services="outpatient|examination")])
    run(case)
    assert rules(case) == ["not_licensed"]
    flag = only(case, "not_licensed")
    assert (flag.evidence["reason"], flag.evidence["service"]) == ("service_not_licensed", "inpatient")


def test_a_hospital_missing_from_the_registry_on_that_date_is_flagged(case):
    partner_data(case.committee, "licensed", [licensed_row(valid_until=D(2025, 12, 31)), licensed_row(HOSPITAL_B)])
    run(case)
    assert only(case, "not_licensed").evidence["reason"] == "not_in_registry"


def test_a_hospital_licensed_for_the_service_on_that_date_is_no_doubt(case):
    partner_data(case.committee, "licensed", [licensed_row(hospital_name="聊城市 人民医院", services="inpatient")])
    run(case)
    assert rules(case) == []


# PRE-EXISTING ------------------------------------------------------------------------------------

def test_treatment_of_the_same_body_region_before_the_injury_is_flagged(case):
    partner_data(case.committee, "settlement", [
        care_row(case), care_row(case, hospital_name=HOSPITAL_B, admitted_on=D(2025, 6, 1),
                                 discharged_on=D(2025, 6, 9), icd10="S62.0", diagnosis="右手舟骨骨折")])
    run(case)
    assert rules(case) == ["pre_existing"]
    flag = only(case, "pre_existing")
    assert (flag.evidence["region"], flag.evidence["injury_date"]) == ("wrist_hand", "2026-03-02")
    assert [row["admitted_on"] for row in flag.evidence["partner"]] == ["2025-06-01"]


@pytest.mark.parametrize("row", [
    {"admitted_on": D(2025, 6, 1), "discharged_on": D(2025, 6, 9), "icd10": "S82.1"},   # another region
    {"admitted_on": D(2026, 4, 1), "discharged_on": D(2026, 4, 9), "icd10": "S62.0"},   # after the injury
], ids=["other_region", "after_injury"])
def test_other_treatment_is_not_pre_existing(case, row):
    partner_data(case.committee, "settlement", [care_row(case), care_row(case, hospital_name=HOSPITAL_B, **row)])
    run(case)
    assert "pre_existing" not in rules(case)


def test_a_degenerative_knee_condition_counts_for_a_knee_injury():
    case = open_case()
    ClaimedCareFactory(case=case, icd10="S83.2", diagnosis="右膝半月板撕裂")
    partner_data(case.committee, "health_stay", [
        care_row(case, admitted_on=D(2024, 1, 8), discharged_on=D(2024, 1, 12), icd10="M17.1")])
    run(case)
    assert rules(case) == ["pre_existing"]


# OVERLAPPING STAYS -------------------------------------------------------------------------------

def test_a_stay_elsewhere_during_the_claimed_stay_is_flagged(case):
    partner_data(case.committee, "settlement", [care_row(case), care_row(
        case, hospital_name=HOSPITAL_B, admitted_on=D(2026, 3, 10), discharged_on=D(2026, 3, 15))])
    run(case)
    assert rules(case) == ["overlapping_stays"]
    flag = only(case, "overlapping_stays")
    assert (flag.evidence["overlap_from"], flag.evidence["overlap_until"]) == ("2026-03-10", "2026-03-15")


def test_a_transfer_on_the_discharge_day_is_no_overlap(case):
    partner_data(case.committee, "settlement", [care_row(case), care_row(
        case, hospital_name=HOSPITAL_B, admitted_on=D(2026, 3, 20), discharged_on=D(2026, 3, 25))])
    run(case)
    assert rules(case) == []


def test_two_claimed_stays_overlapping_in_different_hospitals_are_flagged_once():
    case = open_case()
    first = ClaimedCareFactory(case=case)
    ClaimedCareFactory(case=case, hospital_name=HOSPITAL_B, started_on=D(2026, 3, 18), ended_on=D(2026, 3, 30))
    run(case)
    flag = only(case, "overlapping_stays")
    assert flag.claimed == first
    assert [item["hospital_name"] for item in flag.evidence["claimed"]] == [HOSPITAL_A, HOSPITAL_B]


# RE-RUNS, SCOPE, RISK ----------------------------------------------------------------------------

def test_a_rerun_updates_the_flag_and_never_duplicates_it(case):
    partner_data(case.committee, "settlement", [care_row(case, discharged_on=D(2026, 3, 10))])
    run(case)
    first = only(case, "dates_disagree")
    partner_data(case.committee, "settlement", [care_row(case, discharged_on=D(2026, 3, 9))])
    second_run = run(case)
    flag = only(case, "dates_disagree")
    assert flag.pk == first.pk
    assert flag.found_at == first.found_at
    assert flag.last_seen_at > first.last_seen_at
    assert (second_run.flags_found, second_run.flags_raised) == (1, 0)
    # Both records are now read; the closest one is the evidence, unchanged: 10 March.
    assert flag.evidence["partner"][0]["discharged_on"] == "2026-03-10"


def test_a_rerun_updates_the_evidence_of_an_open_flag(case):
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    run(case)
    partner_data(case.committee, "settlement", [care_row(case, hospital_name="聊城市第三人民医院",
                                                         admitted_on=D(2026, 3, 21), discharged_on=D(2026, 3, 22))])
    run(case)
    flag = only(case, "no_settlement")
    assert [r["hospital_name"] for r in flag.evidence["partner"]] == [HOSPITAL_B, "聊城市第三人民医院"]


def test_a_rerun_keeps_a_cleared_flag_cleared(case):
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    run(case)
    flag = only(case, "no_settlement")
    Flag.objects.filter(pk=flag.pk).update(state=Flag.State.CLEARED, resolution_note="paid in cash")
    run(case)
    again = only(case, "no_settlement")
    assert (again.pk, again.state, again.resolution_note) == (flag.pk, Flag.State.CLEARED, "paid in cash")
    assert again.last_seen_at > flag.last_seen_at
    assert Flag.objects.filter(case=case).count() == 2


def test_a_new_flag_goes_on_the_case_timeline_once(case):
    partner_data(case.committee, "settlement", [care_row(case, discharged_on=D(2026, 3, 10))])
    run(case)
    run(case)
    entries = list(case.timeline.filter(action="crosscheck_flags_found").values_list("note", flat=True))
    assert entries == ["The cross-check found 1 new doubt: dates disagree."]


def test_concluded_cases_and_drafts_are_not_checked(case):
    concluded = open_case(committee=case.committee, status=Status.CONCLUDED)
    draft = open_case(committee=case.committee, status=Status.DRAFT)
    for other in (concluded, draft):
        ClaimedCareFactory(case=other)
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    result = run(case)
    assert result.cases_checked == 1
    assert not Flag.objects.filter(case__in=[concluded, draft]).exists()


def test_partner_data_of_another_committee_is_not_read(case):
    other = open_case()
    partner_data(other.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    result = run(case)
    assert "no_settlement" in result.skipped


def test_rows_with_a_bad_check_digit_are_matched_and_marked(case):
    partner_data(case.committee, "settlement", [care_row(case, id_valid=False, icd10="I21.0")])
    run(case)
    assert only(case, "other_body_system").evidence["partner"][0]["id_valid"] is False


def test_the_risk_score_sums_the_weights_of_unresolved_flags(case, settings):
    from laojian.crosscheck import selectors

    settings.LAOJIAN_CROSSCHECK_RULE_WEIGHTS = {"no_settlement": 7}
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B, icd10="S62.0",
                                                         admitted_on=D(2025, 1, 1), discharged_on=D(2025, 1, 5))])
    run(case)
    assert rules(case) == ["no_settlement", "pre_existing"]
    assert selectors.case_risk(case.pk) == 7 + 4
    Flag.objects.filter(case=case, rule="pre_existing").update(state=Flag.State.LETTER_SENT)
    assert selectors.case_risk(case.pk) == 11
    Flag.objects.filter(case=case, rule="pre_existing").update(state=Flag.State.CLEARED)
    summary = selectors.case_flag_summary(case)
    assert (summary.open, summary.total, summary.risk) == (1, 2, 7)
    assert summary.checked_at is not None


def test_the_summary_of_a_case_never_checked_says_so(case):
    from laojian.crosscheck import selectors

    summary = selectors.case_flag_summary(case)
    assert (summary.open, summary.total, summary.risk, summary.checked_at) == (0, 0, 0, None)


def test_a_nightly_run_from_before_the_case_was_filed_did_not_check_it():
    from laojian.crosscheck import selectors

    early = open_case()
    MatchRun.objects.create(committee=early.committee, started_at=timezone.now() - dt.timedelta(days=2),
                            finished_at=timezone.now() - dt.timedelta(days=2))
    assert selectors.case_flag_summary(early).checked_at is None
