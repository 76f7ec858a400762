"""The case workflow: every legal step, illegal ones, permissions and separation of duties."""

import datetime as dt

import pytest

from laojian.cases import services, workflow
from laojian.cases.models import Case, CaseAssignment, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.cases.workflow import TRANSITIONS, TransitionRefused
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from laojian.core.models import AuditEvent
from laojian.core.roles import ROLES
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)
NOTE = "材料齐全"


def role_for(permission: str) -> str:
    """A staff role that holds the permission (applicants are tested separately)."""
    return next(code for code, role in ROLES.items() if permission in role.permissions and role.staff and role.sign_in)


def data_for(name: str) -> dict:
    return {"worker_requested": True, "shift_days": 7} if name == "reschedule" else {}


LEGAL = sorted((t.name, source) for t in TRANSITIONS.values() for source in t.sources)


@pytest.mark.parametrize(("name", "source"), LEGAL)
def test_every_legal_transition(name, source, monkeypatch):
    # The table as declared here; the rules other apps add (grading's conclusion checks) are tested there.
    monkeypatch.setattr(workflow, "_EXTRA_GUARDS", {})
    step = TRANSITIONS[name]
    committee = CommitteeFactory()
    case = CaseFactory(committee=committee, status=source, accepted_on=dt.date(2026, 11, 3),
                       correction_requested_on=dt.date(2026, 10, 1), correction_due=dt.date(2026, 10, 31),
                       returned_for_answer=name == "answer_return")
    actor = UserFactory(committee=committee, roles=[role_for(step.permission)])

    result = services.transition(case.pk, name, actor=actor, note=NOTE, data=data_for(name), today=TODAY)

    case.refresh_from_db()
    assert case.status == (step.target or source)
    assert case.version == 2
    assert result.status == case.status
    entry = TimelineEntry.objects.get(case=case, action=name)
    assert (entry.from_status, entry.to_status, entry.actor) == (source, case.status, actor)
    event = AuditEvent.objects.get(action=f"case.{name}")
    assert (event.actor, event.object_id) == (actor, str(case.pk))


ILLEGAL = [
    ("accept", Status.DRAFT),
    ("accept", Status.ACCEPTED),
    ("conclude", Status.SUBMITTED),
    ("archive", Status.ACCEPTED),
    ("deliver", Status.EXAMINED),
    ("pass_review", Status.SUBMITTED),
    ("schedule", Status.ACCEPTED),
    ("record_examination", Status.REVIEWED),
    ("withdraw", Status.CONCLUDED),
    ("terminate", Status.DELIVERED),
    ("approve_extension", Status.CONCLUDED),
    ("submit", Status.REJECTED),
]


@pytest.mark.parametrize(("name", "source"), ILLEGAL)
def test_illegal_transition_is_refused_and_changes_nothing(name, source):
    committee = CommitteeFactory()
    case = CaseFactory(committee=committee, status=source)
    actor = UserFactory(committee=committee, roles=[role_for(TRANSITIONS[name].permission)])

    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, name, actor=actor, note=NOTE, data=data_for(name), today=TODAY)

    assert exc.value.code == "illegal_transition"
    case.refresh_from_db()
    assert (case.status, case.version) == (source, 1)
    assert TimelineEntry.objects.filter(case=case).count() == 0
    assert AuditEvent.objects.filter(action__startswith="case.").count() == 0


def test_unknown_transition_is_refused():
    case = CaseFactory()
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "approve_everything", actor=clerk)
    assert exc.value.code == "unknown_transition"
    case.refresh_from_db()
    assert case.version == 1


def test_role_without_the_permission_is_refused():
    case = CaseFactory(status=Status.SUBMITTED)
    reviewer = UserFactory(committee=case.committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        services.transition(case.pk, "accept", actor=reviewer)
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_reason_is_required_to_reject():
    case = CaseFactory(status=Status.SUBMITTED)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "reject", actor=clerk, note="  ")
    assert exc.value.code == "note_required"


def test_accept_records_who_and_when_and_starts_the_statutory_clock():
    case = CaseFactory(status=Status.SUBMITTED, received_on=dt.date(2026, 11, 10))
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.transition(case.pk, "accept", actor=clerk, today=TODAY)
    case.refresh_from_db()
    assert (case.accepted_by, case.accepted_on) == (clerk, TODAY)
    assert case.conclusion_due == TODAY + dt.timedelta(days=60)


def test_submit_gives_the_case_its_number():
    committee = CommitteeFactory(case_number_prefix="聊劳鉴")
    first = CaseFactory(committee=committee, status=Status.DRAFT, received_on=None)
    second = CaseFactory(committee=committee, status=Status.DRAFT, received_on=None)
    applicant = UserFactory(committee=committee, roles=["clerk"])
    services.transition(first.pk, "submit", actor=applicant, today=TODAY)
    services.transition(second.pk, "submit", actor=applicant, today=TODAY)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == ("聊劳鉴〔2026〕0001号", "聊劳鉴〔2026〕0002号")
    assert first.received_on == TODAY


# SEPARATION OF DUTIES -------------------------------------------------------------------------------

def test_the_clerk_who_accepted_cannot_do_the_preliminary_review():
    case = CaseFactory(status=Status.SUBMITTED)
    both = UserFactory(committee=case.committee, roles=["clerk", "reviewer"])
    services.transition(case.pk, "accept", actor=both, today=TODAY)
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "pass_review", actor=both, today=TODAY)
    assert exc.value.code == "same_person_accept_review"
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_another_reviewer_can_review_what_a_clerk_accepted():
    case = CaseFactory(status=Status.SUBMITTED)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    reviewer = UserFactory(committee=case.committee, roles=["reviewer"])
    services.transition(case.pk, "accept", actor=clerk, today=TODAY)
    services.transition(case.pk, "pass_review", actor=reviewer, today=TODAY)
    case.refresh_from_db()
    assert case.status == Status.REVIEWED


def test_an_expert_on_the_panel_cannot_review_the_case():
    case = CaseFactory(status=Status.ACCEPTED)
    expert_reviewer = UserFactory(committee=case.committee, roles=["reviewer", "expert"])
    CaseAssignment.objects.create(case=case, user=expert_reviewer, role=CaseAssignment.Role.EXPERT)
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "pass_review", actor=expert_reviewer, today=TODAY)
    assert exc.value.code == "panel_member_review"


def test_a_leader_who_sat_on_the_panel_cannot_approve_the_conclusion():
    case = CaseFactory(status=Status.EXAMINED)
    leader = UserFactory(committee=case.committee, roles=["leader", "expert"])
    CaseAssignment.objects.create(case=case, user=leader, role=CaseAssignment.Role.EXPERT)
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "conclude", actor=leader, today=TODAY)
    assert exc.value.code == "panel_member_conclude"
    case.refresh_from_db()
    assert case.status == Status.EXAMINED


def test_an_expert_records_an_examination_only_on_their_own_panel():
    case = CaseFactory(status=Status.SCHEDULED)
    expert = UserFactory(committee=case.committee, roles=["expert"])
    with pytest.raises(NotFoundError):
        services.transition(case.pk, "record_examination", actor=expert, today=TODAY)
    CaseAssignment.objects.create(case=case, user=expert, role=CaseAssignment.Role.EXPERT)
    services.transition(case.pk, "record_examination", actor=expert, today=TODAY)
    case.refresh_from_db()
    assert case.status == Status.EXAMINED


# CLOCKS MOVED BY STEPS --------------------------------------------------------------------------------

def test_extension_adds_thirty_days_once():
    case = CaseFactory(status=Status.SCHEDULED, accepted_on=dt.date(2026, 10, 1))
    leader = UserFactory(committee=case.committee, roles=["leader"])
    services.transition(case.pk, "approve_extension", actor=leader, note="伤情复杂", today=TODAY)
    case.refresh_from_db()
    assert case.conclusion_due == dt.date(2026, 10, 1) + dt.timedelta(days=90)
    assert case.status == Status.SCHEDULED
    with pytest.raises(TransitionRefused) as exc:
        services.transition(case.pk, "approve_extension", actor=leader, note="再次延长", today=TODAY)
    assert exc.value.code == "extension_already_granted"


def test_reschedule_the_worker_asked_for_moves_the_deadline_by_the_same_time():
    case = CaseFactory(status=Status.SCHEDULED, accepted_on=dt.date(2026, 10, 1))
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.transition(case.pk, "reschedule", actor=clerk, note="住院治疗",
                        data={"worker_requested": True, "shift_days": 14}, today=TODAY)
    case.refresh_from_db()
    assert case.conclusion_due == dt.date(2026, 10, 1) + dt.timedelta(days=60 + 14)


def test_reschedule_by_the_committee_does_not_move_the_deadline():
    case = CaseFactory(status=Status.SCHEDULED, accepted_on=dt.date(2026, 10, 1))
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    services.transition(case.pk, "reschedule", actor=clerk, note="专家临时请假", data={"worker_requested": False},
                        today=TODAY)
    case.refresh_from_db()
    assert case.conclusion_due == dt.date(2026, 10, 1) + dt.timedelta(days=60)


def test_stale_version_is_a_conflict():
    case = CaseFactory(status=Status.SUBMITTED)
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    with pytest.raises(ConflictError):
        services.transition(case.pk, "accept", actor=clerk, expected_version=0)
    assert Case.objects.get(pk=case.pk).status == Status.SUBMITTED


def test_listeners_hear_a_step_after_it_commits(django_capture_on_commit_callbacks):
    from laojian.cases import workflow

    heard = []
    workflow.register_listener(heard.append)
    try:
        case = CaseFactory(status=Status.SUBMITTED)
        clerk = UserFactory(committee=case.committee, roles=["clerk"])
        with django_capture_on_commit_callbacks(execute=True):
            services.transition(case.pk, "accept", actor=clerk, today=TODAY)
            assert heard == []
        assert [(e.case_id, e.name, e.from_status, e.to_status, e.actor_id) for e in heard] == [
            (case.pk, "accept", Status.SUBMITTED, Status.ACCEPTED, clerk.pk)
        ]
    finally:
        workflow._LISTENERS.remove(heard.append)


def test_listeners_hear_nothing_of_a_refused_step(django_capture_on_commit_callbacks):
    from laojian.cases import workflow

    heard = []
    workflow.register_listener(heard.append)
    try:
        case = CaseFactory(status=Status.DRAFT)
        clerk = UserFactory(committee=case.committee, roles=["clerk"])
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(TransitionRefused):
            services.transition(case.pk, "accept", actor=clerk, today=TODAY)
        assert heard == []
    finally:
        workflow._LISTENERS.remove(heard.append)


# PRELIMINARY REVIEW: RETURNS AND ANSWERS ---------------------------------------------------------------

def _accepted_case():
    committee = CommitteeFactory()
    clerk = UserFactory(committee=committee, roles=["clerk"])
    case = CaseFactory(committee=committee, status=Status.ACCEPTED, accepted_on=TODAY, accepted_by=clerk)
    return case, clerk, UserFactory(committee=committee, roles=["reviewer"])


def test_a_returned_case_cannot_pass_review_until_the_clerk_answers():
    case, clerk, reviewer = _accepted_case()
    services.transition(case.pk, "return_to_clerk", actor=reviewer, note="工伤认定书复印件不清晰", today=TODAY)

    with pytest.raises(TransitionRefused) as refused:
        services.transition(case.pk, "pass_review", actor=reviewer, today=TODAY)

    assert refused.value.code == "return_unanswered"


def test_the_clerks_answer_lets_the_review_pass():
    case, clerk, reviewer = _accepted_case()
    services.transition(case.pk, "return_to_clerk", actor=reviewer, note="工伤认定书复印件不清晰", today=TODAY)
    services.transition(case.pk, "answer_return", actor=clerk, note="已补扫清晰件", today=TODAY)

    case = services.transition(case.pk, "pass_review", actor=reviewer, today=TODAY)

    assert (case.status, case.reviewed_by, case.reviewed_on) == (Status.REVIEWED, reviewer, TODAY)


def test_a_return_stays_with_the_case_status():
    case, clerk, reviewer = _accepted_case()

    case = services.transition(case.pk, "return_to_clerk", actor=reviewer, note="请核实亲属关系", today=TODAY)

    assert (case.status, case.returned_for_answer) == (Status.ACCEPTED, True)


def test_passing_review_marked_difficult_keeps_the_reason():
    case, clerk, reviewer = _accepted_case()

    case = services.transition(case.pk, "pass_review_difficult", actor=reviewer, note="多部位损伤，专科意见可能分歧",
                               today=TODAY)

    assert (case.status, case.difficult_reason) == (Status.REVIEWED, "多部位损伤，专科意见可能分歧")


# SEPARATION OF DUTIES AT APPROVAL ----------------------------------------------------------------------

@pytest.mark.parametrize("duty", ["accepted_by", "reviewed_by"])
def test_whoever_accepted_or_reviewed_cannot_approve_the_conclusion(duty, monkeypatch):
    monkeypatch.setattr(workflow, "_EXTRA_GUARDS", {})
    committee = CommitteeFactory()
    leader = UserFactory(committee=committee, roles=["leader", "clerk", "reviewer"])
    case = CaseFactory(committee=committee, status=Status.EXAMINED, accepted_on=TODAY, **{duty: leader})

    with pytest.raises(TransitionRefused) as refused:
        services.transition(case.pk, "conclude", actor=leader, today=TODAY)

    assert refused.value.code in {"same_person_accept_conclude", "same_person_review_conclude"}

