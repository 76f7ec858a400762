"""The collective discussion through its services, on the real database (SQLite and PostgreSQL):
convening and the quorum, recusals, motions and the majority rule, the decisions, the signed
minutes and closing."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases.models import CaseAssignment, Status, TimelineEntry
from laojian.core.errors import ApplicationError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.documents.models import Document
from laojian.experts.models import ConflictDeclaration
from laojian.experts.tests.factories import ExpertFactory
from laojian.grading import services as grading_services
from laojian.grading.models import Conclusion
from laojian.review import services
from laojian.review.models import AgendaItem, Discussion, Motion, Recusal, Vote
from laojian.review.services import DiscussionRefused, MotionInput
from laojian.review.tests.factories import (
    HELD_ON,
    NINE,
    PASSWORD,
    convene,
    diverged_case,
    leader,
    meeting,
    member,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

SECOND_OPINION = MotionInput(decision=AgendaItem.Decision.SECOND_OPINION)


def conclude_motion(**overrides) -> MotionInput:
    values = {"decision": AgendaItem.Decision.CONCLUDE, "clauses": [NINE], "grade": 9, "care_level": "none",
              "medical_dependency": "none", "basis": "经集体讨论，依据查体及影像资料"}
    values.update(overrides)
    return MotionInput(**values)


def item_of(discussion, case=None) -> AgendaItem:
    items = AgendaItem.objects.filter(discussion=discussion, removed_at=None)
    return items.get(case=case) if case is not None else items.get()


def vote_all(discussion, motion, voters, choice=Vote.Choice.FOR) -> None:
    for user in voters:
        services.vote_cast(discussion.pk, motion.pk, choice, actor=user)


def decide(discussion, chair, people, data=SECOND_OPINION, case=None) -> Motion:
    """Put a motion on the (only) case, everyone present votes for it, close the vote."""
    item = item_of(discussion, case)
    motion = services.motion_propose(discussion.pk, item.pk, data, actor=chair)
    vote_all(discussion, motion, [chair, *people])
    return services.motion_close(discussion.pk, motion.pk, actor=chair)


def sign_all(discussion, users) -> None:
    for user in users:
        services.minutes_sign(discussion.pk, actor=user, password=PASSWORD)


# CONVENING AND THE QUORUM -------------------------------------------------------------------------

def test_convening_refuses_fewer_members_than_the_quorum():
    committee = CommitteeFactory(discussion_quorum=3)
    chair, other = leader(committee), member(committee)
    case, _panel = diverged_case(committee)

    with pytest.raises(ValidationFailed) as refused:
        convene(chair, [other], [case])

    assert refused.value.code == "below_quorum"
    assert "2 members are invited; the quorum is 3" in refused.value.message
    assert not Discussion.objects.exists()


def test_convening_copies_the_quorum_and_schedules_each_case_on_its_timeline():
    committee = CommitteeFactory(discussion_quorum=3)
    chair, people = leader(committee), [member(committee), member(committee)]
    cases = [diverged_case(committee)[0], diverged_case(committee)[0]]

    discussion = convene(chair, people, cases)
    committee.discussion_quorum = 5
    committee.save()

    discussion.refresh_from_db()
    assert discussion.quorum == 3
    assert discussion.state == Discussion.State.PLANNED
    assert sorted(discussion.members.values_list("user_id", flat=True)) == sorted([chair.pk, *(p.pk for p in people)])
    for case in cases:
        entry = TimelineEntry.objects.get(case=case, action="discussion_scheduled")
        assert entry.data == {"discussion_id": discussion.pk}
    assert AuditEvent.objects.filter(action="discussion.convene", object_id=str(discussion.pk)).count() == 1


def test_convening_refuses_a_case_that_is_not_difficult():
    committee = CommitteeFactory()
    chair, people = leader(committee), [member(committee), member(committee)]
    case, _panel = diverged_case(committee)
    case.status = Status.EXAMINED
    case.save(update_fields=["status"])

    with pytest.raises(DiscussionRefused) as refused:
        convene(chair, people, [case])

    assert refused.value.code == "not_difficult"


def test_convening_refuses_a_member_of_another_committee():
    committee = CommitteeFactory()
    chair, people = leader(committee), [member(committee), member(CommitteeFactory())]
    case, _panel = diverged_case(committee)

    with pytest.raises(ValidationFailed) as refused:
        convene(chair, people, [case])

    assert refused.value.extra["fields"]["members"] == [people[1].pk]


def test_only_a_leader_convenes():
    committee = CommitteeFactory()
    reviewer, people = member(committee), [member(committee), leader(committee)]
    case, _panel = diverged_case(committee)

    with pytest.raises(PermissionDeniedError):
        convene(reviewer, people, [case])


def test_a_case_of_another_committee_cannot_be_put_on_the_agenda():
    committee = CommitteeFactory()
    chair, people = leader(committee), [member(committee), member(committee)]
    elsewhere, _panel = diverged_case(CommitteeFactory())

    with pytest.raises(NotFoundError):
        convene(chair, people, [elsewhere])


def test_opening_refuses_fewer_members_present_than_the_quorum():
    discussion, chair, people, _cases = meeting(CommitteeFactory(discussion_quorum=3))

    with pytest.raises(DiscussionRefused) as refused:
        services.discussion_open(discussion.pk, actor=chair, present_ids=[people[0].pk])

    assert "2 members are present; the quorum is 3" in refused.value.message
    discussion.refresh_from_db()
    assert discussion.state == Discussion.State.PLANNED


def test_deciding_refuses_when_recusals_leave_fewer_voters_than_the_quorum():
    committee = CommitteeFactory(discussion_quorum=3)
    discussion, chair, people, (case,) = meeting(committee, open_=True)
    services.recusal_add(discussion.pk, item_of(discussion).pk, people[0].pk, actor=chair, reason="曾为该职工诊治")

    with pytest.raises(DiscussionRefused) as refused:
        services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)

    assert refused.value.code == "no_quorum"
    assert "Only 2 members present and not recused can decide case" in refused.value.message
    assert "the quorum is 3" in refused.value.message
    assert not Motion.objects.exists()


# AGENDA -------------------------------------------------------------------------------------------

def test_a_case_taken_off_the_agenda_keeps_its_recusals():
    committee = CommitteeFactory()
    discussion, chair, people, (first,) = meeting(committee)
    second, _panel = diverged_case(committee)
    item = services.agenda_add(discussion.pk, second.pk, actor=chair)
    services.recusal_add(discussion.pk, item.pk, people[0].pk, actor=chair, reason="与用人单位有利害关系")

    services.agenda_remove(discussion.pk, item.pk, actor=chair)

    item.refresh_from_db()
    assert item.removed_at is not None
    assert Recusal.objects.filter(item=item).count() == 1
    assert [i.case_id for i in AgendaItem.objects.filter(discussion=discussion, removed_at=None)] == [first.pk]
    assert TimelineEntry.objects.filter(case=second, action="discussion_unscheduled").count() == 1


def test_the_agenda_does_not_change_once_the_discussion_sits():
    committee = CommitteeFactory()
    discussion, chair, _people, _cases = meeting(committee, open_=True)
    other, _panel = diverged_case(committee)

    with pytest.raises(DiscussionRefused) as refused:
        services.agenda_add(discussion.pk, other.pk, actor=chair)

    assert refused.value.code == "wrong_state"


# RECUSALS -----------------------------------------------------------------------------------------

def test_a_member_who_sat_on_the_panel_is_recused_automatically():
    committee = CommitteeFactory()
    chair, people = leader(committee), [member(committee), member(committee)]
    case, _panel = diverged_case(committee)
    CaseAssignment.objects.create(case=case, user=people[0], role=CaseAssignment.Role.EXPERT, active=False)

    discussion = convene(chair, people, [case])

    recusal = Recusal.objects.get(item__discussion=discussion)
    assert recusal.member.user == people[0]
    assert recusal.automatic is True
    assert recusal.reason == "sat on the case's expert panel"
    assert AuditEvent.objects.filter(action="discussion.recuse", after__member=people[0].pk).count() == 1


def test_a_member_who_sat_on_the_second_opinion_panel_is_recused_when_the_meeting_opens():
    committee = CommitteeFactory()
    discussion, chair, people, (case,) = meeting(committee)
    CaseAssignment.objects.create(case=case, user=people[1], role=CaseAssignment.Role.SECOND_EXPERT)

    services.discussion_open(discussion.pk, actor=chair, present_ids=[p.pk for p in people])

    recusal = Recusal.objects.get(item__discussion=discussion)
    assert (recusal.member.user, recusal.automatic) == (people[1], True)
    assert recusal.reason == "sat on the case's second-opinion panel"


def test_a_member_with_a_declared_conflict_is_recused_automatically():
    committee = CommitteeFactory()
    chair, people = leader(committee), [member(committee), member(committee)]
    case, _panel = diverged_case(committee)
    expert = ExpertFactory(committee=committee, user=people[1])
    ConflictDeclaration.objects.create(expert=expert, worker=case.worker, reason="职工的近亲属")

    discussion = convene(chair, people, [case])

    recusal = Recusal.objects.get(item__discussion=discussion)
    assert recusal.member.user == people[1]
    assert "职工的近亲属" in recusal.reason


def test_a_recused_member_cannot_vote():
    committee = CommitteeFactory(discussion_quorum=3)
    chair, people = leader(committee), [member(committee), member(committee), member(committee)]
    case, _panel = diverged_case(committee)
    CaseAssignment.objects.create(case=case, user=people[0], role=CaseAssignment.Role.EXPERT)
    discussion = convene(chair, people, [case])
    services.discussion_open(discussion.pk, actor=chair, present_ids=[p.pk for p in people])
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)

    with pytest.raises(DiscussionRefused) as refused:
        services.vote_cast(discussion.pk, motion.pk, Vote.Choice.FOR, actor=people[0])

    assert refused.value.code == "recused"
    assert not Vote.objects.exists()


def test_the_chair_cannot_record_a_vote_for_a_recused_member():
    committee = CommitteeFactory(discussion_quorum=3)
    discussion, chair, people, _cases = meeting(committee, others=3, open_=True)
    item = item_of(discussion)
    services.recusal_add(discussion.pk, item.pk, people[0].pk, actor=people[0], reason="与职工系同村亲属")
    motion = services.motion_propose(discussion.pk, item.pk, SECOND_OPINION, actor=chair)

    with pytest.raises(DiscussionRefused):
        services.vote_cast(discussion.pk, motion.pk, Vote.Choice.FOR, actor=chair, member_user_id=people[0].pk)

    assert not Vote.objects.exists()


def test_a_manual_recusal_is_recorded_with_its_reason_and_audited():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    item = item_of(discussion)

    recusal = services.recusal_add(discussion.pk, item.pk, people[1].pk, actor=chair, reason="曾为该职工诊治")

    recusal.refresh_from_db()
    assert (recusal.member.user, recusal.reason, recusal.automatic, recusal.recorded_by) == (
        people[1], "曾为该职工诊治", False, chair)
    event = AuditEvent.objects.get(action="discussion.recuse")
    assert event.after == {"case_id": item.case_id, "member": people[1].pk, "reason": "曾为该职工诊治",
                           "automatic": False}


def test_a_member_declares_their_own_recusal():
    discussion, _chair, people, _cases = meeting(CommitteeFactory())

    recusal = services.recusal_add(discussion.pk, item_of(discussion).pk, people[0].pk, actor=people[0],
                                   reason="与用人单位负责人系亲属")

    assert recusal.recorded_by == people[0]


def test_a_member_cannot_recuse_another_member():
    discussion, _chair, people, _cases = meeting(CommitteeFactory())

    with pytest.raises(PermissionDeniedError):
        services.recusal_add(discussion.pk, item_of(discussion).pk, people[1].pk, actor=people[0], reason="x")

    assert not Recusal.objects.exists()


def test_a_recusal_needs_a_reason():
    discussion, chair, people, _cases = meeting(CommitteeFactory())

    with pytest.raises(ValidationFailed):
        services.recusal_add(discussion.pk, item_of(discussion).pk, people[0].pk, actor=chair, reason="  ")

    assert not Recusal.objects.exists()


# VOTES AND THE MAJORITY RULE ----------------------------------------------------------------------

def test_a_motion_passes_when_more_than_half_of_the_voters_vote_for_it():
    discussion, chair, people, _cases = meeting(CommitteeFactory(discussion_quorum=3), others=3, open_=True)
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)
    vote_all(discussion, motion, [chair, people[0], people[1]], Vote.Choice.FOR)
    vote_all(discussion, motion, [people[2]], Vote.Choice.AGAINST)

    motion = services.motion_close(discussion.pk, motion.pk, actor=chair)

    assert motion.result == Motion.Result.PASSED
    assert item_of(discussion).decision == AgendaItem.Decision.SECOND_OPINION


def test_half_of_the_voters_is_not_a_majority():
    discussion, chair, people, _cases = meeting(CommitteeFactory(discussion_quorum=3), others=3, open_=True)
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)
    vote_all(discussion, motion, [chair, people[0]], Vote.Choice.FOR)
    vote_all(discussion, motion, [people[1]], Vote.Choice.ABSTAIN)

    motion = services.motion_close(discussion.pk, motion.pk, actor=chair)

    assert motion.result == Motion.Result.FAILED
    assert item_of(discussion).decision == ""


def test_after_a_failed_motion_another_may_be_put():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    item = item_of(discussion)
    first = services.motion_propose(discussion.pk, item.pk, SECOND_OPINION, actor=chair)
    services.motion_close(discussion.pk, first.pk, actor=chair)

    second = decide(discussion, chair, people)

    assert second.result == Motion.Result.PASSED
    assert list(item.motions.values_list("result", flat=True)) == [Motion.Result.FAILED, Motion.Result.PASSED]


def test_an_absent_member_cannot_vote():
    committee = CommitteeFactory(discussion_quorum=3)
    discussion, chair, people, _cases = meeting(committee, others=3)
    services.discussion_open(discussion.pk, actor=chair, present_ids=[people[0].pk, people[1].pk])
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)

    with pytest.raises(DiscussionRefused) as refused:
        services.vote_cast(discussion.pk, motion.pk, Vote.Choice.FOR, actor=people[2])

    assert refused.value.code == "absent"


def test_the_chair_records_the_vote_of_a_member_in_the_room():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)

    vote = services.vote_cast(discussion.pk, motion.pk, Vote.Choice.AGAINST, actor=chair, member_user_id=people[0].pk)

    vote.refresh_from_db()
    assert (vote.member.user, vote.choice, vote.recorded_by) == (people[0], Vote.Choice.AGAINST, chair)


def test_a_member_cannot_record_the_vote_of_another():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)

    with pytest.raises(PermissionDeniedError):
        services.vote_cast(discussion.pk, motion.pk, Vote.Choice.FOR, actor=people[0], member_user_id=people[1].pk)


def test_a_member_may_change_their_vote_until_the_vote_closes():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    motion = services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)
    services.vote_cast(discussion.pk, motion.pk, Vote.Choice.FOR, actor=people[0])

    services.vote_cast(discussion.pk, motion.pk, Vote.Choice.AGAINST, actor=people[0])

    assert list(Vote.objects.values_list("choice", flat=True)) == [Vote.Choice.AGAINST]
    changed = AuditEvent.objects.filter(action="discussion.vote").order_by("seq").last()
    assert (changed.before, changed.after["choice"]) == ({"choice": "for"}, "against")


def test_there_is_one_decision_per_case():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    decide(discussion, chair, people)

    with pytest.raises(DiscussionRefused) as refused:
        services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=chair)

    assert refused.value.code == "decided"


def test_only_the_chair_puts_a_motion():
    committee = CommitteeFactory()
    discussion, _chair, people, _cases = meeting(committee, open_=True)

    with pytest.raises(PermissionDeniedError):
        services.motion_propose(discussion.pk, item_of(discussion).pk, SECOND_OPINION, actor=people[0])


# THE DECISIONS ------------------------------------------------------------------------------------

def test_a_conclude_motion_that_contradicts_its_clauses_is_refused_when_proposed():
    discussion, chair, _people, _cases = meeting(CommitteeFactory(), open_=True)

    with pytest.raises(ValidationFailed):
        services.motion_propose(discussion.pk, item_of(discussion).pk, conclude_motion(grade=5), actor=chair)

    assert not Motion.objects.exists()


def test_a_passed_conclude_motion_drafts_a_conclusion_that_another_leader_approves():
    committee = CommitteeFactory()
    discussion, chair, people, (case,) = meeting(committee, open_=True)

    decide(discussion, chair, people, conclude_motion())

    conclusion = Conclusion.objects.get(case=case)
    assert (conclusion.source, conclusion.state, conclusion.grade, conclusion.clauses) == (
        Conclusion.Source.DISCUSSION, Conclusion.State.DRAFT, 9, [NINE])
    approved = grading_services.conclusion_approve(case.pk, actor=leader(committee))
    case.refresh_from_db()
    assert approved.state == Conclusion.State.APPROVED
    assert case.status == Status.CONCLUDED


def test_a_second_opinion_decision_is_on_the_timeline():
    discussion, chair, people, (case,) = meeting(CommitteeFactory(), open_=True)

    decide(discussion, chair, people, SECOND_OPINION)

    entry = TimelineEntry.objects.get(case=case, action="discussion_decided")
    assert entry.data["decision"] == "second_opinion"
    assert "second-opinion panel is to be drawn" in entry.note
    assert AuditEvent.objects.filter(action="discussion.decide", after__case_id=case.pk).count() == 1


def test_an_examinations_decision_says_which_where_and_by_when_and_the_case_stays_difficult():
    discussion, chair, people, (case,) = meeting(CommitteeFactory(), open_=True)
    exams = MotionInput(decision=AgendaItem.Decision.EXAMINATIONS, examinations="右手X线片、肌电图",
                        examinations_where="聊城市人民医院", examinations_by=HELD_ON + dt.timedelta(days=14))

    decide(discussion, chair, people, exams)

    entry = TimelineEntry.objects.get(case=case, action="discussion_decided")
    assert "右手X线片、肌电图" in entry.note and "聊城市人民医院" in entry.note
    assert "stays difficult" in entry.note
    case.refresh_from_db()
    assert case.status == Status.DIFFICULT


def test_an_examinations_motion_needs_which_where_and_by_when():
    discussion, chair, _people, _cases = meeting(CommitteeFactory(), open_=True)
    exams = MotionInput(decision=AgendaItem.Decision.EXAMINATIONS, examinations="肌电图")

    with pytest.raises(ValidationFailed) as refused:
        services.motion_propose(discussion.pk, item_of(discussion).pk, exams, actor=chair)

    assert refused.value.code == "examinations_missing"


# THE MINUTES --------------------------------------------------------------------------------------

def test_signing_the_minutes_needs_the_members_password():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    decide(discussion, chair, people)

    with pytest.raises(DiscussionRefused) as refused:
        services.minutes_sign(discussion.pk, actor=people[0], password="wrong")

    assert refused.value.code == "bad_password"
    assert not discussion.members.exclude(signed_at=None).exists()


def test_each_signature_is_the_sha256_of_the_minutes_text():
    import hashlib

    discussion, chair, people, (case,) = meeting(CommitteeFactory(), open_=True)
    decide(discussion, chair, people)

    signed = services.minutes_sign(discussion.pk, actor=people[0], password=PASSWORD)

    discussion.refresh_from_db()
    assert signed.signature == hashlib.sha256(discussion.minutes_text.encode()).hexdigest()
    assert case.number in discussion.minutes_text
    assert all(str(u) in discussion.minutes_text for u in [chair, *people])


def test_an_absent_member_does_not_sign_the_minutes():
    committee = CommitteeFactory(discussion_quorum=3)
    discussion, chair, people, _cases = meeting(committee, others=3)
    services.discussion_open(discussion.pk, actor=chair, present_ids=[people[0].pk, people[1].pk])

    with pytest.raises(PermissionDeniedError):
        services.minutes_sign(discussion.pk, actor=people[2], password=PASSWORD)


def test_the_records_are_frozen_after_the_first_signature():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), cases=2, open_=True)
    first, second = AgendaItem.objects.filter(discussion=discussion).order_by("position")
    decide(discussion, chair, people, case=first.case)
    services.minutes_sign(discussion.pk, actor=people[0], password=PASSWORD)

    refusals = [
        lambda: services.motion_propose(discussion.pk, second.pk, SECOND_OPINION, actor=chair),
        lambda: services.notes_save(discussion.pk, second.pk, actor=chair, notes="补记"),
        lambda: services.recusal_add(discussion.pk, second.pk, people[1].pk, actor=chair, reason="补记"),
    ]
    for refused_call in refusals:
        with pytest.raises(DiscussionRefused) as refused:
            refused_call()
        assert refused.value.code == "minutes_signed"
    assert Motion.objects.filter(item=second).count() == 0


def test_closing_needs_the_signature_of_every_member_present():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    decide(discussion, chair, people)
    sign_all(discussion, [chair, people[0]])

    with pytest.raises(DiscussionRefused) as refused:
        services.discussion_close(discussion.pk, actor=chair)

    assert refused.value.code == "unsigned"
    assert str(people[1]) in refused.value.message
    discussion.refresh_from_db()
    assert discussion.state == Discussion.State.OPEN
    assert not Document.objects.exists()


def test_closing_issues_one_minutes_document_per_case():
    discussion, chair, people, cases = meeting(CommitteeFactory(), cases=2, open_=True)
    for case in cases:
        decide(discussion, chair, people, case=case)
    sign_all(discussion, [chair, *people])

    services.discussion_close(discussion.pk, actor=chair)

    discussion.refresh_from_db()
    assert discussion.state == Discussion.State.CLOSED
    for case in cases:
        document = Document.objects.get(case=case)
        item = item_of(discussion, case)
        assert document.kind == "discussion_minutes"
        assert item.minutes_document_id == document.pk
        assert document.values["note"] == item.minutes_text
        assert case.number in item.minutes_text
        assert document.values["discussion"]["place"] == discussion.place
    other_case_number = cases[1].number
    assert other_case_number not in item_of(discussion, cases[0]).minutes_text


def test_closing_is_all_or_nothing(document_files):
    discussion, chair, people, cases = meeting(CommitteeFactory(), cases=2, open_=True)
    for case in cases:
        decide(discussion, chair, people, case=case)
    sign_all(discussion, [chair, *people])
    cases[1].status = Status.ARCHIVED  # its file is closed: no document can be issued into it
    cases[1].save(update_fields=["status"])

    with pytest.raises(ApplicationError) as refused:
        services.discussion_close(discussion.pk, actor=chair)

    assert refused.value.code == "archived"
    discussion.refresh_from_db()
    assert discussion.state == Discussion.State.OPEN
    assert not Document.objects.exists()
    assert not [f for f in document_files.rglob("*") if f.is_file()]
    assert not AgendaItem.objects.exclude(minutes_document_id=None).exists()


def test_only_the_chair_closes_the_discussion():
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    decide(discussion, chair, people)
    sign_all(discussion, [chair, *people])

    with pytest.raises(PermissionDeniedError):
        services.discussion_close(discussion.pk, actor=UserFactory(committee=discussion.committee, roles=["leader"]))
