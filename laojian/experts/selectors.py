"""Reads of the expert pool and the draws. No writes here."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from laojian.cases.models import CaseAssignment
from laojian.experts import draw as algo
from laojian.experts.models import (
    CategorySpecialty,
    ConflictDeclaration,
    Draw,
    DrawRules,
    Expert,
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
    from laojian.core.models import Committee, User

# Why an expert of a needed specialty cannot be drawn at all (checked before recusal).
INELIGIBLE_REASONS: dict[str, Any] = {
    "inactive": _("not active (suspended or retired)"),
    "out_of_term": _("appointment term does not cover the appraisal date"),
    "untrained": _("has not completed the required training"),
    "unavailable": _("unavailable on the appraisal date (leave)"),
    "no_account": _("has no user account"),
    "day_full": _("already sits on the most panels allowed for that appraisal date"),
}

# Why an eligible expert was recused from this case.
RECUSAL_REASONS: dict[str, Any] = {
    "duty": _("separation of duties: works on this case in another capacity"),
    "first_panel": _("sat on an earlier panel of this case (a second opinion needs fresh experts)"),
    "treating_hospital": _("works at a hospital that treated this worker"),
    "conflict": _("declared a conflict of interest"),
    "earlier_panel": _("sat on an earlier appraisal of this worker"),
    "manual": _("excluded by the committee"),
    "already_drawn": _("already drawn for this panel"),
    "busy": _("busy elsewhere at that time"),
    "no_longer_eligible": _("no longer eligible"),
}


def rules_for(committee: Committee) -> DrawRules:
    """The committee's draw rules, or the defaults (unsaved) when it has none."""
    return DrawRules.objects.filter(committee=committee).first() or DrawRules(committee=committee)


def specialties_for_categories(categories: list[int]) -> dict[int, list[str]]:
    """Specialty codes that can judge each category: the editable map, else each specialty's own category."""
    mapped: dict[int, set[str]] = defaultdict(set)
    for category, code in CategorySpecialty.objects.filter(category__in=categories).values_list(
        "category", "specialty__code"
    ):
        mapped[category].add(code)
    missing = [c for c in categories if c not in mapped]
    if missing:
        for category, code in Specialty.objects.filter(category__in=missing).values_list("category", "code"):
            mapped[category].add(code)
    return {c: sorted(mapped.get(c, ())) for c in categories}


@dataclass
class PoolEntry:
    expert_id: int
    hospital_id: int
    specialties: list[str]
    user_id: int | None
    reason: str = ""  # empty: eligible; else a key of INELIGIBLE_REASONS


def pool_for(committee: Committee, codes: list[str], on: dt.date, *, min_trainings: int = 1,
             expert_ids: list[int] | None = None, day_full: set[int] | frozenset[int] = frozenset()
             ) -> list[PoolEntry]:
    """Every expert of the committee with one of ``codes``, with the first reason they cannot sit on
    ``on`` (empty when they can); ``day_full``: experts already on the most panels allowed that day.
    Two queries whatever the pool size."""
    links: dict[int, list[str]] = defaultdict(list)
    through = Expert.specialties.through.objects.filter(expert__committee=committee, specialty__code__in=codes)
    if expert_ids is not None:
        through = through.filter(expert_id__in=expert_ids)
    for expert_id, code in through.values_list("expert_id", "specialty__code").order_by("expert_id", "specialty__code"):
        links[expert_id].append(code)
    experts = (
        Expert.objects.filter(committee=committee, specialties__code__in=codes)
        .distinct()
        .annotate(
            trained=Count("trainings", filter=Q(trainings__date__lte=on), distinct=True),
            away=Exists(UnavailablePeriod.objects.filter(expert=OuterRef("pk"), start__lte=on, end__gte=on)),
        )
        .values_list("pk", "hospital_id", "user_id", "status", "term_start", "term_end", "trained", "away")
        .order_by("pk")
    )
    if expert_ids is not None:
        experts = experts.filter(pk__in=expert_ids)
    entries = []
    for pk, hospital_id, user_id, status, term_start, term_end, trained, away in experts:
        if status != Expert.Status.ACTIVE:
            reason = "inactive"
        elif not term_start <= on <= term_end:
            reason = "out_of_term"
        elif trained < min_trainings:
            reason = "untrained"
        elif away:
            reason = "unavailable"
        elif user_id is None:
            reason = "no_account"
        elif pk in day_full:
            reason = "day_full"
        else:
            reason = ""
        entries.append(PoolEntry(pk, hospital_id, links[pk], user_id, reason))
    return entries


def _interest_recusals(case: Case, entries: list[PoolEntry], *, recuse_treating_hospital: bool
                       ) -> dict[int, tuple[str, str]]:
    """Experts with an interest in the case: the committee's manual exclusions, declared conflicts
    with the worker or the employer, and (by the committee's rule) the treating hospitals' experts."""
    found: dict[int, tuple[str, str]] = {}
    for expert_id, reason in ManualExclusion.objects.filter(case=case).values_list("expert_id", "reason"):
        found.setdefault(expert_id, ("manual", reason))
    conflicts = ConflictDeclaration.objects.filter(Q(worker_id=case.worker_id) | Q(employer_id=case.employer_id))
    for expert_id, reason in conflicts.values_list("expert_id", "reason"):
        found.setdefault(expert_id, ("conflict", reason))
    if recuse_treating_hospital:
        treating = dict(TreatingHospital.objects.filter(case=case).values_list("hospital_id", "hospital__name"))
        for e in entries:
            if e.hospital_id in treating:
                found.setdefault(e.expert_id, ("treating_hospital", treating[e.hospital_id]))
    return found


def _duty_recusals(case: Case, by_user: dict[int, int]) -> dict[int, tuple[str, str]]:
    """Separation of duties: whoever accepted the case or did its preliminary review is never drawn."""
    from django.utils.translation import gettext

    found: dict[int, tuple[str, str]] = {}
    roles = ((case.reviewed_by_id, gettext("did this case's preliminary review")),
             (case.accepted_by_id, gettext("accepted this case")))
    for user_id, detail in roles:  # the acceptor's detail wins when one person did both
        if user_id in by_user:
            found[by_user[user_id]] = ("duty", detail)
    return found


def sat_on_case(case: Case) -> dict[int, str]:
    """Every user who ever sat on a panel of this case (drawn, replaced or declined, any purpose; and
    the panel experts assigned without a draw), with the panel they sat on: user id -> purpose."""
    seats: dict[int, str] = {}
    for user_id, purpose in (PanelMember.objects.filter(panel__case=case, expert__user__isnull=False)
                             .order_by("panel_id", "id").values_list("expert__user_id", "panel__purpose")):
        seats.setdefault(user_id, purpose)
    roles = {CaseAssignment.Role.EXPERT: Panel.Purpose.FIRST,
             CaseAssignment.Role.SECOND_EXPERT: Panel.Purpose.SECOND_OPINION}
    for user_id, role in CaseAssignment.objects.filter(case=case, role__in=list(roles)).values_list("user_id", "role"):
        seats.setdefault(user_id, roles[role])
    return seats


def _earlier_panel_recusals(case: Case, by_user: dict[int, int]) -> dict[int, tuple[str, str]]:
    """Experts who sat on an earlier appraisal of this worker: on any panel of the appraisal a review
    appraisal reviews (``earlier_case``), or on a panel of any other case of the worker."""
    found: dict[int, tuple[str, str]] = {}
    if case.earlier_case_id:
        earlier = (PanelMember.objects.filter(panel__case_id=case.earlier_case_id, expert__user__isnull=False)
                   .values_list("expert__user_id", "panel__case__number"))
        for user_id, number in earlier:
            if user_id in by_user:
                found.setdefault(by_user[user_id], ("earlier_panel", number or ""))
    others = (
        CaseAssignment.objects.filter(case__worker_id=case.worker_id,
                                      role__in=[CaseAssignment.Role.EXPERT, CaseAssignment.Role.SECOND_EXPERT])
        .exclude(case_id=case.pk)
        .order_by("case_id")
        .values_list("user_id", "case__number")
    )
    for user_id, number in others:
        if user_id in by_user:
            found.setdefault(by_user[user_id], ("earlier_panel", number or ""))
    return found


def recusals_for(case: Case, entries: list[PoolEntry], *, recuse_treating_hospital: bool = True,
                 recuse_earlier_panel: bool = True, second_opinion: bool = False
                 ) -> dict[int, tuple[str, str]]:
    """The recusal rules applied to one case: expert id -> (reason code, detail). First rule wins:
    separation of duties; for a second opinion, every expert who sat on a panel of this case; the
    committee's exclusions, declared conflicts and treating hospitals; the worker's earlier
    appraisals (unless ``recuse_earlier_panel`` is off: the clerk's choice for a review appraisal)."""
    ids = {e.expert_id for e in entries}
    by_user = {e.user_id: e.expert_id for e in entries if e.user_id}
    found: dict[int, tuple[str, str]] = dict(_duty_recusals(case, by_user))
    if second_opinion:
        for user_id, purpose in sat_on_case(case).items():
            if user_id in by_user:
                found.setdefault(by_user[user_id], ("first_panel", str(Panel.Purpose(purpose).label)))
    for expert_id, why in _interest_recusals(case, entries, recuse_treating_hospital=recuse_treating_hospital).items():
        found.setdefault(expert_id, why)
    if recuse_earlier_panel:
        for expert_id, why in _earlier_panel_recusals(case, by_user).items():
            found.setdefault(expert_id, why)
    return {k: v for k, v in found.items() if k in ids}


def conflicts_of_users(case: Case, user_ids: list[int]) -> dict[int, str]:
    """For a collective discussion: which of these users, being experts of the case's committee, have
    an interest in the case by the draw's recusal rules (the committee's exclusions, declared
    conflicts with the worker or the employer, the treating hospitals when the committee's rule
    recuses them), and why: user id -> translated reason. Users who are not experts, and experts
    without such an interest, are absent. Sitting on the case's panel is no conflict here."""
    from django.utils.translation import gettext

    rows = (Expert.objects.filter(committee_id=case.committee_id, user_id__in=list(user_ids))
            .values_list("pk", "hospital_id", "user_id"))
    entries = [PoolEntry(pk, hospital_id, [], user_id) for pk, hospital_id, user_id in rows]
    if not entries:
        return {}
    user_of = {e.expert_id: e.user_id for e in entries}
    rules = rules_for(case.committee)
    found = _interest_recusals(case, entries, recuse_treating_hospital=rules.recuse_treating_hospital)
    result: dict[int, str] = {}
    for expert_id, (code, detail) in found.items():
        if expert_id in user_of:
            label = str(RECUSAL_REASONS[code])
            result[user_of[expert_id]] = (gettext("%(reason)s: %(detail)s") % {"reason": label, "detail": detail}
                                          if detail else label)
    return result


def recent_draw_counts(committee: Committee, since: dt.datetime, until: dt.datetime) -> dict[int, int]:
    """How often each expert was drawn (on any panel) in [since, until). Draws are counted, not
    seats: a group draw seats an expert on every panel of its room, and is still one draw."""
    rows = (
        PanelMember.objects.filter(panel__committee=committee, drawn_at__gte=since, drawn_at__lt=until)
        .values("expert_id")
        .annotate(n=Count("draw_id", distinct=True))
        .values_list("expert_id", "n")
    )
    return dict(rows)


def panels_per_day(committee: Committee, on: dt.date) -> dict[int, int]:
    """How many active panels of appraisal date ``on`` each expert sits on (declined seats not counted).

    The panels of one group draw (one room examining several workers in turn) count once: seats
    are counted by distinct draw, which for ordinary panels is one seat per draw anyway."""
    rows = (
        PanelMember.objects.filter(panel__committee=committee, panel__sitting_date=on, panel__state=Panel.State.ACTIVE)
        .exclude(status=PanelMember.Status.DECLINED)
        .values("expert_id")
        .annotate(n=Count("draw_id", distinct=True))
        .values_list("expert_id", "n")
    )
    return dict(rows)


def batch_drawable_cases(user: User) -> QuerySet[Case]:
    """Cases of the user's committee waiting for a panel: reviewed or scheduled, no active first panel."""
    from laojian.cases.models import Case, Status

    first = Panel.objects.filter(case=OuterRef("pk"), state=Panel.State.ACTIVE, purpose=Panel.Purpose.FIRST)
    return (
        Case.objects.filter(committee_id=user.committee_id, status__in=[Status.REVIEWED, Status.SCHEDULED])
        .exclude(Exists(first))
        .select_related("worker")
        .order_by("id")
    )


def active_panel(case: Case) -> Panel | None:
    """The case's first panel (the one that examines and writes the opinions), if active."""
    return Panel.objects.filter(case=case, state=Panel.State.ACTIVE, purpose=Panel.Purpose.FIRST).first()


def second_opinion_panel(case: Case) -> Panel | None:
    """The case's active second-opinion panel (专家复审), if one was drawn."""
    return Panel.objects.filter(case=case, state=Panel.State.ACTIVE, purpose=Panel.Purpose.SECOND_OPINION).first()


def had_first_panel(case: Case) -> bool:
    """A first panel sat on the case: drawn (even if later cancelled) or assigned without a draw."""
    return (Panel.objects.filter(case=case, purpose=Panel.Purpose.FIRST).exists()
            or CaseAssignment.objects.filter(case=case, role=CaseAssignment.Role.EXPERT).exists())


def first_panel_categories(case: Case) -> list[int]:
    """The categories the latest first panel was drawn for (a second opinion judges the same injuries)."""
    panel = Panel.objects.filter(case=case, purpose=Panel.Purpose.FIRST).order_by("-id").first()
    return list(panel.categories) if panel else []


def panel_members(panel: Panel) -> QuerySet[PanelMember]:
    return panel.members.select_related("expert", "expert__hospital", "draw").order_by("id")


def panel_is_short(panel: Panel) -> bool:
    """A seat is empty: someone declined and no replacement could be drawn."""
    seated = panel.members.exclude(status=PanelMember.Status.DECLINED).count()
    return seated < panel.size


def panel_is_confirmed(panel: Panel) -> bool:
    seated = panel.members.filter(status=PanelMember.Status.CONFIRMED).count()
    return seated == panel.size


def draws_of_case(case: Case) -> QuerySet[Draw]:
    """The draws recorded on the case's panels, and the group draws (recorded on the lead case's
    panel) that seated experts on them."""
    return (Draw.objects.filter(Q(panel__case=case) | Q(members__panel__case=case)).distinct()
            .select_related("panel", "drawn_by").order_by("drawn_at", "id"))


def initial_draw(panel: Panel) -> Draw | None:
    """The draw that first seated the panel: its own, or for a panel of a group draw the one recorded
    on the lead case's panel."""
    own = panel.draws.filter(kind=Draw.Kind.INITIAL).order_by("id").first()
    if own is not None:
        return own
    return Draw.objects.filter(kind=Draw.Kind.INITIAL, members__panel=panel).order_by("id").first()


def group_of(panel: Panel) -> list[Panel]:
    """The panels seated by the panel's initial draw: for a group draw (one panel examining several
    workers of a sitting room in turn) one panel per case, the lead case's first and then in the
    group's order; ``[panel]`` for an ordinary draw. Panels of any state (one case of the room may
    have been withdrawn): callers pick the active ones."""
    initial = initial_draw(panel)
    if initial is None or "group" not in initial.spec:
        return [panel]
    order = {case_id: i for i, case_id in enumerate(initial.spec["group"])}
    panels = Panel.objects.filter(members__draw=initial).distinct().select_related("case", "committee")
    return sorted(panels, key=lambda p: (order.get(p.case_id, len(order)), p.pk))


def draw_get_for(user: User, pk: int) -> Draw:
    """A draw record for staff of its committee who may draw or read draw records; else NotFoundError."""
    from laojian.core.errors import NotFoundError

    if not (user.has_perm("experts.view_draw") or user.has_perm("experts.draw_panel")):
        raise NotFoundError()
    draw = Draw.objects.select_related("panel", "panel__case", "drawn_by", "committee").filter(
        pk=pk, committee_id=user.committee_id
    ).first()
    if draw is None:
        raise NotFoundError()
    return draw


def expert_names(ids: list[int]) -> dict[int, Expert]:
    return {e.pk: e for e in Expert.objects.filter(pk__in=ids).select_related("hospital")}


def assignments_of_expert(user: User) -> QuerySet[PanelMember]:
    """The workbench: the seats of the signed-in expert on first and second-opinion panels
    (``panel.purpose`` tells them apart), newest first."""
    return (
        PanelMember.objects.filter(expert__user=user, panel__state=Panel.State.ACTIVE)
        .select_related("panel", "panel__case")
        .order_by("-drawn_at", "-id")
    )


# FAIRNESS -----------------------------------------------------------------------------------------

def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` degrees of freedom (regularized upper gamma)."""
    if df <= 0:
        return float("nan")
    if x <= 0:
        return 1.0
    return _gamma_q(df / 2.0, x / 2.0)


def _gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x): series for x < a + 1, else Lentz continued fraction."""
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _n in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_prefix) * h)


@dataclass
class FairnessRow:
    expert: Expert
    observed: int
    expected: float


@dataclass
class FairnessReport:
    start: dt.date
    end: dt.date
    draws: int
    simulations: int
    rows: list[FairnessRow] = field(default_factory=list)
    never_drawn: list[Expert] = field(default_factory=list)
    hospitals: list[dict[str, Any]] = field(default_factory=list)
    chi2: float = 0.0
    df: int = 0
    p_value: float | None = None
    small_expected: int = 0  # experts with an expected count under 5: the test is then only indicative


def expected_inclusions(spec: dict[str, Any], seed_hash: str, simulations: int) -> dict[int, float]:
    """Each candidate's probability of being drawn under this spec, estimated by re-running the
    algorithm with ``simulations`` seeds derived from the draw's seed hash (deterministic)."""
    counts: Counter[int] = Counter()
    for k in range(simulations):
        seed = hashlib.sha256(f"fairness:{seed_hash}:{k}".encode()).digest()
        counts.update(algo.run(spec, seed).expert_ids)
    return {expert_id: n / simulations for expert_id, n in counts.items()}


def fairness_report(committee: Committee, start: dt.date, end: dt.date, *, simulations: int = 100) -> FairnessReport:
    """Draws per expert in [start, end] against what the algorithm expects, with a chi-square test."""
    draws = list(
        Draw.objects.filter(committee=committee, drawn_at__date__gte=start, drawn_at__date__lte=end)
        .exclude(seed="")
        .only("id", "spec", "seed_hash", "result")
    )
    observed: Counter[int] = Counter()
    expected: defaultdict[int, float] = defaultdict(float)
    for d in draws:
        observed.update(p["expert"] for p in d.result)
        for expert_id, p in expected_inclusions(d.spec, d.seed_hash, simulations).items():
            expected[expert_id] += p
    report = FairnessReport(start=start, end=end, draws=len(draws), simulations=simulations)
    ids = sorted(set(observed) | set(expected))
    experts = {e.pk: e for e in Expert.objects.filter(pk__in=ids).select_related("hospital")}
    report.rows = [FairnessRow(experts[i], observed[i], expected[i]) for i in ids if i in experts]
    report.rows.sort(key=lambda r: (-r.observed, r.expert.pk))
    cells = [r for r in report.rows if r.expected > 0]
    if len(cells) > 1:
        report.chi2 = sum((r.observed - r.expected) ** 2 / r.expected for r in cells)
        report.df = len(cells) - 1
        report.p_value = chi2_sf(report.chi2, report.df)
        report.small_expected = sum(1 for r in cells if r.expected < 5)
    report.never_drawn = list(
        Expert.objects.filter(committee=committee, status=Expert.Status.ACTIVE)
        .exclude(pk__in=[i for i, n in observed.items() if n])
        .select_related("hospital")
        .order_by("hospital__code", "name")
    )
    by_hospital: dict[int, dict[str, Any]] = {}
    total = sum(observed.values()) or 1
    for row in report.rows:
        h = by_hospital.setdefault(row.expert.hospital_id, {"hospital": row.expert.hospital, "observed": 0,
                                                            "expected": 0.0})
        h["observed"] += row.observed
        h["expected"] += row.expected
    for h in by_hospital.values():
        h["share"] = h["observed"] / total
        h["expected_share"] = h["expected"] / total
    report.hospitals = sorted(by_hospital.values(), key=lambda h: -h["observed"])
    return report


# POOL MANAGEMENT ----------------------------------------------------------------------------------

def pool_experts(user: User, *, q: str = "", hospital_id: int | None = None, specialty_id: int | None = None,
                 status: str = "", term_end_before: dt.date | None = None) -> QuerySet[Expert]:
    """The experts of the user's committee, filtered for the pool list."""
    qs = Expert.objects.filter(committee_id=user.committee_id)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if hospital_id:
        qs = qs.filter(hospital_id=hospital_id)
    if specialty_id:
        qs = qs.filter(specialties__pk=specialty_id)
    if status:
        qs = qs.filter(status=status)
    if term_end_before:
        qs = qs.filter(term_end__lte=term_end_before)
    return (qs.distinct().select_related("hospital").prefetch_related("specialties")
            .annotate(trainings_count=Count("trainings", distinct=True)).order_by("hospital__code", "name", "id"))


def pool_expert_get(user: User, pk: int) -> Expert:
    """One expert of the user's committee, for a pool manager; else NotFoundError."""
    from laojian.core.errors import NotFoundError

    if not user.has_perm("experts.manage_pool"):
        raise NotFoundError()
    expert = (Expert.objects.filter(pk=pk, committee_id=user.committee_id)
              .select_related("hospital", "user").prefetch_related("specialties").first())
    if expert is None:
        raise NotFoundError()
    return expert


def hospitals_of(user: User) -> QuerySet[Any]:
    from laojian.experts.models import Hospital

    return Hospital.objects.filter(committee_id=user.committee_id).annotate(
        experts_count=Count("experts")).order_by("code")


def experts_of_users(user_ids: list[int]) -> dict[int, int]:
    """user id → expert id, for the users among these who are experts of the pool."""
    return dict(Expert.objects.filter(user_id__in=user_ids).values_list("user_id", "id"))


# THE CLINIC (one expert on duty, not drawn) --------------------------------------------------------

@dataclass(frozen=True)
class Availability:
    """When an expert may examine: active, in term, trained enough, not away."""

    active: bool
    term_start: dt.date
    term_end: dt.date
    trained_from: dt.date | None  # the date of the training that met the committee's minimum
    away: tuple[tuple[dt.date, dt.date], ...] = ()
    has_account: bool = True

    def can_sit(self, day: dt.date) -> bool:
        return (self.active and self.has_account and self.term_start <= day <= self.term_end
                and self.trained_from is not None and self.trained_from <= day
                and not any(start <= day <= end for start, end in self.away))


def availability(committee: Committee, expert_ids: list[int]) -> dict[int, Availability]:
    """Expert id → availability, for a clinic roster's experts over any range of days. Three queries."""
    min_trainings = rules_for(committee).min_trainings
    trainings: dict[int, list[dt.date]] = defaultdict(list)
    for expert_id, day in (TrainingRecord.objects.filter(expert_id__in=expert_ids)
                           .values_list("expert_id", "date").order_by("expert_id", "date")):
        trainings[expert_id].append(day)
    away: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for expert_id, start, end in UnavailablePeriod.objects.filter(expert_id__in=expert_ids).values_list(
            "expert_id", "start", "end"):
        away[expert_id].append((start, end))
    result = {}
    for pk, status, term_start, term_end, user_id in (
            Expert.objects.filter(committee=committee, pk__in=expert_ids)
            .values_list("pk", "status", "term_start", "term_end", "user_id")):
        dates = trainings.get(pk, [])
        trained_from = (dt.date.min if min_trainings <= 0
                        else dates[min_trainings - 1] if len(dates) >= min_trainings else None)
        result[pk] = Availability(status == Expert.Status.ACTIVE, term_start, term_end, trained_from,
                                  tuple(away.get(pk, ())), user_id is not None)
    return result


def recusals_of_experts(case: Case, expert_ids: list[int]) -> dict[int, str]:
    """Which of these experts may not examine the case, by the draw's recusal rules (separation of
    duties, exclusions, declared conflicts, treating hospitals, earlier appraisals), and why:
    expert id → translated reason. For the clinic, whose expert is on duty rather than drawn."""
    from django.utils.translation import gettext

    rows = Expert.objects.filter(committee_id=case.committee_id, pk__in=list(expert_ids)).values_list(
        "pk", "hospital_id", "user_id")
    entries = [PoolEntry(pk, hospital_id, [], user_id) for pk, hospital_id, user_id in rows]
    if not entries:
        return {}
    rules = rules_for(case.committee)
    found = recusals_for(case, entries, recuse_treating_hospital=rules.recuse_treating_hospital)
    return {expert_id: (gettext("%(reason)s: %(detail)s") % {"reason": str(RECUSAL_REASONS[code]),
                                                              "detail": detail} if detail
                        else str(RECUSAL_REASONS[code]))
            for expert_id, (code, detail) in found.items()}


def expert_specialty_ids(expert_id: int) -> set[int]:
    """The specialties an expert practises (what the clinic roster may put them on duty for)."""
    return set(Expert.specialties.through.objects.filter(expert_id=expert_id).values_list("specialty_id", flat=True))


def specialties_of_committee_experts(committee: Committee) -> QuerySet[Specialty]:
    """The specialties some expert of the committee practises, for the roster's choices."""
    return Specialty.objects.filter(experts__committee=committee).distinct().order_by("code")


def committee_experts(committee: Committee) -> QuerySet[Expert]:
    """The committee's active experts, by name, for choosing one (e.g. for the clinic roster)."""
    return Expert.objects.filter(committee=committee, status=Expert.Status.ACTIVE).order_by("name", "id")


# A seat on a panel: the first panel's or a second-opinion panel's (statistics count both).
PANEL_SEATS = (CaseAssignment.Role.EXPERT, CaseAssignment.Role.SECOND_EXPERT)


def panel_case_ids(*, hospital_id: int | None = None, specialty_id: int | None = None) -> QuerySet:
    """The ids of cases with a panel expert from ``hospital_id`` and/or of ``specialty_id``, as a
    subquery for statistics filters (active and earlier panel seats alike)."""
    experts = Expert.objects.filter(user__isnull=False)
    if hospital_id:
        experts = experts.filter(hospital_id=hospital_id)
    if specialty_id:
        experts = experts.filter(specialties__id=specialty_id)
    return CaseAssignment.objects.filter(role__in=PANEL_SEATS, user_id__in=experts.values("user_id")).values("case_id")


def hospitals_and_specialties(committee_ids: list[int] | tuple[int, ...]) -> tuple[QuerySet, QuerySet]:
    """The committees' hospitals and all specialties, for a statistics filter."""
    from laojian.experts.models import Hospital

    hospitals = Hospital.objects.filter(committee_id__in=committee_ids).order_by("committee_id", "name")
    return hospitals, Specialty.objects.order_by("code")


def experts_with_accounts(committee_ids: list[int] | tuple[int, ...]) -> list[Expert]:
    """The committees' experts who sign in (the ones who sit on panels), for workload statistics."""
    return list(Expert.objects.filter(committee_id__in=committee_ids, user__isnull=False)
                .select_related("hospital").order_by("committee_id", "name", "pk"))


def panel_seat_case_ids(user_id: int) -> QuerySet:
    """Ids of the cases ``user_id`` sat on a panel of (first or second opinion)."""
    return CaseAssignment.objects.filter(user_id=user_id, role__in=PANEL_SEATS).values("case_id")


def panel_seat_counts(case_ids: QuerySet) -> dict[int, int]:
    """How many of ``case_ids`` each expert (by user id) sat on a panel of."""
    rows = (CaseAssignment.objects.filter(case_id__in=case_ids, role__in=PANEL_SEATS)
            .order_by().values_list("user_id").annotate(n=Count("case_id", distinct=True)))
    return dict(rows)


def first_panel_categories_of_case(case_ref) -> Subquery:
    """The categories (a JSON list) of the latest first panel of the case ``case_ref`` points to
    (an ``OuterRef``), as a subquery annotation for statistics."""
    panels = (Panel.objects.filter(case_id=case_ref, purpose=Panel.Purpose.FIRST)
              .order_by("-id").values("categories")[:1])
    return Subquery(panels, output_field=Panel._meta.get_field("categories"))


def expert_records_of_users(user_ids: list[int]) -> list[Expert]:
    """The experts (with hospital and committee) whose accounts these are."""
    return list(Expert.objects.filter(user_id__in=user_ids).select_related("hospital", "committee"))


def expert_of_committees(committee_ids: list[int] | tuple[int, ...], pk: int) -> Expert | None:
    """The expert ``pk`` if they belong to one of these committees (None otherwise)."""
    return (Expert.objects.filter(pk=pk, committee_id__in=list(committee_ids))
            .select_related("hospital", "committee").first())
