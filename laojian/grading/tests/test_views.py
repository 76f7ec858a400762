"""The grading pages through the Django test client: catalogue, a case's grading page, the opinion
editor and the signed opinion. Data comes from the factories; each test checks one behaviour and
reads the database back."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from laojian.cases.models import CaseType, Status, TimelineEntry
from laojian.core.tests.factories import UserFactory
from laojian.grading.models import Clause, Conclusion, GradePrinciple, Opinion
from laojian.grading.selectors import current_edition
from laojian.grading.tests.factories import PASSWORD, clerk, leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    """Messages are asserted in English: the Chinese catalogue is filled in later."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

THUMB = "5.3.2(10)"  # 一手缺失，另一手拇指缺失 (grade 3)
FINGER = "5.10.2(12)"  # the factories' default clause (grade 10)


def editor_data(items=(("右手示指末节缺失", FINGER),), basis="依据查体及影像资料", **extra) -> dict[str, str]:
    """What the opinion editor posts: one finding, the item rows, the fields."""
    data = {
        "findings-TOTAL_FORMS": "1", "findings-INITIAL_FORMS": "0",
        "findings-0-body_part": "右手", "findings-0-text": "右手示指末节缺失，残端愈合良好",
        "items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": "0",
        "medical_dependency": "none", "basis": basis,
    }
    for n, (injury, clause) in enumerate(items):
        data[f"items-{n}-injury"] = injury
        data[f"items-{n}-clause"] = clause
    data.update(extra)
    return data


def write_and_sign(client, case, expert, **extra) -> Opinion:
    """An expert writes and signs an opinion through the pages."""
    client.force_login(expert)
    start = client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)
    assert start.headers["Location"] == reverse("grading:opinion_edit", args=[opinion.pk])
    response = client.post(reverse("grading:opinion_edit", args=[opinion.pk]),
                           editor_data(sign="1", password=PASSWORD, **extra))
    assert response.headers["Location"] == reverse("grading:opinion", args=[opinion.pk])
    return opinion


# THE CATALOGUE ------------------------------------------------------------------------------------

def test_catalogue_search_finds_the_thumb_clauses(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)

    response = client.get(reverse("grading:clauses"), {"q": "拇指"})

    expected = Clause.objects.filter(edition=current_edition(), criterion__contains="拇指").count()
    assert response.status_code == 200
    assert response.context["total"] == expected
    assert [r["clause"].number for r in response.context["rows"]][0] == THUMB
    assert all("拇指" in r["clause"].criterion for r in response.context["rows"])
    assert "GB/T 16180-2014" in response.content.decode()


def test_catalogue_search_answers_htmx_with_the_results_only(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)

    response = client.get(reverse("grading:clauses"), {"q": "拇指"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert [t.name for t in response.templates][0] == "grading/_clause_results.html"
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="clause-results"')
    assert THUMB in body


def test_grade_filter_shows_the_grade_principle(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)

    response = client.get(reverse("grading:clauses"), {"grade": "7"})

    principle = GradePrinciple.objects.get(edition=current_edition(), grade=7).text
    assert response.context["principle"] == principle
    assert principle in response.content.decode()
    assert {r["clause"].grade for r in response.context["rows"]} == {7}


def test_applicant_may_not_open_the_catalogue(client):
    client.force_login(UserFactory(roles=["applicant"]))

    response = client.get(reverse("grading:clauses"))

    assert response.status_code == 403


# WRITING AND SIGNING ------------------------------------------------------------------------------

def test_expert_starts_an_opinion_from_the_grading_page(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)

    response = client.post(reverse("grading:opinion_start", args=[case.pk]))

    opinion = Opinion.objects.get(case=case, author=expert)
    assert opinion.state == Opinion.State.DRAFT
    assert response.status_code == 303
    assert response.headers["Location"] == reverse("grading:opinion_edit", args=[opinion.pk])


def test_expert_saves_a_draft(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.post(reverse("grading:opinion_edit", args=[opinion.pk]), editor_data(save="1"))

    opinion.refresh_from_db()
    assert response.headers["Location"] == reverse("grading:opinion_edit", args=[opinion.pk])
    assert opinion.state == Opinion.State.DRAFT
    assert [(i.injury, i.clause.number, i.grade) for i in opinion.items.all()] == [("右手示指末节缺失", FINGER, 10)]
    assert [(f.body_part, f.text) for f in opinion.findings.all()] == [("右手", "右手示指末节缺失，残端愈合良好")]
    assert opinion.grade == 10
    assert opinion.basis == "依据查体及影像资料"


def test_expert_signs_with_the_password(client):
    case, (expert, *_others) = panel_case()

    opinion = write_and_sign(client, case, expert)

    opinion.refresh_from_db()
    assert opinion.state == Opinion.State.SIGNED
    assert len(opinion.signature) == 64
    page = client.get(reverse("grading:opinion", args=[opinion.pk])).content.decode()
    assert opinion.signature in page
    assert "10级" in page


def test_three_agreeing_signatures_put_a_draft_conclusion_on_the_case_page(client):
    case, experts = panel_case()
    for expert in experts:
        write_and_sign(client, case, expert)

    client.force_login(leader(case))
    response = client.get(reverse("grading:case", args=[case.pk]))

    conclusion = Conclusion.objects.get(case=case)
    assert conclusion.state == Conclusion.State.DRAFT
    assert conclusion.grade == 10
    assert response.context["conclusion"] == conclusion
    assert "approve_form" in response.context
    assert FINGER in response.content.decode()


def test_unknown_clause_is_shown_and_everything_typed_is_kept(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.post(reverse("grading:opinion_edit", args=[opinion.pk]),
                           editor_data(items=(("左眼外伤", "5.99.2(1)"),), basis="我的依据文字", save="1"))

    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Clause 5.99.2(1) does not exist in GB/T 16180-2014."]
    assert "Clause 5.99.2(1) does not exist in GB/T 16180-2014." in body
    assert 'value="左眼外伤"' in body
    assert 'value="5.99.2(1)"' in body
    assert "我的依据文字" in body
    opinion.refresh_from_db()
    assert (opinion.basis, opinion.items.count(), opinion.findings.count()) == ("", 0, 0)


def test_wrong_password_leaves_the_opinion_unsigned_and_unchanged(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.post(reverse("grading:opinion_edit", args=[opinion.pk]),
                           editor_data(sign="1", password="not the password"))

    opinion.refresh_from_db()
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["The password is not correct; the opinion was not signed."]
    assert (opinion.state, opinion.signature, opinion.basis, opinion.items.count()) == (Opinion.State.DRAFT, "", "", 0)


def test_add_rows_keeps_what_was_typed_and_adds_two_rows(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.post(reverse("grading:opinion_edit", args=[opinion.pk]), editor_data(add_rows="1"))

    assert len(response.context["items"].forms) == 3
    assert len(response.context["findings"].forms) == 3
    assert 'value="右手示指末节缺失"' in response.content.decode()
    assert opinion.items.count() == 0


def test_the_editor_shows_the_saved_rows_and_two_empty_ones(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)
    client.post(reverse("grading:opinion_edit", args=[opinion.pk]), editor_data(save="1"))

    response = client.get(reverse("grading:opinion_edit", args=[opinion.pk]))

    assert [f.initial for f in response.context["items"].forms] == [
        {"injury": "右手示指末节缺失", "clause": FINGER}, {}, {}]
    assert len(response.context["findings"].forms) == 3
    assert response.context["grade_choices"] == []


def test_the_editor_offers_the_grade_choice_when_two_grades_are_allowed(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)
    client.post(reverse("grading:opinion_edit", args=[opinion.pk]),
                editor_data(items=(("右手示指", FINGER), ("面部瘢痕", "5.10.2(2)")), save="1"))

    response = client.get(reverse("grading:opinion_edit", args=[opinion.pk]))

    assert response.context["grade_choices"] == [(9, "9级", True), (10, "10级", False)]


def test_the_clause_lookup_lists_matches_with_a_use_button(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.get(reverse("grading:clause_lookup", args=[opinion.pk]), {"q": "拇指"}, HTTP_HX_REQUEST="true")

    numbers = [clause.number for clause, _label in response.context["found"]]
    assert numbers[0] == THUMB
    assert len(numbers) == 10
    assert reverse("grading:clause_pick", args=[opinion.pk]) + "?number=5.3.2%2810%29" in response.content.decode()


def test_a_paid_leave_extension_opinion_saves_its_period(client):
    case, (expert, *_others) = panel_case(case_type=CaseType.LEAVE_EXTENSION)
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    client.post(reverse("grading:opinion_edit", args=[opinion.pk]),
                editor_data(items=(), months="6", prior_months="12", diagnoses="s62.0， S52.5", save="1"))

    opinion.refresh_from_db()
    assert (opinion.months, opinion.prior_months, opinion.diagnoses) == (6, 12, ["S62.0", "S52.5"])


def test_clause_pick_fills_the_first_empty_clause_box(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.get(reverse("grading:clause_pick", args=[opinion.pk]),
                          {"number": THUMB, "items-0-clause": FINGER, "items-1-clause": "", "items-2-clause": ""},
                          HTTP_HX_REQUEST="true")

    assert response.headers["HX-Retarget"] == "#id_items-1-clause"
    assert 'name="items-1-clause"' in response.content.decode()
    assert f'value="{THUMB}"' in response.content.decode()


def test_combine_preview_explains_the_grade_of_the_clauses_entered(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)

    response = client.post(reverse("grading:combine_preview", args=[opinion.pk]),
                           {"items-0-clause": FINGER, "items-1-clause": "5.10.2(1)"})

    assert response.context["preview"].combination.grade == 9
    assert "9级" in response.content.decode()


# WHO SEES WHAT ------------------------------------------------------------------------------------

def test_a_panel_expert_is_offered_to_write_an_opinion(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)

    response = client.get(reverse("grading:case", args=[case.pk]))

    assert response.context["can_start"] is True
    assert reverse("grading:opinion_start", args=[case.pk]) in response.content.decode()


def test_an_expert_off_the_panel_gets_404_on_the_editor(client):
    case, (expert, *_others) = panel_case()
    client.force_login(expert)
    client.post(reverse("grading:opinion_start", args=[case.pk]))
    opinion = Opinion.objects.get(case=case, author=expert)
    _other_case, (outsider, *_rest) = panel_case()
    client.force_login(outsider)

    response = client.get(reverse("grading:opinion_edit", args=[opinion.pk]))

    assert response.status_code == 404


def test_an_expert_off_the_panel_cannot_start_an_opinion(client):
    case, _experts = panel_case()
    _other_case, (outsider, *_rest) = panel_case()
    client.force_login(outsider)

    response = client.post(reverse("grading:opinion_start", args=[case.pk]))

    assert response.status_code == 404
    assert not Opinion.objects.filter(case=case).exists()


def test_staff_read_the_signed_opinions_of_the_panel(client):
    case, (expert, *_others) = panel_case()
    opinion = signed_opinion(case, expert)
    client.force_login(clerk(case))

    page = client.get(reverse("grading:case", args=[case.pk]))
    response = client.get(reverse("grading:opinion", args=[opinion.pk]))

    assert reverse("grading:opinion", args=[opinion.pk]) in page.content.decode()
    assert response.status_code == 200
    assert response.context["opinion"] == opinion


def test_another_expert_of_the_panel_cannot_read_an_opinion(client):
    case, (expert, colleague, _third) = panel_case()
    opinion = signed_opinion(case, expert)
    client.force_login(colleague)

    page = client.get(reverse("grading:case", args=[case.pk]))
    response = client.get(reverse("grading:opinion", args=[opinion.pk]))

    assert reverse("grading:opinion", args=[opinion.pk]) not in page.content.decode()
    assert response.status_code == 404


def test_the_editor_sends_a_signed_opinion_to_its_read_page(client):
    case, (expert, *_others) = panel_case()
    opinion = signed_opinion(case, expert)
    client.force_login(expert)

    response = client.get(reverse("grading:opinion_edit", args=[opinion.pk]))

    assert response.status_code == 303
    assert response.headers["Location"] == reverse("grading:opinion", args=[opinion.pk])


# THE CONCLUSION AND THE EXTENSION -----------------------------------------------------------------

def test_leader_approves_the_conclusion_and_the_case_concludes(client):
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert)
    case.refresh_from_db()
    client.force_login(leader(case))

    response = client.post(reverse("grading:conclusion_approve", args=[case.pk]),
                           {"basis": "经专家组鉴定，符合十级", "expected_version": case.version}, follow=True)

    case.refresh_from_db()
    conclusion = Conclusion.objects.get(case=case)
    assert case.status == Status.CONCLUDED
    assert conclusion.state == Conclusion.State.APPROVED
    assert conclusion.basis == "经专家组鉴定，符合十级"
    assert conclusion.number
    assert conclusion.number in response.content.decode()


def test_a_leader_who_wrote_an_opinion_may_not_approve(client):
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert)
    approver = leader(case)
    Opinion.objects.create(case=case, author=approver, edition=current_edition())
    case.refresh_from_db()
    client.force_login(approver)

    response = client.post(reverse("grading:conclusion_approve", args=[case.pk]),
                           {"basis": "同意", "expected_version": case.version}, follow=True)

    case.refresh_from_db()
    assert case.status == Status.EXAMINED
    assert Conclusion.objects.get(case=case).state == Conclusion.State.DRAFT
    assert [str(m) for m in response.context["messages"]] == [
        "You wrote an opinion on this case, so another leader must approve its conclusion."]


def test_extension_requested_then_approved_extends_the_case(client):
    case, _experts = panel_case()
    client.force_login(clerk(case))
    client.post(reverse("grading:extension_request", args=[case.pk]), {"reason": "需要补充专科检查"})
    boss = leader(case)
    client.force_login(boss)
    page = client.get(reverse("grading:case", args=[case.pk]))
    case.refresh_from_db()

    client.post(reverse("grading:extension_approve", args=[case.pk]),
                {"note": page.context["extension_approve_form"].initial["note"], "expected_version": case.version})

    case.refresh_from_db()
    assert page.context["extension"].note == "需要补充专科检查"
    assert case.extension_days == case.committee.extension_days
    assert case.extension_days > 0
    assert case.extension_reason == "需要补充专科检查"


def test_divergent_opinions_show_the_collective_discussion(client):
    case, (first, second, third) = panel_case()
    signed_opinion(case, first)
    signed_opinion(case, second)
    signed_opinion(case, third, clauses=[THUMB])
    client.force_login(clerk(case))

    response = client.get(reverse("grading:case", args=[case.pk]))

    note = TimelineEntry.objects.filter(case=case, action="mark_difficult").get().note
    assert response.context["divergence"].note == note
    assert note in response.content.decode()


# CORRECTIONS --------------------------------------------------------------------------------------

def test_a_corrected_version_shows_what_changed(client):
    case, (expert, *_others) = panel_case()
    first = signed_opinion(case, expert)
    client.force_login(expert)
    correct = client.post(reverse("grading:opinion_correct", args=[first.pk]))
    second = Opinion.objects.get(case=case, author=expert, version=2)
    assert correct.headers["Location"] == reverse("grading:opinion_edit", args=[second.pk])

    client.post(reverse("grading:opinion_edit", args=[second.pk]),
                editor_data(basis="复查后修正的依据", sign="1", password=PASSWORD))
    response = client.get(reverse("grading:opinion", args=[second.pk]))

    second.refresh_from_db()
    assert second.state == Opinion.State.SIGNED
    assert [(str(c["label"]), c["before"], c["after"]) for c in response.context["changes"]] == [
        ("Graded injuries", "伤情1（5.10.2(12)，10级）", "右手示指末节缺失（5.10.2(12)，10级）"),
        ("Basis", "依据查体及影像资料", "复查后修正的依据"),
    ]
    assert "复查后修正的依据" in response.content.decode()


def test_the_leader_sees_a_diverging_case_in_the_difficult_queue_with_its_reason(client):
    case, experts = panel_case()
    signed_opinion(case, experts[0], ["5.10.2(12)"])
    signed_opinion(case, experts[1], ["5.10.2(12)"])
    signed_opinion(case, experts[2], ["5.7.2(47)"])
    client.force_login(leader(case))

    response = client.get(reverse("grading:difficult"))

    assert response.status_code == 200
    [row] = response.context["rows"]
    assert row.case == case and "10级" in row.reason and row.waited_days == 0


def test_another_committees_difficult_cases_are_not_in_the_queue(client):
    case, _experts = panel_case(status="difficult")
    client.force_login(UserFactory(roles=["leader"]))

    assert client.get(reverse("grading:difficult")).context["rows"] == []


def test_a_clerk_has_no_difficult_queue(client):
    case, _experts = panel_case(status="difficult")
    client.force_login(clerk(case))

    assert client.get(reverse("grading:difficult")).status_code == 403
