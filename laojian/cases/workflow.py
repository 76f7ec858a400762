"""The case workflow, declared in one place.

Each transition names the states it leaves from, the state it goes to (``None``: the status
stays, e.g. an approved extension), the permission a user needs to fire it, its guards, and
the fields it records. ``services.transition`` is the only code that applies them.

Other apps add guards through ``register_guard`` (e.g. cross-checks block ``conclude`` while
flags are open) instead of editing this table: dependencies point inward, to this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from laojian.cases.models import CaseAssignment, Status, open_case_of_injury
from laojian.core.errors import ApplicationError

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User


class TransitionRefused(ApplicationError):
    """A guard or the current state refused the transition. Nothing was written."""

    code = "transition_refused"


@dataclass
class Context:
    """What a guard or an effect may look at besides the case."""

    actor: User
    note: str
    data: dict[str, Any]
    today: dt.date


Guard = Callable[["Case", Context], None]
Effect = Callable[["Case", Context], None]


@dataclass(frozen=True)
class Transition:
    name: str
    label: Any
    sources: frozenset[str]
    target: str | None
    permission: str
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    note_required: bool = False
    note_label: Any = field(default=None)
    style: str = "primary"  # how the UI draws its button: primary, secondary, danger
    elsewhere: bool = False  # taken on another app's page (e.g. conclude: grading), not by the generic button

    def leaves(self, status: str) -> bool:
        return status in self.sources


# GUARDS -------------------------------------------------------------------------------------------

def _sits_on_panel(case: Case, user: User) -> bool:
    return CaseAssignment.objects.filter(
        case=case, user=user, role=CaseAssignment.Role.EXPERT, active=True
    ).exists()


def reviewer_did_not_accept(case: Case, ctx: Context) -> None:
    """Separation of duties: the preliminary review is done by someone other than the acceptor."""
    if case.accepted_by_id == ctx.actor.pk:
        raise TransitionRefused(
            _("You accepted this case, so its preliminary review must be done by another reviewer."),
            code="same_person_accept_review",
        )


def reviewer_not_on_panel(case: Case, ctx: Context) -> None:
    """An expert cannot review a case they sit on."""
    if _sits_on_panel(case, ctx.actor):
        raise TransitionRefused(
            _("You sit on this case's expert panel, so you cannot do its preliminary review."),
            code="panel_member_review",
        )


def leader_not_on_panel(case: Case, ctx: Context) -> None:
    """The leader who approves a conclusion must not have given an opinion on it."""
    if _sits_on_panel(case, ctx.actor) or CaseAssignment.objects.filter(
            case=case, user=ctx.actor, role=CaseAssignment.Role.SECOND_EXPERT).exists():
        raise TransitionRefused(
            _("You sat on this case's expert panel, so another leader must approve its conclusion."),
            code="panel_member_conclude",
        )


def approver_did_not_accept_or_review(case: Case, ctx: Context) -> None:
    """Separation of duties: whoever accepted or reviewed a case does not approve its conclusion."""
    if case.accepted_by_id == ctx.actor.pk:
        raise TransitionRefused(
            _("You accepted this case, so another leader must approve its conclusion."),
            code="same_person_accept_conclude",
        )
    if case.reviewed_by_id == ctx.actor.pk:
        raise TransitionRefused(
            _("You did this case's preliminary review, so another leader must approve its conclusion."),
            code="same_person_review_conclude",
        )


def return_answered(case: Case, ctx: Context) -> None:
    """The reviewer's questions must be answered before the review can pass."""
    if case.returned_for_answer:
        raise TransitionRefused(
            _("The clerk has not yet answered the questions this case was returned with."),
            code="return_unanswered",
        )


def return_is_open(case: Case, ctx: Context) -> None:
    if not case.returned_for_answer:
        raise TransitionRefused(_("This case has not been returned with questions."), code="no_open_return")


def no_other_open_case_of_injury(case: Case, ctx: Context) -> None:
    """One open case of a type per injury (REL-21); the database constraint backs this up."""
    other = open_case_of_injury(case)
    if other is not None:
        raise TransitionRefused(open_case_message(other), code="open_case_of_injury")


def open_case_message(other: Case) -> str:
    return _("This injury already has a case of this type in progress (%(number)s): finish or withdraw it first.") % {
        "number": other.number or _("unnumbered")}


def review_not_too_early(case: Case, ctx: Context) -> None:
    """A review appraisal (复查鉴定) may be accepted one year after the earlier conclusion at the earliest."""
    from laojian.cases.eligibility import review_too_early  # eligibility imports the selectors

    message = review_too_early(case, ctx.today)
    if message:
        raise TransitionRefused(message, code="review_too_early")


def expert_sits_on_panel(case: Case, ctx: Context) -> None:
    """An expert records an examination only for a case on their own panel."""
    if not ctx.actor.has_perm("cases.view_committee_cases") and not _sits_on_panel(case, ctx.actor):
        raise TransitionRefused(_("You are not on this case's expert panel."), code="not_on_panel")


def extension_not_yet_granted(case: Case, ctx: Context) -> None:
    if case.extension_days:
        raise TransitionRefused(
            _("This case has already been extended once; the law allows only one extension."),
            code="extension_already_granted",
        )


def positive_shift(case: Case, ctx: Context) -> None:
    shift = ctx.data.get("shift_days")
    if ctx.data.get("worker_requested") and (not isinstance(shift, int) or shift <= 0 or shift > 366):
        raise TransitionRefused(
            _("Give the number of days the appointment moves (1 to 366)."), code="invalid_shift"
        )


# EFFECTS ------------------------------------------------------------------------------------------

def set_received(case: Case, ctx: Context) -> None:
    if case.received_on is None:
        case.received_on = ctx.today


def applicant_uploaded_required_materials(case: Case, ctx: Context) -> None:
    """An applicant submits once the checklist's required materials are uploaded. Committee staff
    registering a paper file submit at once: checking the materials is their next step."""
    if ctx.actor.has_perm("cases.register_case"):
        return
    from laojian.cases.selectors import case_checklist  # the selectors import this module

    missing = [str(item.material_type.name) for item in case_checklist(case)
               if item.material_type.required and not item.current]
    if missing:
        raise TransitionRefused(
            _("Upload these materials before submitting: %(items)s.") % {"items": "、".join(missing)},
            code="materials_missing",
        )


def set_correction_requested(case: Case, ctx: Context) -> None:
    """The applicant's time to answer the correction notice counts from today."""
    case.correction_requested_on = ctx.today


def correction_time_is_up(case: Case, ctx: Context) -> None:
    if case.correction_due is None or ctx.today <= case.correction_due:
        raise TransitionRefused(
            _("The applicant still has until %(date)s to send the corrections.")
            % {"date": case.correction_due.isoformat() if case.correction_due else "—"},
            code="correction_time_not_up",
        )


def set_resubmitted(case: Case, ctx: Context) -> None:
    """The completeness check of the corrected file counts from the day it came back."""
    case.resubmitted_on = ctx.today


def set_accepted(case: Case, ctx: Context) -> None:
    case.accepted_on = ctx.today
    case.accepted_by = ctx.actor


def set_reviewed(case: Case, ctx: Context) -> None:
    case.reviewed_on = ctx.today
    case.reviewed_by = ctx.actor


def set_difficult_from_start(case: Case, ctx: Context) -> None:
    case.difficult_reason = ctx.note


def set_returned(case: Case, ctx: Context) -> None:
    case.returned_for_answer = True


def set_answered(case: Case, ctx: Context) -> None:
    case.returned_for_answer = False


def link_earlier_case(case: Case, ctx: Context) -> None:
    """A review appraisal is linked to the worker's latest concluded appraisal unless the clerk chose one."""
    from laojian.cases.eligibility import earlier_conclusion_case

    if case.earlier_case_id is None:
        earlier = earlier_conclusion_case(case)
        if earlier is not None:
            case.earlier_case = earlier


def set_concluded(case: Case, ctx: Context) -> None:
    case.concluded_on = ctx.today


def delivery_date_is_possible(case: Case, ctx: Context) -> None:
    """The conclusion reaches the applicant after it is made and not after today."""
    received = _received_on(ctx)
    if case.concluded_on and received < case.concluded_on:
        raise TransitionRefused(
            _("The delivery date %(date)s is before the conclusion (%(concluded)s).")
            % {"date": received.isoformat(), "concluded": case.concluded_on.isoformat()}, code="delivery_before_conclusion")
    if received > ctx.today:
        raise TransitionRefused(_("The delivery date %(date)s is in the future.") % {"date": received.isoformat()},
                                code="delivery_in_future")


def _received_on(ctx: Context) -> dt.date:
    """The day the applicant received the conclusion (from the delivery record), else today."""
    received = ctx.data.get("received_on")
    if not received:
        return ctx.today
    try:
        return dt.date.fromisoformat(str(received))
    except ValueError:
        raise TransitionRefused(_("“%(value)s” is not a date.") % {"value": received}, code="invalid_date") from None


def set_delivered(case: Case, ctx: Context) -> None:
    """The re-appraisal window counts from the day the applicant received the conclusion."""
    case.delivered_on = _received_on(ctx)


def grant_extension(case: Case, ctx: Context) -> None:
    case.extension_days = case.committee.extension_days
    case.extension_reason = ctx.note


def shift_for_reschedule(case: Case, ctx: Context) -> None:
    """A reschedule the worker asked for moves the conclusion deadline by the same time."""
    if ctx.data.get("worker_requested"):
        case.reschedule_shift_days += ctx.data["shift_days"]


# THE TABLE ---------------------------------------------------------------------------------------

S = Status
OPEN_BEFORE_CONCLUSION = frozenset({S.ACCEPTED, S.REVIEWED, S.SCHEDULED, S.EXAMINED, S.DIFFICULT})

_TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", _("Submit application"), frozenset({S.DRAFT}), S.SUBMITTED, "cases.submit_case",
               guards=(applicant_uploaded_required_materials, no_other_open_case_of_injury), effects=(set_received,)),
    Transition("request_correction", _("Send correction notice"), frozenset({S.SUBMITTED}),
               S.CORRECTION_REQUESTED, "cases.request_correction", effects=(set_correction_requested,),
               note_required=True,
               note_label=_("Everything that is missing (one notice)"), style="secondary"),
    Transition("resubmit", _("Resubmit with corrections"), frozenset({S.CORRECTION_REQUESTED}), S.SUBMITTED,
               "cases.submit_case", effects=(set_resubmitted,)),
    Transition("close_uncorrected", _("Close: corrections not received in time"),
               frozenset({S.CORRECTION_REQUESTED}), S.REJECTED, "cases.reject_case",
               guards=(correction_time_is_up,), style="danger"),
    Transition("accept", _("Accept"), frozenset({S.SUBMITTED}), S.ACCEPTED, "cases.accept_case",
               guards=(review_not_too_early,), effects=(set_accepted, link_earlier_case)),
    Transition("reject", _("Reject"), frozenset({S.SUBMITTED, S.CORRECTION_REQUESTED}), S.REJECTED,
               "cases.reject_case", note_required=True, note_label=_("Reasons for rejection"), style="danger"),
    Transition("pass_review", _("Pass preliminary review"), frozenset({S.ACCEPTED}), S.REVIEWED,
               "cases.review_case", guards=(reviewer_did_not_accept, reviewer_not_on_panel, return_answered),
               effects=(set_reviewed,), elsewhere=True),
    Transition("pass_review_difficult", _("Pass review, marked difficult"), frozenset({S.ACCEPTED}), S.REVIEWED,
               "cases.review_case", guards=(reviewer_did_not_accept, reviewer_not_on_panel, return_answered),
               effects=(set_reviewed, set_difficult_from_start), note_required=True,
               note_label=_("Why the case is difficult"), style="secondary", elsewhere=True),
    Transition("return_to_clerk", _("Return to the clerk"), frozenset({S.ACCEPTED}), None, "cases.review_case",
               guards=(reviewer_did_not_accept, reviewer_not_on_panel, return_answered), effects=(set_returned,),
               note_required=True, note_label=_("What the clerk must answer"), style="secondary", elsewhere=True),
    Transition("answer_return", _("Answer the reviewer"), frozenset({S.ACCEPTED}), None, "cases.answer_return",
               guards=(return_is_open,), effects=(set_answered,), note_required=True,
               note_label=_("Your answer to the reviewer"), style="secondary"),
    # Scheduled, moved and examined through the case's appointment (laojian/sittings).
    Transition("schedule", _("Schedule appraisal"), frozenset({S.REVIEWED}), S.SCHEDULED, "cases.schedule_case",
               elsewhere=True),
    Transition("reschedule", _("Reschedule"), frozenset({S.SCHEDULED}), None, "cases.schedule_case",
               guards=(positive_shift,), effects=(shift_for_reschedule,), note_required=True,
               note_label=_("Why the appointment moves"), style="secondary", elsewhere=True),
    Transition("record_examination", _("Record examination"), frozenset({S.SCHEDULED}), S.EXAMINED,
               "cases.record_examination", guards=(expert_sits_on_panel,), elsewhere=True),
    Transition("mark_difficult", _("Mark difficult"), frozenset({S.EXAMINED}), S.DIFFICULT,
               "cases.mark_difficult", note_required=True, note_label=_("Why the case is difficult"),
               style="secondary"),
    Transition("conclude", _("Approve conclusion"), frozenset({S.EXAMINED, S.DIFFICULT}), S.CONCLUDED,
               "cases.conclude_case", guards=(leader_not_on_panel, approver_did_not_accept_or_review),
               effects=(set_concluded,), elsewhere=True),
    Transition("approve_extension", _("Approve 30-day extension"), OPEN_BEFORE_CONCLUSION, None,
               "cases.approve_extension", guards=(extension_not_yet_granted,), effects=(grant_extension,),
               note_required=True, note_label=_("Reason for the extension"), style="secondary"),
    Transition("deliver", _("Record delivery"), frozenset({S.CONCLUDED}), S.DELIVERED, "cases.deliver_case",
               guards=(delivery_date_is_possible,), effects=(set_delivered,)),
    Transition("archive", _("Archive"), frozenset({S.DELIVERED}), S.ARCHIVED, "cases.archive_case"),
    Transition("withdraw", _("Withdraw"),
               frozenset({S.SUBMITTED, S.CORRECTION_REQUESTED, S.ACCEPTED, S.REVIEWED, S.SCHEDULED}),
               S.WITHDRAWN, "cases.withdraw_case", note_required=True, note_label=_("Reason for withdrawal"),
               style="danger"),
    Transition("terminate", _("Terminate appraisal"), frozenset({S.SCHEDULED, S.EXAMINED}), S.TERMINATED,
               "cases.terminate_case", note_required=True,
               note_label=_("Reason (absence without good reason, refused examination)"), style="danger"),
)

TRANSITIONS: dict[str, Transition] = {t.name: t for t in _TRANSITIONS}
_EXTRA_GUARDS: dict[str, list[Guard]] = {}


@dataclass(frozen=True)
class TransitionEvent:
    """What a listener hears after a step has committed."""

    case_id: int
    name: str
    from_status: str
    to_status: str
    actor_id: int | None
    note: str
    backdated: bool = False  # replayed by a batch loader with an earlier date (the demo, paper files)


Listener = Callable[[TransitionEvent], None]
_LISTENERS: list[Listener] = []

TERMINAL_STATES = frozenset({S.ARCHIVED, S.REJECTED, S.WITHDRAWN, S.TERMINATED})
OPEN_STATES = frozenset(set(Status.values) - TERMINAL_STATES - {S.DRAFT})


def get_transition(name: str) -> Transition:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise TransitionRefused(
            _("There is no step called “%(name)s”.") % {"name": name}, code="unknown_transition"
        ) from None


def register_guard(transition_name: str, guard: Guard) -> None:
    """Let another app add a rule to a transition (called from its AppConfig.ready)."""
    get_transition(transition_name)
    guards = _EXTRA_GUARDS.setdefault(transition_name, [])
    if guard not in guards:
        guards.append(guard)


def register_listener(listener: Listener) -> None:
    """Be told after every committed step (e.g. notify sends the applicant an SMS).

    Listeners run after the commit, never inside the transaction: they queue work, they do not
    change the case.
    """
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def listeners() -> tuple[Listener, ...]:
    return tuple(_LISTENERS)


def guards_for(transition: Transition) -> tuple[Guard, ...]:
    return transition.guards + tuple(_EXTRA_GUARDS.get(transition.name, ()))


def transitions_from(status: str) -> list[Transition]:
    return [t for t in _TRANSITIONS if t.leaves(status)]
