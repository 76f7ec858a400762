"""Reads for the preliminary review (初审, domain.md step 3): what the reviewer checks before the
case goes to a panel, and the reviewer's queue.

The review itself is three workflow steps (``pass_review``, ``pass_review_difficult``,
``return_to_clerk``) fired through ``cases.services.transition``; this module only gathers what
the reviewer looks at. Separation of duties is the workflow's own guards, asked here ahead of
time so the page can say who must do the review instead of offering buttons that would fail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext as _

from laojian.cases import clocks, eligibility, selectors, workflow
from laojian.cases.models import ApplicantKind, CaseType, Status
from laojian.core.validators import mask_id_number, parse_resident_id
from laojian.crosscheck import selectors as crosscheck_selectors
from laojian.grading import selectors as grading_selectors

if TYPE_CHECKING:
    from laojian.cases.models import Case, TimelineEntry
    from laojian.core.models import User
    from laojian.grading.models import Conclusion

# The steps taken on the review page, in the order the page offers them.
REVIEW_STEPS = ("pass_review", "pass_review_difficult", "return_to_clerk")
# The separation-of-duties guards of those steps: checked ahead to explain, and again on firing.
SEPARATION_GUARDS = (workflow.reviewer_did_not_accept, workflow.reviewer_not_on_panel)

OK, PROBLEM, VERIFY = "ok", "problem", "verify"


@dataclass(frozen=True)
class Finding:
    """One identity check: ``ok``, a ``problem`` the reviewer should return to the clerk, or
    something only a person can ``verify`` (a relative's proof of relationship)."""

    code: str
    state: str
    message: str


@dataclass
class ReturnRound:
    """One return to the clerk: the reviewer's questions and, once given, the clerk's answer."""

    question: TimelineEntry
    answer: TimelineEntry | None = None


@dataclass
class Review:
    """Everything the review page shows."""

    case: Case
    checklist: list[selectors.ChecklistItem]
    outstanding: list[selectors.ChecklistItem]
    eligibility: list[eligibility.Flag]
    identity: list[Finding]
    earlier_case: Case | None
    earlier_conclusion: Conclusion | None
    rounds: list[ReturnRound]
    open_return: TimelineEntry | None
    refusal: str  # why this viewer may not do the review ("" when they may)
    crosscheck: crosscheck_selectors.FlagSummary | None = None
    actions: list[workflow.Transition] = field(default_factory=list)


def review_refusal(user: User, case: Case) -> str:
    """Why ``user`` may not do this case's preliminary review (they accepted it, or sit on its
    panel); "" when they may. The same guards refuse the steps themselves."""
    ctx = workflow.Context(actor=user, note="", data={}, today=clocks.today())
    for guard in SEPARATION_GUARDS:
        try:
            guard(case, ctx)
        except workflow.TransitionRefused as exc:
            return exc.message
    return ""


def review_actions(user: User, case: Case, *, refusal: str | None = None) -> list[workflow.Transition]:
    """The review steps to offer: none unless the case waits for review, the user is a reviewer who
    may review it, and no return is waiting for the clerk's answer."""
    if case.status != Status.ACCEPTED or not user.has_perm("cases.review_case") or case.returned_for_answer:
        return []
    if (review_refusal(user, case) if refusal is None else refusal):
        return []
    return [workflow.get_transition(name) for name in REVIEW_STEPS]


def identity_findings(case: Case, *, today: dt.date | None = None) -> list[Finding]:
    """The worker's ID number (GB 11643), the injury determination against the case's worker and
    employer, and who applies in which capacity."""
    worker, determination = case.worker, case.determination
    findings: list[Finding] = []

    try:
        parsed = parse_resident_id(worker.id_number, today=today)
    except ValidationError as exc:
        findings.append(Finding("id_number", PROBLEM, _("The worker's ID number is not valid: %(reason)s")
                                % {"reason": " ".join(str(m) for m in exc.messages)}))
    else:
        if (parsed.birth_date, parsed.sex) != (worker.birth_date, worker.sex):
            findings.append(Finding("id_number", PROBLEM, _(
                "The worker's ID number is valid, but the birth date or sex on record differs from the one "
                "it encodes.")))
        else:
            findings.append(Finding("id_number", OK, _(
                "The worker's ID number %(number)s is valid (GB 11643 check character, birth date %(birth)s).")
                % {"number": mask_id_number(worker.id_number), "birth": parsed.birth_date.isoformat()}))

    named = determination.worker
    if determination.worker_id == case.worker_id:
        findings.append(Finding("determination_worker", OK, _(
            "The injury determination %(number)s names this worker: the name and the ID number match.")
            % {"number": determination.number}))
    else:
        differs = []
        if named.name != worker.name:
            differs.append(_("name %(name)s") % {"name": named.name})
        if named.id_number != worker.id_number:
            differs.append(_("ID number %(number)s") % {"number": mask_id_number(named.id_number)})
        findings.append(Finding("determination_worker", PROBLEM, _(
            "The injury determination %(number)s names another person (%(differs)s), not the worker of this "
            "case.") % {"number": determination.number, "differs": "、".join(differs)}))
    if determination.employer_id != case.employer_id:
        findings.append(Finding("determination_employer", PROBLEM, _(
            "The injury determination names another employer (%(employer)s) than this case (%(case)s).")
            % {"employer": determination.employer.name, "case": case.employer.name}))

    findings.append(_applicant_finding(case))
    return findings


def _applicant_finding(case: Case) -> Finding:
    name = (case.applicant_name or "").strip()
    kind = case.applicant_kind
    if kind == ApplicantKind.WORKER:
        if name in ("", case.worker.name):
            return Finding("applicant", OK, _("The worker applies in person."))
        return Finding("applicant", PROBLEM, _(
            "The applicant is recorded as the worker, but the name given (%(name)s) is not the worker's.")
            % {"name": name})
    if kind == ApplicantKind.EMPLOYER:
        if name in ("", case.employer.name, case.employer.contact_name):
            return Finding("applicant", OK, _("The employer applies (%(employer)s).") % {"employer": case.employer.name})
        return Finding("applicant", VERIFY, _(
            "The employer applies through %(name)s: check that the materials show they act for %(employer)s.")
            % {"name": name, "employer": case.employer.name})
    if kind == ApplicantKind.RELATIVE:
        return Finding("applicant", VERIFY, _(
            "A close relative applies (%(name)s): check the proof of the relationship to the worker in the "
            "materials.") % {"name": name or _("no name given")})
    if case.case_type == CaseType.REVIEW:
        return Finding("applicant", OK, _("The social-insurance agency applies for a review appraisal."))
    return Finding("applicant", PROBLEM, _(
        "The social-insurance agency applies only for a review appraisal; this case is a %(type)s.")
        % {"type": case.get_case_type_display()})


def return_rounds(case: Case) -> list[ReturnRound]:
    """The returns to the clerk and their answers, oldest first (from the case's timeline)."""
    rounds: list[ReturnRound] = []
    for entry in selectors.case_timeline(case).filter(action__in=("return_to_clerk", "answer_return")):
        if entry.action == "return_to_clerk":
            rounds.append(ReturnRound(entry))
        elif rounds and rounds[-1].answer is None:
            rounds[-1].answer = entry
    return rounds


def review_of(user: User, case: Case) -> Review:
    """What the review page shows ``user`` about ``case``."""
    checklist = selectors.case_checklist(case)
    earlier = eligibility.earlier_conclusion_case(case) if case.case_type == CaseType.REVIEW else None
    earlier_conclusion = grading_selectors.conclusion_of(earlier) if earlier is not None else None
    rounds = return_rounds(case)
    refusal = review_refusal(user, case) if case.status == Status.ACCEPTED else ""
    return Review(
        case=case, checklist=checklist, outstanding=[item for item in checklist if item.outstanding],
        eligibility=eligibility.check(case), identity=identity_findings(case),
        earlier_case=earlier, earlier_conclusion=earlier_conclusion, rounds=rounds,
        open_return=rounds[-1].question if rounds and case.returned_for_answer else None,
        refusal=refusal, crosscheck=crosscheck_selectors.case_flag_summary(case),
        actions=review_actions(user, case, refusal=refusal))


# THE QUEUE ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    """One accepted case waiting for its preliminary review."""

    case: Case
    waiting_days: int | None
    returned: bool  # questions are with the clerk
    accepted_by_viewer: bool  # the viewer accepted it: another reviewer must review it
    days_left: int | None  # to the conclusion deadline
    risk: str | None


def preliminary_queue(user: User, *, today: dt.date | None = None) -> list[QueueRow]:
    """Accepted cases of the user's committee awaiting the preliminary review, the longest waiting
    first. None is left out: those returned to the clerk and those the viewer accepted are marked."""
    if not user.has_perm("cases.review_case"):
        return []
    today = today or clocks.today()
    cases = (selectors.cases_visible_to(user).filter(status=Status.ACCEPTED)
             .select_related("committee", "worker", "accepted_by")
             .order_by(F("accepted_on").asc(nulls_last=True), "id"))
    return [
        QueueRow(case=case, waiting_days=(today - case.accepted_on).days if case.accepted_on else None,
                 returned=case.returned_for_answer, accepted_by_viewer=case.accepted_by_id == user.pk,
                 days_left=clocks.days_left(case.conclusion_due, today),
                 risk=clocks.risk(case.conclusion_due, today, case.committee.risk_warning_days))
        for case in cases
    ]

