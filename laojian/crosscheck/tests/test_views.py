"""The pages: who sees what (404 for another committee's cases and for roles without access), and
that each form reaches its service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from laojian.cases.models import Status
from laojian.core.tests.factories import UserFactory
from laojian.crosscheck import services
from laojian.crosscheck.models import ClaimedCare, Flag, MatchRun, Override
from laojian.crosscheck.tests.factories import (
    HOSPITAL_A,
    HOSPITAL_B,
    ClaimedCareFactory,
    care_row,
    open_case,
    partner_data,
    staff,
)

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def flagged():
    case = open_case()
    ClaimedCareFactory(case=case)
    partner_data(case.committee, "settlement", [care_row(case, hospital_name=HOSPITAL_B)])
    services.match_committee(case.committee)
    return case


def login(client, user):
    """Signed in, reading the pages in English."""
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# THE CASE'S CROSS-CHECK PAGE ---------------------------------------------------------------------

def test_the_liaison_sees_the_flags_and_the_last_run(client, flagged):
    response = login(client, staff(flagged, "liaison")).get(reverse("crosscheck:case", args=[flagged.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="flag-row flag-open"') == 2
    assert "No settlement record of a stay at 聊城市人民医院 around 2026-03-02 – 2026-03-20" in body
    assert "Some rules were not run: no licensed-hospital registry imported yet." in body
    assert "Prepare the letter" in body


def test_a_reviewer_sees_the_flags_without_the_work_forms(client, flagged):
    response = login(client, staff(flagged, "reviewer")).get(reverse("crosscheck:case", args=[flagged.pk]))
    assert response.status_code == 200
    assert "Prepare the letter" not in response.content.decode()


@pytest.mark.parametrize("who", ["applicant", "expert", "other_committee"])
def test_others_get_not_found(client, flagged, who):
    if who == "other_committee":
        user = UserFactory(roles=["liaison"])
    elif who == "applicant":
        user = UserFactory(committee=None, roles=["applicant"])
        flagged.applicant_user = user
        flagged.save(update_fields=["applicant_user"])
    else:
        user = UserFactory(committee=None, roles=["expert"])
    login(client, user)
    assert client.get(reverse("crosscheck:case", args=[flagged.pk])).status_code == 404
    flag = Flag.objects.filter(case=flagged).first()
    assert client.get(reverse("crosscheck:flag", args=[flag.pk])).status_code == 404


def test_the_case_page_links_to_the_cross_checks_with_the_open_count(client, flagged):
    response = login(client, staff(flagged, "liaison")).get(reverse("cases:detail", args=[flagged.pk]))
    body = response.content.decode()
    assert f'href="{reverse("crosscheck:case", args=[flagged.pk])}"' in body
    assert '<span class="badge">2</span>' in body


def test_the_applicant_s_case_page_links_to_the_claimed_care(client):
    user = UserFactory(committee=None, roles=["applicant"])
    case = open_case(status=Status.DRAFT, applicant_user=user)
    body = login(client, user).get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f'href="{reverse("crosscheck:claimed", args=[case.pk])}"' in body
    assert f'href="{reverse("crosscheck:case", args=[case.pk])}"' not in body


def test_check_now_runs_the_task_and_the_page_shows_the_result(client, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    case = open_case()
    ClaimedCareFactory(case=case)
    login(client, staff(case, "liaison"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crosscheck:run", args=[case.pk]))
    assert response.status_code == 303
    run = MatchRun.objects.get(case=case)
    assert run.finished_at is not None
    body = client.get(reverse("crosscheck:case", args=[case.pk])).content.decode()
    assert "Checked on request" in body
    assert "no settlement data imported yet" in body


def test_a_waiting_check_polls_for_its_result(client):
    case = open_case()
    MatchRun.objects.create(committee=case.committee, case=case, started_at=case.created_at)
    body = login(client, staff(case, "clerk")).get(reverse("crosscheck:run_status", args=[case.pk])).content.decode()
    assert 'hx-trigger="every 3s"' in body


# FLAGS AND LETTERS -------------------------------------------------------------------------------

def test_the_flag_page_shows_the_evidence(client, flagged):
    flag = Flag.objects.get(case=flagged, rule="overlapping_stays")
    body = login(client, staff(flagged, "leader")).get(reverse("crosscheck:flag", args=[flag.pk])).content.decode()
    assert "What the partners' records show" in body
    assert HOSPITAL_B in body
    assert "Resolve the flag" not in body


def test_the_liaison_resolves_a_flag_from_its_page(client, flagged):
    flag = Flag.objects.get(case=flagged, rule="overlapping_stays")
    login(client, staff(flagged, "liaison"))
    response = client.post(reverse("crosscheck:flag_resolve", args=[flag.pk]), {"outcome": "cleared", "note": ""})
    assert response.status_code == 422
    assert "Write why" in response.content.decode()
    response = client.post(reverse("crosscheck:flag_resolve", args=[flag.pk]),
                           {"outcome": "cleared", "note": "转院，出院小结可证"})
    assert response.status_code == 303
    assert Flag.objects.get(pk=flag.pk).state == Flag.State.CLEARED


def test_the_letter_page_builds_the_questions_and_sends(client, flagged, document_files):
    ids = list(Flag.objects.filter(case=flagged).order_by("found_at", "id").values_list("id", flat=True))
    login(client, staff(flagged, "liaison"))
    page = client.get(reverse("crosscheck:letter_new", args=[flagged.pk]), {"flags": ids[:1]})
    assert "1. Was the person in hospital at 聊城市人民医院" in page.content.decode()
    response = client.post(reverse("crosscheck:letter_new", args=[flagged.pk]),
                           {"flags": ids, "department": "聊城市医疗保障局", "questions": "请核查。"})
    assert response.status_code == 303
    assert set(Flag.objects.filter(case=flagged).values_list("state", flat=True)) == {Flag.State.LETTER_SENT}
    letter = flagged.crosscheck_letters.get()
    response = client.post(reverse("crosscheck:letter_reply", args=[letter.pk]),
                           {"reply_on": letter.sent_on.isoformat(), "reply": "无结算记录", "outcome": "confirmed"})
    assert response.status_code == 303
    assert set(Flag.objects.filter(case=flagged).values_list("state", flat=True)) == {Flag.State.CONFIRMED}


# CLAIMED CARE ------------------------------------------------------------------------------------

def test_the_applicant_adds_care_on_their_draft(client):
    user = UserFactory(committee=None, roles=["applicant"])
    case = open_case(status=Status.DRAFT, applicant_user=user)
    login(client, user)
    url = reverse("crosscheck:claimed", args=[case.pk])
    response = client.post(url, {"kind": "stay", "hospital_name": HOSPITAL_A, "started_on": "2026-03-02",
                                 "ended_on": "2026-03-01"})
    assert response.status_code == 422
    assert "The discharge date cannot be before the admission." in response.content.decode()
    response = client.post(url, {"kind": "stay", "hospital_name": HOSPITAL_A, "started_on": "2026-03-02",
                                 "ended_on": "2026-03-20", "icd10": "S62.6"})
    assert response.status_code == 303
    assert ClaimedCare.objects.get(case=case).entered_from == "applicant"


def test_another_applicant_gets_not_found_on_the_care_page(client):
    case = open_case(status=Status.DRAFT, applicant_user=UserFactory(committee=None, roles=["applicant"]))
    login(client, UserFactory(committee=None, roles=["applicant"]))
    assert client.get(reverse("crosscheck:claimed", args=[case.pk])).status_code == 404


def test_the_clerk_corrects_and_removes_an_entry(client):
    case = open_case()
    care = ClaimedCareFactory(case=case)
    login(client, staff(case, "clerk"))
    edit = reverse("crosscheck:claimed_edit", args=[case.pk, care.pk])
    assert client.get(edit).status_code == 200
    data = {"kind": "stay", "hospital_name": HOSPITAL_B, "started_on": "2026-03-02", "ended_on": "2026-03-20"}
    assert client.post(edit, data).status_code == 303
    assert ClaimedCare.objects.get(pk=care.pk).hospital_name == HOSPITAL_B
    assert client.post(reverse("crosscheck:claimed_remove", args=[case.pk, care.pk])).status_code == 303
    assert not ClaimedCare.objects.exists()


def test_care_of_another_case_is_not_found_through_this_case(client):
    case = open_case()
    other = ClaimedCareFactory(case=open_case(committee=case.committee))
    login(client, staff(case, "clerk"))
    assert client.get(reverse("crosscheck:claimed_edit", args=[case.pk, other.pk])).status_code == 404


# QUEUE, OVERRIDE, STATISTICS ---------------------------------------------------------------------

def test_the_queue_lists_flagged_cases_with_their_risk_and_filters(client, flagged):
    quiet = open_case(committee=flagged.committee)
    ClaimedCareFactory(case=quiet)
    login(client, staff(flagged, "liaison"))
    response = client.get(reverse("crosscheck:queue"))
    page = response.context["page"]
    assert [(c.pk, c.open_flags, c.risk) for c in page.object_list] == [(flagged.pk, 2, 10)]
    response = client.get(reverse("crosscheck:queue"), {"rule": "not_licensed"})
    assert list(response.context["page"].object_list) == []
    response = client.get(reverse("crosscheck:queue"), {"hospital": HOSPITAL_A})
    assert [c.pk for c in response.context["page"].object_list] == [flagged.pk]


def test_the_queue_is_the_committee_s_own(client, flagged):
    login(client, UserFactory(roles=["liaison"]))
    assert list(client.get(reverse("crosscheck:queue")).context["page"].object_list) == []


def test_the_queue_and_statistics_are_for_staff_who_see_flags(client, flagged):
    login(client, UserFactory(committee=None, roles=["applicant"]))
    assert client.get(reverse("crosscheck:queue")).status_code == 404
    assert client.get(reverse("crosscheck:stats")).status_code == 404


def test_the_statistics_page(client, flagged):
    login(client, staff(flagged, "leader"))
    response = client.get(reverse("crosscheck:stats"))
    assert response.status_code == 200
    assert response.context["stats"].totals["found"] == 2
    assert '<dd class="stat-found">2</dd>' in response.content.decode()


def test_the_leader_records_the_override_next_to_the_approve_button(client):
    from laojian.grading.tests.factories import leader, panel_case, signed_opinion

    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, ["5.10.2(12)"])
    care = ClaimedCareFactory(case=case)
    Flag.objects.create(case=case, committee=case.committee, rule="no_settlement", claimed=care, fingerprint="f",
                        hospital_name=HOSPITAL_A, found_at=care.created_at, last_seen_at=care.created_at)
    boss = leader(case)
    login(client, boss)
    body = client.get(reverse("grading:case", args=[case.pk])).content.decode()
    assert "1 cross-check doubt is open" in body
    assert reverse("crosscheck:override", args=[case.pk]) in body
    response = client.post(reverse("crosscheck:override", args=[case.pk]), {"reason": "票据原件已核"})
    assert response.status_code == 303
    assert Override.objects.get(case=case).by == boss
    body = client.get(reverse("grading:case", args=[case.pk])).content.decode()
    assert "recorded an override" in body


def test_no_override_form_without_open_flags(client):
    from laojian.grading.tests.factories import leader, panel_case, signed_opinion

    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, ["5.10.2(12)"])
    login(client, leader(case))
    body = client.get(reverse("grading:case", args=[case.pk])).content.decode()
    assert "Approve the conclusion" in body
    assert reverse("crosscheck:override", args=[case.pk]) not in body
