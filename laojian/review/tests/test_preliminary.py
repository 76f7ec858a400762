"""The preliminary review (初审): the reviewer's page, its three steps, separation of duties, the
history of returns, the reviewer's queue and what the case page shows of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases import services as case_services
from laojian.cases.models import CaseAssignment, CaseType, Status
from laojian.cases.tests.factories import CaseFactory, InjuryDeterminationFactory, WorkerFactory
from laojian.cases.workflow import TransitionRefused
from laojian.core.tests.factories import UserFactory
from laojian.review import preliminary

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Users are made by the dozen here; they sign in with force_login."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acceptor():
    return UserFactory(roles=["clerk"])


@pytest.fixture
def case(acceptor):
    return CaseFactory(committee=acceptor.committee, status=Status.ACCEPTED, accepted_by=acceptor,
                       accepted_on=dt.date(2026, 11, 4))


@pytest.fixture
def reviewer(case):
    return UserFactory(committee=case.committee, roles=["reviewer"])


def page(client, user, case):
    client.force_login(user)
    return client.get(reverse("review:preliminary", args=[case.pk]), **EN)


def step(client, user, case, name, note=""):
    client.force_login(user)
    return client.post(reverse("review:preliminary_step", args=[case.pk, name]), {"note": note}, **EN)


def reload(case):
    case.refresh_from_db()
    return case


def return_to_clerk(case, reviewer, questions="病历缺少出院小结，请补充说明"):
    return case_services.transition(case.pk, "return_to_clerk", actor=reviewer, note=questions)


# THE THREE STEPS ----------------------------------------------------------------------------------

def test_the_reviewer_offered_the_three_steps(client, case, reviewer):
    response = page(client, reviewer, case)
    assert [a.name for a in response.context["review"].actions] == ["pass_review", "pass_review_difficult",
                                                                    "return_to_clerk"]


def test_passing_the_review_moves_the_case_to_reviewed_and_records_the_reviewer(client, case, reviewer):
    response = step(client, reviewer, case, "pass_review")
    assert response.status_code == 303
    case = reload(case)
    assert (case.status, case.reviewed_by, case.reviewed_on is not None) == (Status.REVIEWED, reviewer, True)


def test_passing_marked_difficult_records_why(client, case, reviewer):
    step(client, reviewer, case, "pass_review_difficult", note="多部位损伤，涉及神经外科与骨科")
    case = reload(case)
    assert (case.status, case.difficult_reason) == (Status.REVIEWED, "多部位损伤，涉及神经外科与骨科")


def test_passing_marked_difficult_without_a_reason_is_refused(client, case, reviewer):
    response = step(client, reviewer, case, "pass_review_difficult", note="  ")
    assert response.status_code == 303
    case = reload(case)
    assert (case.status, case.difficult_reason) == (Status.ACCEPTED, "")


def test_returning_to_the_clerk_keeps_the_case_accepted_with_the_questions_open(client, case, reviewer):
    step(client, reviewer, case, "return_to_clerk", note="请说明申请人与工人的关系")
    case = reload(case)
    assert (case.status, case.returned_for_answer) == (Status.ACCEPTED, True)
    assert case.timeline.get(action="return_to_clerk").note == "请说明申请人与工人的关系"


def test_an_unknown_step_is_404(client, case, reviewer):
    assert step(client, reviewer, case, "accept").status_code == 404


# THE HISTORY OF RETURNS ---------------------------------------------------------------------------

def test_an_unanswered_return_is_shown_and_no_step_is_offered(client, case, reviewer):
    return_to_clerk(case, reviewer)
    response = page(client, reviewer, case)
    review = response.context["review"]
    assert review.open_return.note == "病历缺少出院小结，请补充说明"
    assert review.actions == []
    html = response.content.decode()
    assert "Not answered yet." in html and "病历缺少出院小结，请补充说明" in html


def test_the_review_cannot_pass_while_a_return_is_unanswered(case, reviewer):
    return_to_clerk(case, reviewer)
    with pytest.raises(TransitionRefused) as exc:
        case_services.transition(case.pk, "pass_review", actor=reviewer)
    assert exc.value.code == "return_unanswered"


def test_the_history_pairs_each_return_with_its_answer(client, case, reviewer, acceptor):
    return_to_clerk(case, reviewer, "第一个问题")
    case_services.transition(case.pk, "answer_return", actor=acceptor, note="第一个回答")
    return_to_clerk(case, reviewer, "第二个问题")
    rounds = page(client, reviewer, case).context["review"].rounds
    assert [(r.question.note, r.answer.note if r.answer else None) for r in rounds] == [
        ("第一个问题", "第一个回答"), ("第二个问题", None)]


def test_once_answered_the_steps_are_offered_again(client, case, reviewer, acceptor):
    return_to_clerk(case, reviewer)
    case_services.transition(case.pk, "answer_return", actor=acceptor, note="已补充出院小结")
    review = page(client, reviewer, case).context["review"]
    assert (review.open_return, len(review.actions)) == (None, 3)


# SEPARATION OF DUTIES -----------------------------------------------------------------------------

def test_the_acceptor_is_told_another_reviewer_must_review_and_sees_no_buttons(client, case, acceptor):
    acceptor.groups.add(*UserFactory(roles=["reviewer"]).groups.all())
    response = page(client, acceptor, case)
    review = response.context["review"]
    assert review.actions == []
    assert review.refusal == "You accepted this case, so its preliminary review must be done by another reviewer."
    html = response.content.decode()
    assert review.refusal in html and reverse("review:preliminary_step", args=[case.pk, "pass_review"]) not in html


def test_the_service_refuses_the_acceptor_s_review(case, acceptor):
    acceptor.groups.add(*UserFactory(roles=["reviewer"]).groups.all())
    with pytest.raises(TransitionRefused) as exc:
        case_services.transition(case.pk, "pass_review", actor=acceptor)
    assert exc.value.code == "same_person_accept_review"
    assert reload(case).status == Status.ACCEPTED


def test_the_acceptor_posting_the_step_changes_nothing(client, case, acceptor):
    acceptor.groups.add(*UserFactory(roles=["reviewer"]).groups.all())
    step(client, acceptor, case, "pass_review")
    assert reload(case).status == Status.ACCEPTED


def test_a_panel_member_sees_no_buttons(client, case, reviewer):
    CaseAssignment.objects.create(case=case, user=reviewer, role=CaseAssignment.Role.EXPERT)
    review = page(client, reviewer, case).context["review"]
    assert review.actions == [] and "expert panel" in review.refusal


# WHO SEES THE PAGE --------------------------------------------------------------------------------

def test_a_clerk_without_the_review_permission_gets_404(client, case):
    assert page(client, UserFactory(committee=case.committee, roles=["clerk"]), case).status_code == 404


def test_a_clerk_posting_a_review_step_is_forbidden(client, case):
    response = step(client, UserFactory(committee=case.committee, roles=["clerk"]), case, "pass_review")
    assert response.status_code == 403
    assert reload(case).status == Status.ACCEPTED


def test_a_reviewer_of_another_committee_gets_404(client, case):
    assert page(client, UserFactory(roles=["reviewer"]), case).status_code == 404


def test_a_case_already_reviewed_shows_who_passed_it_and_no_buttons(client, case, reviewer):
    case_services.transition(case.pk, "pass_review", actor=reviewer)
    response = page(client, UserFactory(committee=case.committee, roles=["reviewer"]), case)
    assert response.context["review"].actions == []
    assert "The preliminary review was passed on" in response.content.decode()


# WHAT THE CHECKLIST SAYS --------------------------------------------------------------------------

def test_identity_confirms_a_valid_id_and_a_determination_naming_the_worker(case):
    findings = {f.code: f.state for f in preliminary.identity_findings(case)}
    assert findings == {"id_number": "ok", "determination_worker": "ok", "applicant": "ok"}


def test_identity_flags_a_determination_naming_another_person(acceptor):
    other = InjuryDeterminationFactory(worker=WorkerFactory(name="王五"))
    case = CaseFactory(committee=acceptor.committee, status=Status.ACCEPTED, worker=WorkerFactory(name="李四"),
                       determination=other, employer=other.employer, applicant_name="李四")
    finding = next(f for f in preliminary.identity_findings(case) if f.code == "determination_worker")
    assert finding.state == "problem" and "王五" in finding.message


def test_identity_asks_to_verify_a_relative_s_relationship(acceptor):
    case = CaseFactory(committee=acceptor.committee, status=Status.ACCEPTED, applicant_kind="relative",
                       applicant_name="李大")
    finding = next(f for f in preliminary.identity_findings(case) if f.code == "applicant")
    assert finding.state == "verify"


def test_the_page_says_plainly_that_no_cross_check_has_been_run(client, case, reviewer):
    assert "No cross-check has been run for this case." in page(client, reviewer, case).content.decode()


def test_the_page_shows_the_open_cross_check_doubts(client, case, reviewer):
    from django.utils import timezone

    from laojian.crosscheck.models import Flag

    now = timezone.now()
    Flag.objects.create(case=case, committee=case.committee, rule=Flag.Rule.NO_SETTLEMENT, fingerprint="a",
                        weight=5, found_at=now, last_seen_at=now)
    Flag.objects.create(case=case, committee=case.committee, rule=Flag.Rule.DATES_DISAGREE, fingerprint="b",
                        weight=2, found_at=now, last_seen_at=now, state=Flag.State.CLEARED)

    assert "1 open doubts of 2 found." in page(client, reviewer, case).content.decode()


def test_a_review_appraisal_shows_the_earlier_appraisal(client, acceptor):
    earlier = CaseFactory(committee=acceptor.committee, case_type=CaseType.INITIAL, status=Status.ARCHIVED,
                          concluded_on=dt.date(2025, 6, 1), number="测劳鉴〔2025〕0007号")
    case = CaseFactory(committee=acceptor.committee, determination=earlier.determination, case_type=CaseType.REVIEW,
                       status=Status.ACCEPTED, accepted_by=acceptor, earlier_case=earlier)
    response = page(client, UserFactory(committee=case.committee, roles=["reviewer"]), case)
    assert response.context["review"].earlier_case == earlier
    assert "测劳鉴〔2025〕0007号" in response.content.decode()


# THE QUEUE ----------------------------------------------------------------------------------------

def test_the_queue_lists_accepted_cases_oldest_first_marking_returns_and_own_acceptances(client, case, reviewer):
    older = CaseFactory(committee=case.committee, status=Status.ACCEPTED, accepted_by=reviewer,
                        accepted_on=dt.date(2026, 11, 2))
    returned = CaseFactory(committee=case.committee, status=Status.ACCEPTED, accepted_on=dt.date(2026, 11, 3),
                           returned_for_answer=True)
    CaseFactory(committee=case.committee, status=Status.REVIEWED, accepted_on=dt.date(2026, 11, 1))
    CaseFactory(status=Status.ACCEPTED, accepted_on=dt.date(2026, 11, 1))  # another committee
    client.force_login(reviewer)
    rows = client.get(reverse("review:preliminary_queue")).context["rows"]
    assert [(r.case.pk, r.returned, r.accepted_by_viewer) for r in rows] == [
        (older.pk, False, True), (returned.pk, True, False), (case.pk, False, False)]


def test_the_queue_is_404_without_the_review_permission(client, case):
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    assert client.get(reverse("review:preliminary_queue")).status_code == 404


# THE CASE PAGE ------------------------------------------------------------------------------------

def test_the_case_page_links_a_reviewer_to_the_review_page(client, case, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert reverse("review:preliminary", args=[case.pk]) in html


def test_the_case_page_shows_the_open_return_s_questions_above_the_answer_button(client, case, reviewer, acceptor):
    return_to_clerk(case, reviewer, "请补充出院小结")
    client.force_login(acceptor)
    response = client.get(reverse("cases:detail", args=[case.pk]), **EN)
    assert response.context["open_return"].note == "请补充出院小结"
    html = response.content.decode()
    assert html.index("请补充出院小结") < html.index("Answer the reviewer")


def test_the_case_page_shows_no_return_once_answered(client, case, reviewer, acceptor):
    return_to_clerk(case, reviewer)
    case_services.transition(case.pk, "answer_return", actor=acceptor, note="已补充")
    client.force_login(acceptor)
    assert client.get(reverse("cases:detail", args=[case.pk])).context["open_return"] is None
