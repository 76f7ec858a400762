"""Writes: the panel draw, replacement draws, confirmations, recusal inputs, draw verification.

Every call is atomic and recorded in the audit trail. The algorithm itself is in ``draw.py``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases.models import CaseAssignment, CaseType, Status
from laojian.cases.selectors import case_for_update
from laojian.cases.services import assignment_add, assignment_end, timeline_add
from laojian.core import audit
from laojian.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from laojian.core.versioning import bump, check_version
from laojian.experts import draw as algo
from laojian.experts import notifications, selectors
from laojian.experts.models import (
    Category,
    ConflictDeclaration,
    Draw,
    DrawRules,
    Expert,
    Hospital,
    ManualExclusion,
    Panel,
    PanelMember,
    Specialty,
    TrainingRecord,
    TreatingHospital,
    UnavailablePeriod,
)

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User

# A panel can be drawn while the case waits for its appraisal.
DRAWABLE_STATES = frozenset({Status.REVIEWED, Status.SCHEDULED})
# A second-opinion panel (专家复审) only for a case marked difficult.
SECOND_OPINION_STATES = frozenset({Status.DIFFICULT})

# The capacity a panel's members hold on the case.
_ROLE_OF_PURPOSE = {Panel.Purpose.FIRST: CaseAssignment.Role.EXPERT,
                    Panel.Purpose.SECOND_OPINION: CaseAssignment.Role.SECOND_EXPERT}


def member_role(panel: Panel) -> str:
    """The case-assignment role of the panel's members: expert, or second-opinion expert."""
    return _ROLE_OF_PURPOSE[Panel.Purpose(panel.purpose)]


def _local_today() -> dt.date:
    return timezone.localdate()




def _require(actor: User, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDeniedError()


def _impossible_message(exc: algo.DrawImpossible, size: int) -> ValidationFailed:
    if exc.code == "no_candidates":
        msg = _("Every candidate is recused or unavailable: no expert can be drawn for this case.")
    elif exc.code == "uncovered":
        msg = _("No eligible expert of the specialties %(specialties)s remains after recusal; "
                "the panel cannot cover them.") % {"specialties": "、".join(exc.slot or [])}
    elif exc.code == "not_coverable":
        msg = _("The remaining experts cannot cover every needed specialty with different people.")
    elif exc.code == "too_few":
        msg = _("Only %(available)s eligible experts remain after recusal; the panel needs %(size)s.") % {
            "available": exc.available, "size": size}
    else:
        msg = _("The draw cannot be carried out (%(code)s).") % {"code": exc.code}
    return ValidationFailed(msg, code=f"draw_{exc.code}")


# RECUSAL INPUTS ------------------------------------------------------------------------------------

def treating_hospital_add(case_id: int, hospital_id: int, *, actor: User) -> TreatingHospital:
    """Record that a hospital treated the worker for this case (its experts are then recused)."""
    _require(actor, "experts.draw_panel")
    with transaction.atomic():
        case = case_for_update(actor, case_id, related=("committee", "worker", "employer"))
        hospital = Hospital.objects.filter(pk=hospital_id, committee=case.committee).first()
        if hospital is None:
            raise ValidationFailed(_("Choose a hospital of this committee."), extra={"fields": {"hospital": []}})
        row, created = TreatingHospital.objects.get_or_create(case=case, hospital=hospital,
                                                              defaults={"added_by": actor})
        if created:
            audit.record("draw.treating_hospital", actor=actor, obj=case, committee=case.committee,
                         after={"hospital_id": hospital.pk, "hospital": hospital.name})
    return row


def manual_exclusion_add(case_id: int, expert_id: int, reason: str, *, actor: User) -> ManualExclusion:
    """Exclude one expert from this case's draws, with a reason."""
    _require(actor, "experts.draw_panel")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the exclusion."), extra={"fields": {"reason": []}})
    with transaction.atomic():
        case = case_for_update(actor, case_id, related=("committee", "worker", "employer"))
        expert = Expert.objects.filter(pk=expert_id, committee=case.committee).first()
        if expert is None:
            raise ValidationFailed(_("Choose an expert of this committee."), extra={"fields": {"expert": []}})
        row, _created = ManualExclusion.objects.update_or_create(
            case=case, expert=expert, defaults={"reason": reason, "added_by": actor})
        audit.record("draw.manual_exclusion", actor=actor, obj=case, committee=case.committee,
                     after={"expert_id": expert.pk, "reason": reason})
    return row


# THE DRAW -----------------------------------------------------------------------------------------

@dataclass
class DrawRequest:
    categories: list[int]  # for a second opinion, empty: the first panel's categories
    complex: bool = False
    size: int | None = None  # None: from the committee's rules
    sitting_date: dt.date | None = None  # the appraisal date eligibility is checked for; default today
    purpose: str = Panel.Purpose.FIRST  # or Panel.Purpose.SECOND_OPINION (专家复审)
    reason: str = ""  # why a second opinion is needed (required for one)
    # Review appraisal only: off lets the experts of the worker's earlier appraisals be drawn.
    recuse_earlier_panel: bool = True
    # Experts who cannot sit at that time (expert id -> why), e.g. seated in another room of the same
    # sitting: recorded as excluded ("busy"), so the draw stays verifiable.
    busy: dict[int, str] = field(default_factory=dict)


@dataclass
class _Spec:
    spec: dict[str, Any]
    pool_users: dict[int, int] = field(default_factory=dict)  # expert id -> user id
    eligible: list[selectors.PoolEntry] = field(default_factory=list)  # the candidates, before recusal


def _panel_size(case: Case, request: DrawRequest) -> int:
    rules = selectors.rules_for(case.committee)
    allowed = {rules.panel_size, rules.complex_panel_size}
    if request.purpose == Panel.Purpose.SECOND_OPINION:  # the usual size, or the larger one if asked
        if request.size is None:
            return rules.panel_size
        if request.size not in allowed:
            raise ValidationFailed(
                _("A panel has %(small)s or %(large)s experts, not %(size)s.")
                % {"small": rules.panel_size, "large": rules.complex_panel_size, "size": request.size},
                code="invalid_panel_size", extra={"fields": {"size": []}},
            )
        return request.size
    needs_complex = request.complex or (rules.multi_category_is_complex and len(request.categories) > 1)
    wanted = rules.complex_panel_size if needs_complex else rules.panel_size
    if request.size is None:
        return wanted
    if request.size not in allowed:
        raise ValidationFailed(
            _("A panel has %(small)s or %(large)s experts, not %(size)s.")
            % {"small": rules.panel_size, "large": rules.complex_panel_size, "size": request.size},
            code="invalid_panel_size", extra={"fields": {"size": []}},
        )
    if request.size < wanted:
        raise ValidationFailed(
            _("A complex or multi-category case needs %(size)s experts.") % {"size": wanted},
            code="invalid_panel_size", extra={"fields": {"size": []}},
        )
    return request.size


class _DrawContext:
    """What the draws of one appraisal date share: the rules, the pool per set of specialties, the
    recent-draw counts and each expert's panels of that day. A single draw builds its own; a batch
    builds one and every draw of the batch adds its experts (``seated``), so the next draws of the
    batch see them as recently drawn and count their seats of the day."""

    def __init__(self, committee: Any, on: dt.date, at: dt.datetime) -> None:
        self.committee = committee
        self.on = on
        self.at = at
        self.rules = selectors.rules_for(committee)
        self.recent: Counter[int] = Counter(selectors.recent_draw_counts(
            committee, at - dt.timedelta(days=self.rules.workload_window_days), at))
        self.day_load: Counter[int] = Counter(selectors.panels_per_day(committee, on))
        self._pools: dict[tuple[str, ...], list[selectors.PoolEntry]] = {}
        self._specialties: dict[tuple[int, ...], dict[int, list[str]]] = {}

    def specialties_for(self, categories: list[int]) -> dict[int, list[str]]:
        key = tuple(categories)
        if key not in self._specialties:
            self._specialties[key] = selectors.specialties_for_categories(categories)
        return self._specialties[key]

    def pool(self, codes: list[str]) -> list[selectors.PoolEntry]:
        """The pool for these specialties, loaded once per batch; the day limit applied each time."""
        key = tuple(codes)
        if key not in self._pools:
            self._pools[key] = selectors.pool_for(self.committee, codes, self.on, min_trainings=self.rules.min_trainings)
        limit = self.rules.max_panels_per_day
        return [replace(e, reason="day_full") if not e.reason and self.day_load[e.expert_id] >= limit else e
                for e in self._pools[key]]

    def seated(self, expert_ids: list[int]) -> None:
        for expert_id in expert_ids:
            self.recent[expert_id] += 1
            self.day_load[expert_id] += 1


def _build_spec(case: Case, ctx: _DrawContext, *, categories: list[int], size: int,
                batch: tuple[int, int] | None = None, purpose: str = Panel.Purpose.FIRST,
                recuse_earlier_panel: bool = True) -> _Spec:
    rules = ctx.rules
    by_category = ctx.specialties_for(categories)
    slots = [by_category[c] for c in categories]
    for category, codes in zip(categories, slots, strict=True):
        if not codes:
            raise ValidationFailed(
                _("No specialty is mapped to category %(category)s; set up the category → specialty map.")
                % {"category": Category(category).label}, code="draw_no_specialty")
    codes = sorted({c for slot in slots for c in slot})
    entries = ctx.pool(codes)
    eligible = [e for e in entries if not e.reason]
    recusals = selectors.recusals_for(case, eligible, recuse_treating_hospital=rules.recuse_treating_hospital,
                                      recuse_earlier_panel=recuse_earlier_panel,
                                      second_opinion=purpose == Panel.Purpose.SECOND_OPINION)
    recent = ctx.recent
    spec = {
        "algorithm": algo.ALGORITHM,
        "case": case.pk,
        "date": ctx.on.isoformat(),
        "size": size,
        "categories": categories,
        "slots": slots,
        "occupied_hospitals": [],
        "workload_window_days": rules.workload_window_days,
        "candidates": [
            [e.expert_id, e.hospital_id, e.specialties, recent.get(e.expert_id, 0),
             algo.weight_for(recent.get(e.expert_id, 0))]
            for e in eligible
        ],
        "excluded": [
            {"id": expert_id, "reason": code, "detail": detail}
            for expert_id, (code, detail) in sorted(recusals.items())
        ],
        "ineligible": [[e.expert_id, e.reason] for e in entries if e.reason],
    }
    if batch is not None:  # recent counts include the earlier draws of the batch
        spec["batch"] = list(batch)
    if purpose != Panel.Purpose.FIRST:
        spec["purpose"] = purpose
    if not recuse_earlier_panel:  # the clerk's choice is part of the record
        spec["recuse_earlier_panel"] = False
    return _Spec(spec, {e.expert_id: e.user_id for e in eligible if e.user_id}, eligible)


def _case_label(case: Case) -> str:
    return case.number or f"#{case.pk}"


def _group_recusals(cases: list[Case], entries: list[selectors.PoolEntry], rules: DrawRules, *,
                    recuse_earlier_panel: bool, known: set[int]) -> list[dict[str, Any]]:
    """The exclusions the other workers of a group bring: an expert with an interest in any worker of
    the room sits on none of its panels. Experts in ``known`` (already excluded) are skipped, the
    first case that recuses an expert is the one named; ``known`` grows with the new ones."""
    added = []
    for case in cases:
        found = selectors.recusals_for(case, entries, recuse_treating_hospital=rules.recuse_treating_hospital,
                                       recuse_earlier_panel=recuse_earlier_panel)
        for expert_id, (code, detail) in sorted(found.items()):
            if expert_id in known:
                continue
            known.add(expert_id)
            named = (_("case %(case)s: %(detail)s") % {"case": _case_label(case), "detail": detail} if detail
                     else _("case %(case)s") % {"case": _case_label(case)})
            added.append({"id": expert_id, "reason": code, "detail": named, "case": case.pk})
    return added


def _make_group(built: _Spec, cases: list[Case], rules: DrawRules, *, recuse_earlier_panel: bool) -> None:
    """Turn the lead case's spec into the group's: record the group and add the other cases'
    recusals. Like the lead's, the recused experts stay among the recorded candidates and are listed
    as excluded (the algorithm leaves them out), so the record shows the whole pool and re-runs."""
    spec = built.spec
    spec["group"] = [c.pk for c in cases]
    known = {e["id"] for e in spec["excluded"]}
    added = _group_recusals(cases[1:], built.eligible, rules, recuse_earlier_panel=recuse_earlier_panel, known=known)
    spec["excluded"] = sorted([*spec["excluded"], *added], key=lambda e: e["id"])


def _exclude_busy(built: _Spec, busy: dict[int, str]) -> None:
    """Exclude the candidates busy elsewhere at the time (not already excluded for another reason)."""
    known = {e["id"] for e in built.spec["excluded"]}
    candidates = {c[0] for c in built.spec["candidates"]}
    added = [{"id": expert_id, "reason": "busy", "detail": detail}
             for expert_id, detail in sorted(busy.items()) if expert_id in candidates and expert_id not in known]
    if added:
        built.spec["excluded"] = sorted([*built.spec["excluded"], *added], key=lambda e: e["id"])


def _commit_and_reveal(panel: Panel, spec: dict[str, Any], *, kind: str, actor: User, at: dt.datetime,
                       reason: str = "") -> tuple[Draw, algo.Outcome]:
    """Write the draw with the seed's hash (commit), then run it and store seed and result (reveal)."""
    seed = secrets.token_bytes(32)
    draw = Draw.objects.create(
        panel=panel, committee=panel.committee, kind=kind, algorithm=algo.ALGORITHM, spec=spec,
        record_hash=algo.record_hash(spec), seed_hash=algo.seed_hash(seed), drawn_at=at, drawn_by=actor,
        reason=reason,
    )
    after = {"case_id": panel.case_id, "kind": kind, "algorithm": draw.algorithm,
             "record_hash": draw.record_hash, "seed_hash": draw.seed_hash,
             "candidates": len(spec["candidates"]), "excluded": len(spec["excluded"])}
    if panel.purpose != Panel.Purpose.FIRST:
        after["purpose"] = panel.purpose
    if "group" in spec:
        after["group"] = spec["group"]
    if reason:
        after["reason"] = reason
    audit.record("draw.commit", actor=actor, obj=draw, committee=panel.committee, after=after)
    outcome = algo.run(spec, seed)
    draw.seed = seed.hex()
    draw.result = outcome.picks
    draw.warnings = outcome.warnings
    draw.save(update_fields=["seed", "result", "warnings"])
    audit.record("draw.reveal", actor=actor, obj=draw, committee=panel.committee,
                 after={"case_id": panel.case_id, "seed": draw.seed, "result": outcome.expert_ids,
                        "warnings": outcome.warnings})
    return draw, outcome


def _seat(panels: list[Panel], draw: Draw, outcome: algo.Outcome, *, actor: User, at: dt.datetime,
          template: str) -> list[list[PanelMember]]:
    """Seat the drawn experts on each panel, the members of each panel in a list of their own. One
    panel, or the panels of a group draw: the same experts examine every worker of the room, so
    each holds a seat and the case on every panel, and is texted once for the room."""
    experts = selectors.expert_names(outcome.expert_ids)
    seats: list[list[PanelMember]] = [[] for _panel in panels]
    for pick in outcome.picks:
        expert = experts[pick["expert"]]
        for panel, members in zip(panels, seats, strict=True):
            members.append(PanelMember.objects.create(panel=panel, expert=expert, draw=draw,
                                                      slot=pick["slot"] or [], drawn_at=at))
            assignment_add(panel.case, expert.user, member_role(panel), actor=actor, at=at)
        _text_seated(expert, panels, template)
    return seats


def _text_seated(expert: Expert, panels: list[Panel], template: str) -> None:
    """One SMS per expert and draw, queued on commit; a group's names the lead case and the count."""
    if not expert.phone:
        return
    lead = panels[0]
    context: dict[str, Any] = {"committee": lead.committee.short_name, "case_number": lead.case.number or "",
                               "date": lead.sitting_date.isoformat()}
    if len(panels) > 1:
        template = notifications.GROUP_VARIANT[template]
        context["count"] = len(panels)
    transaction.on_commit(lambda: notifications.send(
        template, phone=expert.phone, context=context, case_id=lead.case_id, committee_id=lead.committee_id))


def _categories_of(request: DrawRequest) -> list[int]:
    categories = sorted(set(request.categories))
    if not categories:
        raise ValidationFailed(_("Choose at least one category of the injuries."), code="draw_no_category",
                               extra={"fields": {"categories": []}})
    if any(c not in Category.values for c in categories):
        raise ValidationFailed(_("Unknown category."), code="draw_bad_category",
                               extra={"fields": {"categories": []}})
    return categories


def _check_request(request: DrawRequest) -> None:
    """What can be refused before the case is read: purpose, reason, categories."""
    if request.purpose not in Panel.Purpose.values:
        raise ValidationFailed(_("Unknown panel purpose."), code="draw_bad_purpose")
    if request.purpose == Panel.Purpose.SECOND_OPINION:
        if not (request.reason or "").strip():
            raise ValidationFailed(_("Give the reason a second-opinion panel is needed."),
                                   code="second_opinion_no_reason", extra={"fields": {"reason": []}})
        if request.categories:
            _categories_of(request)
    else:
        _categories_of(request)


def _panel_exists(purpose: str) -> ConflictError:
    if purpose == Panel.Purpose.SECOND_OPINION:
        return ConflictError(_("This case already has a second-opinion panel."), code="second_opinion_exists")
    return ConflictError(_("This case already has a panel."), code="panel_exists")


def _check_case(case: Case, request: DrawRequest) -> None:
    """The case's state allows this draw: a first panel after the preliminary review; a second
    opinion for a difficult case that had a first panel. The earlier-appraisal choice is the
    clerk's for a review appraisal only."""
    if request.purpose == Panel.Purpose.SECOND_OPINION:
        if case.status not in SECOND_OPINION_STATES:
            raise ValidationFailed(
                _("A second-opinion panel is drawn only for a case marked difficult, not while the case is "
                  "“%(status)s”.") % {"status": case.get_status_display()}, code="draw_wrong_state")
        if not selectors.had_first_panel(case):
            raise ValidationFailed(_("A second-opinion panel follows a first panel; this case has had none."),
                                   code="second_opinion_without_first")
    elif case.status not in DRAWABLE_STATES:
        raise ValidationFailed(
            _("A panel can be drawn only after the preliminary review, not while the case is "
              "“%(status)s”.") % {"status": case.get_status_display()}, code="draw_wrong_state")
    if not request.recuse_earlier_panel and case.case_type != CaseType.REVIEW:
        raise ValidationFailed(
            _("Only for a review appraisal may the experts of the worker's earlier appraisal be drawn."),
            code="earlier_panel_not_review")
    if Panel.objects.filter(case=case, state=Panel.State.ACTIVE, purpose=request.purpose).exists():
        raise _panel_exists(request.purpose)


@contextmanager
def _naming(case: Case, group: bool) -> Iterator[None]:
    """In a group draw, an error about one of its cases says which case."""
    try:
        yield
    except ApplicationError as exc:
        if not group:
            raise
        raise type(exc)(_("Case %(case)s: %(message)s") % {"case": _case_label(case), "message": exc.message},
                        code=exc.code, extra=exc.extra) from exc


def _locked_cases(actor: User, case_ids: list[int]) -> list[Case]:
    """The cases, in the caller's order, locked in id order: two clerks drawing overlapping groups
    then wait for each other instead of deadlocking, and the second finds the panels drawn."""
    locked: dict[int, Case] = {}
    for pk in sorted(case_ids):
        try:
            locked[pk] = case_for_update(actor, pk, related=("committee", "worker", "employer"))
        except NotFoundError:
            if len(case_ids) == 1:
                raise
            raise NotFoundError(_("Case %(case)s: no such case, or it is not yours to see.")
                                % {"case": f"#{pk}"}) from None
    return [locked[pk] for pk in case_ids]


def _draw_cases(case_ids: list[int], request: DrawRequest, *, actor: User, at: dt.datetime, on: dt.date,
                ctx: _DrawContext | None, batch: tuple[int, int] | None = None) -> list[Panel]:
    """The draw for one case or, given several, a group draw (the first case leads): one panel
    examines every worker of a sitting room in turn, so one draw, recorded on the lead case's panel,
    seats the same experts on each case's panel. Inside the caller's transaction; ``ctx`` None: a
    context of its own."""
    _check_request(request)
    cases = _locked_cases(actor, case_ids)
    lead, group = cases[0], len(cases) > 1
    if ctx is None:
        ctx = _DrawContext(lead.committee, on, at)
    for case in cases:
        with _naming(case, group):
            if case.committee_id != ctx.committee.pk:  # a batch or group draws for the actor's committee only
                raise NotFoundError(_("No such case, or it is not yours to see."))
            _check_case(case, request)
    purpose = request.purpose
    second = purpose == Panel.Purpose.SECOND_OPINION
    reason = (request.reason or "").strip() if second else ""
    if second and not request.categories:
        request = replace(request, categories=selectors.first_panel_categories(lead))
        if not request.categories:
            raise ValidationFailed(_("The first panel was not drawn in the system: choose the categories of "
                                     "the injuries."), code="draw_no_category", extra={"fields": {"categories": []}})
    categories = _categories_of(request)
    size = _panel_size(lead, replace(request, categories=categories))
    if len(categories) > size:
        raise ValidationFailed(_("A panel of %(size)s cannot cover %(n)s categories.")
                               % {"size": size, "n": len(categories)}, code="draw_too_many_categories")
    built = _build_spec(lead, ctx, categories=categories, size=size, batch=batch, purpose=purpose,
                        recuse_earlier_panel=request.recuse_earlier_panel)
    if group:
        _make_group(built, cases, ctx.rules, recuse_earlier_panel=request.recuse_earlier_panel)
    _exclude_busy(built, request.busy)
    try:
        algo.check(built.spec)
    except algo.DrawImpossible as exc:
        raise _impossible_message(exc, size) from None
    panels = [Panel.objects.create(case=case, committee=case.committee, size=size, purpose=purpose, reason=reason,
                                   complex=request.complex or size > ctx.rules.panel_size,
                                   categories=categories, sitting_date=on, created_by=actor)
              for case in cases]
    panel_of = {p.case_id: p for p in panels}
    busy = [e["id"] for e in built.spec["excluded"] if e["reason"] == "busy"]
    for entry in built.spec["excluded"]:
        if entry["reason"] == "busy":
            continue
        case_id = entry.get("case", lead.pk)
        audit.record("draw.recusal", actor=actor, obj=panel_of[case_id], committee=lead.committee,
                     after={"case_id": case_id, "expert_id": entry["id"], "reason": entry["reason"],
                            "detail": entry["detail"]})
    if busy:  # one entry for all: a sitting of many rooms would otherwise write rooms² of them
        audit.record("draw.busy", actor=actor, obj=panels[0], committee=lead.committee,
                     after={"case_id": lead.pk, "expert_ids": busy})
    draw, outcome = _commit_and_reveal(panels[0], built.spec, kind=Draw.Kind.INITIAL, actor=actor, at=at,
                                       reason=reason)
    _seat(panels, draw, outcome, actor=actor, at=at,
          template=notifications.SECOND_OPINION if second else notifications.DRAWN)
    ctx.seated(outcome.expert_ids)  # once per group: one room, one seat of the day
    data: dict[str, Any] = {"draw": draw.pk, "size": size}
    if group:
        data["group"] = len(cases)
    for case in cases:
        if second:
            timeline_add(case.pk, "second_opinion_drawn", actor=actor, at=at, note=reason, data=data)
        else:
            timeline_add(case.pk, "draw_panel", actor=actor, at=at, data=data)
    return panels


def panel_draw(case_id: int, request: DrawRequest, *, actor: User, at: dt.datetime | None = None) -> Panel:
    """Draw a case's panel: recusal, coverage, one expert per hospital, workload weights, at most
    ``max_panels_per_day`` panels per expert and appraisal date; all recorded.

    Nothing is written when the request is bad (a panel of 4, no category, a pool that cannot cover a
    specialty, every candidate recused). A case has at most one active panel per purpose: a second
    clerk drawing at the same time gets ConflictError.

    A second-opinion panel (``purpose="second_opinion"``, 专家复审) is drawn for a difficult case that
    had a first panel, with a reason; every expert who ever sat on a panel of the case is recused,
    and its members hold the case as second-opinion experts. Size: the committee's usual panel size
    unless the larger one is asked for; categories: the first panel's unless given.
    """
    _require(actor, "experts.draw_panel")
    _check_request(request)
    at = at or timezone.now()
    on = request.sitting_date or _local_today()
    try:
        with transaction.atomic():
            return _draw_cases([case_id], request, actor=actor, at=at, on=on, ctx=None)[0]
    except IntegrityError as exc:  # the partial unique constraint: someone else drew first
        raise _panel_exists(request.purpose) from exc


def second_opinion_draw(case_id: int, reason: str, *, actor: User, size: int | None = None,
                        categories: list[int] | None = None, sitting_date: dt.date | None = None,
                        at: dt.datetime | None = None) -> Panel:
    """Draw a second-opinion panel (专家复审) for a difficult case: see ``panel_draw``."""
    return panel_draw(case_id, DrawRequest(list(categories or []), size=size, sitting_date=sitting_date,
                                           purpose=Panel.Purpose.SECOND_OPINION, reason=reason),
                      actor=actor, at=at)


# BATCH DRAW FOR A SITTING ---------------------------------------------------------------------------

@dataclass
class BatchFailure:
    case_id: int
    message: str
    code: str = ""


@dataclass
class BatchResult:
    """``panels`` in the order of the cases when every case was drawn; else empty, and ``failures``
    says which cases could not be drawn and why (nothing was saved)."""

    panels: list[Panel] = field(default_factory=list)
    failures: list[BatchFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def panels_draw_batch(case_ids: list[int], request_by_case: dict[int, DrawRequest] | DrawRequest, *,
                      actor: User, at: dt.datetime | None = None) -> BatchResult:
    """Draw the panels of several cases of one sitting (鉴定场次) in one transaction, all or nothing.

    All or nothing because a sitting is planned as a whole: a clerk who fixes the one case that
    could not be drawn (a missing category map, a recused pool) draws the batch again, and the
    spreading below then holds over every panel of the day. Every case is tried, so the result
    lists every failure with its reason at once; if there is any, nothing is saved.

    Spreading: each draw of the batch counts as a recent draw for the next ones (lower weight),
    and an expert sits on at most ``DrawRules.max_panels_per_day`` panels of the date, counting
    panels drawn earlier for that date. Each draw is recorded, committed and verifiable on its own.
    """
    _require(actor, "experts.draw_panel")
    ids = list(dict.fromkeys(int(i) for i in case_ids))
    if not ids:
        raise ValidationFailed(_("Choose at least one case."), code="batch_no_case",
                               extra={"fields": {"cases": []}})
    if isinstance(request_by_case, DrawRequest):
        requests: dict[int, DrawRequest | None] = dict.fromkeys(ids, request_by_case)
    else:
        requests = {i: request_by_case.get(i) for i in ids}
    dates = {r.sitting_date or _local_today() for r in requests.values() if r is not None}
    if len(dates) > 1:
        raise ValidationFailed(_("The cases of a batch are drawn for one appraisal date."),
                               code="batch_dates", extra={"fields": {"sitting_date": []}})
    on = dates.pop() if dates else _local_today()
    at = at or timezone.now()
    result = BatchResult()
    with transaction.atomic():
        ctx = _DrawContext(actor.committee, on, at) if actor.committee_id else None
        for index, case_id in enumerate(ids):
            request = requests[case_id]
            if request is None:
                result.failures.append(BatchFailure(case_id, _("Choose at least one category of the injuries."),
                                                    "draw_no_category"))
                continue
            try:
                with transaction.atomic():
                    panel = _draw_cases([case_id], request, actor=actor, at=at, on=on, ctx=ctx,
                                        batch=(index + 1, len(ids)))[0]
            except NotFoundError:
                result.failures.append(BatchFailure(case_id, _("No such case, or it is not yours to see."),
                                                    "not_found"))
            except IntegrityError:
                result.failures.append(BatchFailure(case_id, _("This case already has a panel."), "panel_exists"))
            except ApplicationError as exc:
                result.failures.append(BatchFailure(case_id, exc.message, exc.code or ""))
            else:
                result.panels.append(panel)
        if result.failures:
            transaction.set_rollback(True)
            result.panels = []
            return result
        audit.record("draw.batch", actor=actor, obj=actor.committee, committee=actor.committee,
                     after={"date": on.isoformat(), "case_ids": ids,
                            "draw_ids": [p.draws.get().pk for p in result.panels]})
    return result


# GROUP DRAW FOR A SITTING ROOM ----------------------------------------------------------------------

def panel_draw_group(case_ids: list[int], request: DrawRequest, *, actor: User,
                     at: dt.datetime | None = None) -> list[Panel]:
    """Draw one panel for several cases of one sitting room (现场鉴定会): the room's experts examine
    every worker of the group in turn. Returns the panels in the order of the (de-duplicated) ids;
    the first case leads.

    One draw, recorded on the lead case's panel and verifiable like any other, seats the same
    experts on every case's panel. It is built from the lead case's candidates with every case's
    recusals excluded, so nobody with an interest in any worker of the room sits on it. Each expert
    is texted once, and the group counts as one panel of the day for the daily limit. A first panel
    only; every case after the preliminary review and without a panel, of the actor's committee.
    All or nothing: any refusal saves nothing; a case drawn by someone else at the same time gives
    ConflictError. One case is an ordinary draw (plus the ``draw.group`` record).
    """
    _require(actor, "experts.draw_panel")
    if request.purpose != Panel.Purpose.FIRST:
        raise ValidationFailed(_("A group draw seats a first panel only; draw each second-opinion panel on its own."),
                               code="group_second_opinion")
    _check_request(request)
    ids = list(dict.fromkeys(int(i) for i in case_ids))
    if not ids:
        raise ValidationFailed(_("Choose at least one case."), code="group_no_case", extra={"fields": {"cases": []}})
    if not actor.committee_id:
        raise NotFoundError()
    at = at or timezone.now()
    on = request.sitting_date or _local_today()
    try:
        with transaction.atomic():
            ctx = _DrawContext(actor.committee, on, at)
            panels = _draw_cases(ids, request, actor=actor, at=at, on=on, ctx=ctx)
            draw = panels[0].draws.get()
            audit.record("draw.group", actor=actor, obj=draw, committee=actor.committee,
                         after={"date": on.isoformat(), "case_ids": ids, "draw_id": draw.pk,
                                "panel_ids": [p.pk for p in panels]})
    except IntegrityError as exc:  # the partial unique constraint: someone else drew one of the cases first
        raise _panel_exists(request.purpose) from exc
    return panels


# CONFIRMATION AND REPLACEMENT --------------------------------------------------------------------

def _locked_member(member_id: int) -> PanelMember:
    qs = PanelMember.objects.select_related("panel", "panel__case", "panel__committee", "expert")
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    member = qs.filter(pk=member_id, panel__state=Panel.State.ACTIVE).first()
    if member is None:
        raise NotFoundError()
    return member


def _seats_of_draw(member: PanelMember) -> list[PanelMember]:
    """The expert's other seats from the member's draw on active panels, locked: a group draw seats
    them on every panel of the room, and they answer once for the room."""
    qs = (PanelMember.objects.select_related("panel", "panel__case", "panel__committee", "expert")
          .filter(draw_id=member.draw_id, expert_id=member.expert_id, panel__state=Panel.State.ACTIVE)
          .exclude(pk=member.pk).order_by("id"))
    if connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    return list(qs)


def member_confirm(member_id: int, *, actor: User, at: dt.datetime | None = None) -> PanelMember:
    """The drawn expert confirms they will sit; for a seat of a group draw, their pending seats on
    every panel of the room (one confirmation for the room). Each seat's confirmation is audited."""
    with transaction.atomic():
        member = _locked_member(member_id)
        if member.expert.user_id != actor.pk:
            raise NotFoundError()
        if member.status != PanelMember.Status.PENDING:
            raise ConflictError(_("You have already answered this draw."), code="already_answered")
        answered_at = at or timezone.now()
        seats = [member, *(s for s in _seats_of_draw(member) if s.status == PanelMember.Status.PENDING)]
        for seat in seats:
            seat.status = PanelMember.Status.CONFIRMED
            seat.answered_at = answered_at
            seat.save(update_fields=["status", "answered_at", "updated_at"])
            audit.record("draw.confirm", actor=actor, obj=seat, committee=seat.panel.committee,
                         after={"case_id": seat.panel.case_id, "expert_id": seat.expert_id})
    return member


def _replacement_spec(panels: list[Panel], member: PanelMember, on: dt.date) -> dict[str, Any]:
    """The same recorded candidates as the initial draw; panel members and experts no longer eligible
    are excluded with their reasons; the seat keeps the specialty it had to cover. ``panels``: the
    member's panel, or the panels of a group draw the seat is refilled on (the first is where the
    replacement is recorded): their members, and whoever is now recused from any of their cases,
    are excluded."""
    panel = panels[0]
    initial = selectors.initial_draw(panel)
    if initial is None:  # pragma: no cover - a panel always starts with its initial draw
        raise NotFoundError()
    base = initial.spec
    excluded = {e["id"]: e for e in base["excluded"]}
    seated = list(PanelMember.objects.filter(panel__in=panels).select_related("expert").order_by("id"))
    for m in seated:
        excluded.setdefault(m.expert_id, {"id": m.expert_id, "reason": "already_drawn", "detail": ""})
    rules = selectors.rules_for(panel.committee)
    ids = [c[0] for c in base["candidates"]]
    codes = sorted({code for c in base["candidates"] for code in c[2]})
    day_full = {k for k, n in selectors.panels_per_day(panel.committee, on).items() if n >= rules.max_panels_per_day}
    now_entries = {e.expert_id: e for e in selectors.pool_for(panel.committee, codes, on, day_full=day_full,
                                                               min_trainings=rules.min_trainings, expert_ids=ids)}
    for expert_id in ids:
        entry = now_entries.get(expert_id)
        if expert_id not in excluded and (entry is None or entry.reason):
            detail = str(selectors.INELIGIBLE_REASONS.get(entry.reason, "")) if entry else ""
            excluded[expert_id] = {"id": expert_id, "reason": "no_longer_eligible", "detail": detail}
    eligible = [e for e in now_entries.values() if not e.reason]
    recuse_earlier_panel = base.get("recuse_earlier_panel", True)
    fresh = selectors.recusals_for(panel.case, eligible,
                                   recuse_treating_hospital=rules.recuse_treating_hospital,
                                   recuse_earlier_panel=recuse_earlier_panel,
                                   second_opinion=panel.purpose == Panel.Purpose.SECOND_OPINION)
    for expert_id, (code, detail) in fresh.items():
        excluded.setdefault(expert_id, {"id": expert_id, "reason": code, "detail": detail})
    for entry in _group_recusals([p.case for p in panels[1:]], eligible, rules,
                                 recuse_earlier_panel=recuse_earlier_panel, known=set(excluded)):
        excluded[entry["id"]] = entry
    spec = {
        **base,
        "size": 1,
        "slots": [member.slot] if member.slot else [],
        "occupied_hospitals": sorted({m.expert.hospital_id for m in seated
                                      if m.status != PanelMember.Status.DECLINED and m.pk != member.pk}),
        "excluded": [excluded[k] for k in sorted(excluded)],
        "replaces": member.expert_id,
    }
    if "group" in base:  # the panels this replacement seats (a withdrawn case's panel is not refilled)
        spec["case"] = panel.case_id
        spec["group"] = [p.case_id for p in panels]
    return spec


@dataclass
class DeclineResult:
    member: PanelMember
    replacement: PanelMember | None  # the new expert's seat on the member's panel
    failure: str = ""  # why no replacement could be drawn (the seats stay empty; the clerk is told)
    declined: list[PanelMember] = field(default_factory=list)  # every seat declined (a group's: one per panel)
    replacements: list[PanelMember] = field(default_factory=list)  # the new expert's seat on each of those panels


def _ordered_panels(panel: Panel, seats: list[PanelMember]) -> list[Panel]:
    """The seats' panels in their group's order (the lead case's first): where a replacement is recorded."""
    order = {p.pk: i for i, p in enumerate(selectors.group_of(panel))}
    panels = {s.panel_id: s.panel for s in seats}
    return sorted(panels.values(), key=lambda p: (order.get(p.pk, len(order)), p.pk))


def member_decline(member_id: int, reason: str, *, actor: User, at: dt.datetime | None = None) -> DeclineResult:
    """The drawn expert declines with a reason, or a clerk records it for them; a replacement is
    drawn at once from the same recorded candidates. Both are logged; if no replacement can be
    drawn the decline still stands and the failure is logged and returned.

    A seat of a group draw is declined on every panel of the room the expert sits on from that
    draw, and one replacement draw (recorded on the first of those panels, the lead case's unless
    it was cancelled) seats the same new expert on each of them."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason you cannot sit."), extra={"fields": {"reason": []}})
    at = at or timezone.now()
    with transaction.atomic():
        member = _locked_member(member_id)
        panel = member.panel
        on_behalf = member.expert.user_id != actor.pk
        if on_behalf and not (actor.has_perm("experts.draw_panel") and actor.committee_id == panel.committee_id):
            raise NotFoundError()
        if member.status == PanelMember.Status.DECLINED:
            raise ConflictError(_("You have already answered this draw."), code="already_answered")
        seats = [member, *(s for s in _seats_of_draw(member) if s.status != PanelMember.Status.DECLINED)]
        for seat in seats:
            seat.status = PanelMember.Status.DECLINED
            seat.decline_reason = reason
            seat.answered_at = at
            seat.save(update_fields=["status", "decline_reason", "answered_at", "updated_at"])
            assignment_end(seat.panel.case_id, [seat.expert.user_id], member_role(seat.panel), actor=actor)
            audit.record("draw.decline", actor=actor, obj=seat, committee=seat.panel.committee,
                         after={"case_id": seat.panel.case_id, "expert_id": seat.expert_id, "reason": reason,
                                "on_behalf": on_behalf})
            timeline_add(seat.panel.case_id, "panel_decline", actor=actor, at=at, data={"expert": seat.expert.name})
        panels = _ordered_panels(panel, seats)
        lead = panels[0]
        spec = _replacement_spec(panels, member, lead.sitting_date)
        try:
            algo.check(spec)
        except algo.DrawImpossible as exc:
            failure = _impossible_message(exc, 1).message
            after: dict[str, Any] = {"case_id": lead.case_id, "replaces": member.expert_id, "code": exc.code}
            if len(panels) > 1:
                after["case_ids"] = [p.case_id for p in panels]
            audit.record("draw.replacement_failed", actor=actor, obj=lead, committee=lead.committee, after=after)
            return DeclineResult(member, None, failure, declined=seats)
        draw, outcome = _commit_and_reveal(lead, spec, kind=Draw.Kind.REPLACEMENT, actor=actor, at=at,
                                           reason=reason)
        replacements = [members[0] for members in _seat(panels, draw, outcome, actor=actor, at=at,
                                                        template=notifications.REPLACED)]
        for p in panels:
            timeline_add(p.case_id, "panel_replace", actor=actor, at=at, data={"draw": draw.pk})
    return DeclineResult(member, replacements[panels.index(panel)], declined=seats, replacements=replacements)


def panel_cancel(panel_id: int, reason: str, *, actor: User) -> Panel:
    """Cancel a case's panel (e.g. the case was withdrawn, or a fresh panel is needed); logged."""
    _require(actor, "experts.draw_panel")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for cancelling the panel."), extra={"fields": {"reason": []}})
    with transaction.atomic():
        panel = Panel.objects.select_related("case", "committee").filter(
            pk=panel_id, committee_id=actor.committee_id, state=Panel.State.ACTIVE).first()
        if panel is None:
            raise NotFoundError()
        panel.state = Panel.State.CANCELLED
        panel.save(update_fields=["state", "updated_at"])
        users = list(panel.members.values_list("expert__user_id", flat=True))
        assignment_end(panel.case_id, users, member_role(panel), actor=actor)
        audit.record("draw.panel_cancel", actor=actor, obj=panel, committee=panel.committee,
                     after={"case_id": panel.case_id, "reason": reason})
    return panel


# VERIFICATION --------------------------------------------------------------------------------------

@dataclass
class Verification:
    draw_id: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def draw_verify(draw_id: int) -> Verification:
    """Re-run a recorded draw and check every link: seed → seed hash, record → record hash and the
    audit trail's copy of both hashes, re-run → stored result → panel members (for a group draw, the
    same members on the panel of every case of the group)."""
    from laojian.core.models import AuditEvent

    draw = Draw.objects.filter(pk=draw_id).first()
    if draw is None:
        raise NotFoundError()
    report = Verification(draw.pk)
    problems = report.problems
    if draw.algorithm != algo.ALGORITHM:
        problems.append(_("Unknown algorithm version %(version)s.") % {"version": draw.algorithm})
        return report
    if not draw.seed:
        problems.append(_("The seed was never revealed."))
        return report
    seed = bytes.fromhex(draw.seed)
    if algo.seed_hash(seed) != draw.seed_hash:
        problems.append(_("The seed does not match the committed seed hash."))
    if algo.record_hash(draw.spec) != draw.record_hash:
        problems.append(_("The recorded candidates, exclusions or weights were changed after the draw."))
    commit = AuditEvent.objects.filter(action="draw.commit", object_type="experts.draw",
                                       object_id=str(draw.pk)).order_by("id").first()
    if commit is None:
        problems.append(_("The audit trail has no commitment for this draw."))
    else:
        after = commit.after or {}
        if after.get("record_hash") != draw.record_hash or after.get("seed_hash") != draw.seed_hash:
            problems.append(_("The draw record does not match the commitment in the audit trail."))
    for c in draw.spec.get("candidates", []):
        if c[4] != algo.weight_for(c[3]):
            problems.append(_("Expert %(id)s has a weight that does not follow from their recent draws.")
                            % {"id": c[0]})
            break
    try:
        outcome = algo.run(draw.spec, seed)
    except algo.DrawImpossible as exc:
        problems.append(_("The recorded draw cannot be re-run (%(code)s).") % {"code": exc.code})
        return report
    if outcome.picks != draw.result:
        problems.append(_("Re-running the draw gives a different panel: %(rerun)s instead of %(stored)s.") % {
            "rerun": outcome.expert_ids, "stored": [p.get("expert") for p in draw.result]})
    seated: defaultdict[int, list[int]] = defaultdict(list)  # panel id -> experts (a group draw: every panel)
    for panel_id, expert_id in draw.members.values_list("panel_id", "expert_id"):
        seated[panel_id].append(expert_id)
    drawn = sorted(outcome.expert_ids)
    group = "group" in draw.spec
    if (not seated or any(sorted(ids) != drawn for ids in seated.values())
            or (not group and set(seated) != {draw.panel_id})):
        problems.append(_("The panel members recorded for this draw are not the ones it drew."))
    if group:
        cases = sorted(Panel.objects.filter(pk__in=list(seated)).values_list("case_id", flat=True))
        if cases != sorted(draw.spec["group"]) or draw.spec.get("case") != draw.panel.case_id:
            problems.append(_("The panels this draw seated are not those of the cases of its group."))
    return report


# EXCEL IMPORT ----------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Any] = field(default_factory=list)  # excel.RowError

    @property
    def ok(self) -> bool:
        return not self.errors


def _give_account(expert: Expert) -> None:
    """A new expert gets a sign-in account (expert role, no usable password until the system
    administrator issues one): only experts with an account can be drawn and sign opinions."""
    if expert.user_id:
        return
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create(
        username=f"expert-{expert.committee.code}-{expert.code or expert.pk}", display_name=expert.name,
        phone=expert.phone, committee=expert.committee,
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name="expert"))
    expert.user = user
    expert.save(update_fields=["user", "updated_at"])


def experts_import(committee: Any, data: bytes, *, actor: User) -> ImportReport:
    """Create or update experts from an .xlsx, all or nothing: any error in any row saves nothing.
    Identified by expert number, so re-importing the same file changes nothing."""
    from laojian.experts import excel

    _require(actor, "experts.manage_pool")
    report = ImportReport()
    parsed = excel.parse(data)
    report.errors = parsed.errors
    hospitals = {h.code: h for h in Hospital.objects.filter(committee=committee)}
    specialties = {s.code: s for s in Specialty.objects.all()}
    seen: dict[str, int] = {}
    for row in parsed.rows:
        v = row.values
        if v.get("code"):
            if v["code"] in seen:
                report.errors.append(excel.RowError(row.row, "专家编号", _(
                    "Expert number %(code)s appears twice in the file (rows %(first)s and %(row)s).")
                    % {"code": v["code"], "first": seen[v["code"]], "row": row.row}))
            seen.setdefault(v["code"], row.row)
        if v.get("hospital") and v["hospital"] not in hospitals:
            report.errors.append(excel.RowError(row.row, "医院编码", _("Unknown hospital code %(code)s.")
                                                % {"code": v["hospital"]}))
        unknown = [s for s in v.get("specialties", []) if s not in specialties]
        if unknown:
            report.errors.append(excel.RowError(row.row, "科别编码", _("Unknown specialty code %(codes)s.")
                                                % {"codes": "、".join(unknown)}))
    if report.errors:
        report.errors.sort(key=lambda e: (e.row, e.column))
        return report
    fields = ("name", "title", "senior_title", "term_start", "term_end", "status", "phone")
    with transaction.atomic():
        existing = {e.code: e for e in Expert.objects.filter(committee=committee, code__in=list(seen))
                    .prefetch_related("specialties")}
        for row in parsed.rows:
            v = row.values
            wanted_specs = [specialties[s] for s in v["specialties"]]
            expert = existing.get(v["code"])
            if expert is None:
                expert = Expert.objects.create(committee=committee, code=v["code"], hospital=hospitals[v["hospital"]],
                                               **{f: v[f] for f in fields})
                expert.specialties.set(wanted_specs)
                _give_account(expert)
                report.created += 1
                continue
            changed = [f for f in fields if getattr(expert, f) != v[f]]
            if expert.hospital_id != hospitals[v["hospital"]].pk:
                expert.hospital = hospitals[v["hospital"]]
                changed.append("hospital")
            specs_changed = sorted(s.code for s in expert.specialties.all()) != v["specialties"]
            for f in changed:
                if f != "hospital":
                    setattr(expert, f, v[f])
            if changed:
                expert.save(update_fields=[*changed, "updated_at"])
            if specs_changed:
                expert.specialties.set(wanted_specs)
            if changed or specs_changed:
                report.updated += 1
            else:
                report.unchanged += 1
        if report.created or report.updated:
            audit.record("experts.import", actor=actor, obj=committee, committee=committee,
                         after={"created": report.created, "updated": report.updated,
                                "unchanged": report.unchanged})
    return report


# POOL MANAGEMENT -------------------------------------------------------------------------------------
# Clerks and admins of a committee keep its pool: experts, their training records, unavailable
# periods and conflict declarations, and the hospitals. Another committee's rows are "not found".
# Every change is audited.

def _pool_actor(actor: User) -> Any:
    _require(actor, "experts.manage_pool")
    if not actor.committee_id:
        raise NotFoundError()
    return actor.committee


def _pool_expert(actor: User, expert_id: int, *, lock: bool = False) -> Expert:
    qs = Expert.objects.filter(pk=expert_id, committee_id=actor.committee_id)
    if lock and connection.features.has_select_for_update:
        qs = qs.select_for_update()
    expert = qs.first()
    if expert is None:
        raise NotFoundError()
    return expert


EXPERT_FIELDS = ("name", "code", "title", "senior_title", "term_start", "term_end", "status", "phone")


def _expert_snapshot(expert: Expert) -> dict[str, Any]:
    data = {f: getattr(expert, f) for f in EXPERT_FIELDS}
    data["term_start"] = expert.term_start.isoformat()
    data["term_end"] = expert.term_end.isoformat()
    data["hospital_id"] = expert.hospital_id
    data["specialties"] = sorted(expert.specialties.values_list("code", flat=True))
    return data


def expert_save(data: dict[str, Any], *, actor: User, expert_id: int | None = None) -> Expert:
    """Add an expert to the pool (``expert_id`` None) or change one. ``data``: the fields of
    ``EXPERT_FIELDS``, ``hospital`` (id or Hospital) and ``specialties`` (ids or Specialty rows).

    The term must not end before it starts, at least one specialty, a hospital of the committee, an
    expert number not used by another expert of the committee. Nothing is saved on any error."""
    committee = _pool_actor(actor)
    errors: dict[str, list[str]] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Give the expert's name.")]
    hospital_id = getattr(data.get("hospital"), "pk", data.get("hospital"))
    hospital = Hospital.objects.filter(pk=hospital_id, committee=committee).first() if hospital_id else None
    if hospital is None:
        errors["hospital"] = [_("Choose a hospital of this committee.")]
    spec_ids = [getattr(s, "pk", s) for s in data.get("specialties") or []]
    specialties = list(Specialty.objects.filter(pk__in=spec_ids))
    if not specialties:
        errors["specialties"] = [_("Choose at least one specialty.")]
    start, end = data.get("term_start"), data.get("term_end")
    if not start or not end:
        errors["term_end"] = [_("Give the start and the end of the appointment term.")]
    elif end <= start:
        errors["term_end"] = [_("The term must end after it starts.")]
    if data.get("status", Expert.Status.ACTIVE) not in Expert.Status.values:
        errors["status"] = [_("Unknown status.")]
    code = (data.get("code") or "").strip()
    if code and Expert.objects.filter(committee=committee, code=code).exclude(pk=expert_id).exists():
        errors["code"] = [_("This expert number is already in use.")]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="expert_invalid", extra={"fields": errors})
    values = {f: data.get(f) for f in EXPERT_FIELDS}
    values.update(name=name, code=code, phone=(data.get("phone") or "").strip(),
                  title=(data.get("title") or "").strip(), senior_title=bool(data.get("senior_title")),
                  status=data.get("status") or Expert.Status.ACTIVE)
    with transaction.atomic():
        if expert_id is None:
            expert = Expert.objects.create(committee=committee, hospital=hospital, **values)
            expert.specialties.set(specialties)
            _give_account(expert)
            audit.record("experts.expert_create", actor=actor, obj=expert, committee=committee,
                         after=_expert_snapshot(expert))
            return expert
        expert = _pool_expert(actor, expert_id, lock=True)
        check_version(expert, data.get("version"))
        before = _expert_snapshot(expert)
        for f, v in values.items():
            setattr(expert, f, v)
        expert.hospital = hospital
        bump(expert)
        expert.save()
        expert.specialties.set(specialties)
        after = _expert_snapshot(expert)
        if after != before:
            changed = sorted(k for k in after if after[k] != before[k])
            audit.record("experts.expert_change", actor=actor, obj=expert, committee=committee,
                         before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return expert


def _training_snapshot(row: TrainingRecord) -> dict[str, Any]:
    return {"training_id": row.pk, "date": row.date.isoformat(), "topic": row.topic, "hours": str(row.hours)}


def _period_snapshot(row: UnavailablePeriod) -> dict[str, Any]:
    return {"period_id": row.pk, "start": row.start.isoformat(), "end": row.end.isoformat(), "reason": row.reason}


def _conflict_snapshot(row: ConflictDeclaration) -> dict[str, Any]:
    return {"conflict_id": row.pk, "worker_id": row.worker_id, "employer_id": row.employer_id, "reason": row.reason}


def _pool_row_remove(model: Any, row_id: int, *, action: str, snapshot: Any, actor: User) -> None:
    """Remove one of an expert's records (training, leave, conflict) of the actor's committee; audited."""
    committee = _pool_actor(actor)
    with transaction.atomic():
        row = model.objects.select_related("expert").filter(pk=row_id, expert__committee=committee).first()
        if row is None:
            raise NotFoundError()
        audit.record(action, actor=actor, obj=row.expert, committee=committee, before=snapshot(row))
        row.delete()


def training_add(expert_id: int, *, date: dt.date, topic: str, hours: Any, actor: User) -> Any:
    committee = _pool_actor(actor)
    topic = (topic or "").strip()
    if not topic:
        raise ValidationFailed(_("Give the topic of the training."), extra={"fields": {"topic": []}})
    with transaction.atomic():
        expert = _pool_expert(actor, expert_id)
        row = TrainingRecord.objects.create(expert=expert, date=date, topic=topic, hours=hours or 0)
        audit.record("experts.training_add", actor=actor, obj=expert, committee=committee,
                     after=_training_snapshot(row))
    return row


def training_remove(training_id: int, *, actor: User) -> None:
    _pool_row_remove(TrainingRecord, training_id, action="experts.training_remove", snapshot=_training_snapshot,
                     actor=actor)


def unavailable_add(expert_id: int, *, start: dt.date, end: dt.date, reason: str = "", actor: User) -> Any:
    committee = _pool_actor(actor)
    if end < start:
        raise ValidationFailed(_("The period cannot end before it starts."), extra={"fields": {"end": []}})
    with transaction.atomic():
        expert = _pool_expert(actor, expert_id)
        row = UnavailablePeriod.objects.create(expert=expert, start=start, end=end, reason=(reason or "").strip())
        audit.record("experts.unavailable_add", actor=actor, obj=expert, committee=committee,
                     after=_period_snapshot(row))
    return row


def unavailable_remove(period_id: int, *, actor: User) -> None:
    _pool_row_remove(UnavailablePeriod, period_id, action="experts.unavailable_remove", snapshot=_period_snapshot,
                     actor=actor)


def conflict_add(expert_id: int, *, reason: str, worker_id_number: str = "", employer_credit_code: str = "",
                 actor: User) -> Any:
    """Record an expert's declared conflict with a registered worker (by ID number) and/or employer
    (by credit code). The trail keeps the row ids, never the full ID number."""
    from django.core.exceptions import ValidationError

    from laojian.cases.models import Employer, Worker
    from laojian.core.validators import normalize_credit_code, normalize_resident_id
    committee = _pool_actor(actor)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    worker = employer = None
    if (worker_id_number or "").strip():
        try:
            worker = Worker.objects.filter(
                id_number_index=Worker.index_of(normalize_resident_id(worker_id_number))).first()
        except ValidationError as exc:
            errors["worker_id_number"] = list(exc.messages)
        else:
            if worker is None:
                errors["worker_id_number"] = [_("No worker with this ID number is registered.")]
    if (employer_credit_code or "").strip():
        try:
            employer = Employer.objects.filter(credit_code=normalize_credit_code(employer_credit_code)).first()
        except ValidationError as exc:
            errors["employer_credit_code"] = list(exc.messages)
        else:
            if employer is None:
                errors["employer_credit_code"] = [_("No employer with this credit code is registered.")]
    if not errors and worker is None and employer is None:
        errors["worker_id_number"] = [_("Name the worker or the employer the conflict is with.")]
    if not reason:
        errors["reason"] = [_("Give the reason for the conflict.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], code="conflict_invalid", extra={"fields": errors})
    with transaction.atomic():
        expert = _pool_expert(actor, expert_id)
        row = ConflictDeclaration.objects.create(expert=expert, worker=worker, employer=employer, reason=reason)
        audit.record("experts.conflict_add", actor=actor, obj=expert, committee=committee,
                     after=_conflict_snapshot(row))
    return row


def conflict_remove(conflict_id: int, *, actor: User) -> None:
    _pool_row_remove(ConflictDeclaration, conflict_id, action="experts.conflict_remove", snapshot=_conflict_snapshot,
                     actor=actor)


def hospital_save(data: dict[str, Any], *, actor: User, hospital_id: int | None = None) -> Hospital:
    """Add or change a hospital of the committee; codes are unique within the committee."""
    committee = _pool_actor(actor)
    values = {k: (data.get(k) or "").strip() for k in ("code", "name", "level")}
    errors: dict[str, list[str]] = {}
    if not values["code"]:
        errors["code"] = [_("Give the hospital's code.")]
    elif Hospital.objects.filter(committee=committee, code=values["code"]).exclude(pk=hospital_id).exists():
        errors["code"] = [_("Another hospital of this committee has this code.")]
    if not values["name"]:
        errors["name"] = [_("Give the hospital's name.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], code="hospital_invalid", extra={"fields": errors})
    with transaction.atomic():
        if hospital_id is None:
            hospital = Hospital.objects.create(committee=committee, **values)
            audit.record("experts.hospital_create", actor=actor, obj=hospital, committee=committee, after=values)
            return hospital
        qs = Hospital.objects.filter(pk=hospital_id, committee=committee)
        hospital = (qs.select_for_update() if connection.features.has_select_for_update else qs).first()
        if hospital is None:
            raise NotFoundError()
        check_version(hospital, data.get("version"))
        before = {k: getattr(hospital, k) for k in values}
        for k, v in values.items():
            setattr(hospital, k, v)
        bump(hospital)
        hospital.save()
        if before != values:
            audit.record("experts.hospital_change", actor=actor, obj=hospital, committee=committee,
                         before=before, after=values)
    return hospital
