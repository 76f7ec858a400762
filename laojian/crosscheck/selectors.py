"""Reads of cross-checks: a case's flags and risk, the work queue, statistics, and the texts built
from a flag's evidence (its explanation, the questions of a cross-check letter).

Every query that reaches a case starts from ``cases_visible_to``: another committee's flags are
a 404, like flags that do not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from laojian.cases.models import Case
from laojian.cases.selectors import cases_visible_to
from laojian.core.calendar import local_day_bounds
from laojian.core.errors import NotFoundError
from laojian.crosscheck.models import ClaimedCare, Flag, Letter, MatchRun, Override

if TYPE_CHECKING:
    from laojian.core.models import User

# Flags that still hold the conclusion: not yet explained or confirmed.
UNRESOLVED = (Flag.State.OPEN, Flag.State.LETTER_SENT)
_UNRESOLVED = Q(state__in=UNRESOLVED)

# Partner data as the pages name it when a rule could not run for want of it.
KIND_MISSING: dict[str, Any] = {
    "settlement": gettext_lazy("no settlement data imported yet"),
    "health_stay": gettext_lazy("no health-department stays imported yet"),
    "licensed": gettext_lazy("no licensed-hospital registry imported yet"),
}
REGIONS: dict[str, Any] = {
    "head": gettext_lazy("head"), "neck": gettext_lazy("neck"), "thorax": gettext_lazy("thorax"),
    "abdomen_back_pelvis": gettext_lazy("abdomen, lower back and pelvis"),
    "shoulder_upper_arm": gettext_lazy("shoulder and upper arm"), "elbow_forearm": gettext_lazy("elbow and forearm"),
    "wrist_hand": gettext_lazy("wrist and hand"), "hip_thigh": gettext_lazy("hip and thigh"),
    "knee_lower_leg": gettext_lazy("knee and lower leg"), "ankle_foot": gettext_lazy("ankle and foot"),
    "multiple_regions": gettext_lazy("several body regions"), "unspecified_region": gettext_lazy("unspecified region"),
    "foreign_body": gettext_lazy("foreign body"), "burns": gettext_lazy("burns"), "frostbite": gettext_lazy("frostbite"),
    "poisoning": gettext_lazy("poisoning"), "other_external": gettext_lazy("other external causes"),
    "complications": gettext_lazy("complications"), "sequelae": gettext_lazy("sequelae"),
}
SERVICES: dict[str, Any] = {"inpatient": gettext_lazy("inpatient care"), "outpatient": gettext_lazy("outpatient care"),
                            "examination": gettext_lazy("examinations")}
# Timeline actions of cross-checks, for the case page's labels.


# ONE CASE ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlagSummary:
    """What the preliminary review shows: open doubts, all doubts, the risk score, last check."""

    open: int
    total: int
    risk: int
    checked_at: dt.datetime | None


def _runs_covering(case: Case) -> QuerySet[MatchRun]:
    """Runs that checked the case: its own, and the committee's nightly runs since it was created."""
    return MatchRun.objects.filter(
        Q(case=case) | Q(case__isnull=True, committee_id=case.committee_id, started_at__gte=case.created_at),
        finished_at__isnull=False, error="")


def case_flag_summary(case: Case) -> FlagSummary:
    """Two aggregate queries, whatever the number of flags."""
    counts = Flag.objects.filter(case=case).aggregate(
        open=Count("id", filter=_UNRESOLVED), total=Count("id"),
        risk=Coalesce(Sum("weight", filter=_UNRESOLVED), 0))
    checked_at = _runs_covering(case).aggregate(at=Max("finished_at"))["at"]
    return FlagSummary(open=counts["open"], total=counts["total"], risk=counts["risk"], checked_at=checked_at)


def case_risk(case_id: int) -> int:
    """The case's risk score: the sum of the weights of its unresolved flags."""
    return Flag.objects.filter(case_id=case_id, state__in=UNRESOLVED).aggregate(
        risk=Coalesce(Sum("weight"), 0))["risk"]


def case_flags(case: Case) -> QuerySet[Flag]:
    return Flag.objects.filter(case=case).select_related("resolved_by").order_by("found_at", "id")


def case_claimed_care(case: Case) -> QuerySet[ClaimedCare]:
    return ClaimedCare.objects.filter(case=case).select_related("entered_by").order_by("started_on", "id")


def case_letters(case: Case) -> QuerySet[Letter]:
    return (Letter.objects.filter(case=case).select_related("sent_by", "reply_recorded_by")
            .prefetch_related("flags").order_by("-sent_on", "-id"))


def latest_run(case: Case) -> MatchRun | None:
    """The last run that checked the case, finished or still waiting (its own request)."""
    return (MatchRun.objects.filter(Q(case=case) | Q(case__isnull=True, committee_id=case.committee_id,
                                                     started_at__gte=case.created_at))
            .order_by("-started_at", "-id").first())


def pending_override(case: Case) -> Override | None:
    return Override.objects.filter(case=case, used=False).select_related("by").order_by("-at", "-id").first()


def flag_get_for(user: User, pk: int) -> Flag:
    """A flag of a case the user sees, for a user who may see flags; NotFoundError otherwise."""
    if not user.has_perm("crosscheck.view_flag"):
        raise NotFoundError()
    flag = (Flag.objects.filter(pk=pk, case__in=cases_visible_to(user))
            .select_related("case", "case__worker", "case__committee", "claimed", "resolved_by").first())
    if flag is None:
        raise NotFoundError()
    return flag


def letter_get_for(user: User, pk: int) -> Letter:
    if not user.has_perm("crosscheck.view_flag"):
        raise NotFoundError()
    letter = Letter.objects.filter(pk=pk, case__in=cases_visible_to(user)).select_related("case").first()
    if letter is None:
        raise NotFoundError()
    return letter


def skipped_text(skipped: dict[str, list[str]] | None) -> list[str]:
    """Why rules did not run, once per missing kind of data ("no settlement data imported yet")."""
    kinds: list[str] = []
    for needs in (skipped or {}).values():
        for kind in needs:
            if kind not in kinds:
                kinds.append(kind)
    return [str(KIND_MISSING.get(kind, kind)) for kind in kinds]


# THE QUEUE AND THE STATISTICS --------------------------------------------------------------------

def flag_queue(user: User, *, rule: str = "", hospital: str = "") -> QuerySet[Case]:
    """Cases with unresolved flags, the oldest doubt first, with their count and risk score; one
    query. A rule or hospital keeps the cases that have such an unresolved flag."""
    if not user.has_perm("crosscheck.view_flag"):
        return Case.objects.none()
    qs = cases_visible_to(user)
    if rule:
        qs = qs.filter(Exists(Flag.objects.filter(case=OuterRef("pk"), state__in=UNRESOLVED, rule=rule)))
    if hospital:
        qs = qs.filter(Exists(Flag.objects.filter(case=OuterRef("pk"), state__in=UNRESOLVED,
                                                  hospital_name=hospital)))
    unresolved = Q(flags__state__in=UNRESOLVED)
    return (qs.annotate(open_flags=Count("flags", filter=unresolved),
                        risk=Coalesce(Sum("flags__weight", filter=unresolved), 0),
                        oldest=Min("flags__found_at", filter=unresolved))
            .filter(open_flags__gt=0)
            .select_related("worker")
            .order_by("oldest", "id"))


def queue_hospitals(user: User) -> list[str]:
    """The hospitals named by unresolved flags of the user's committee (the queue's filter)."""
    if not user.has_perm("crosscheck.view_flag"):
        return []
    return list(Flag.objects.filter(case__in=cases_visible_to(user), state__in=UNRESOLVED)
                .exclude(hospital_name="").order_by("hospital_name")
                .values_list("hospital_name", flat=True).distinct())


@dataclass
class Stats:
    date_from: dt.date
    date_to: dt.date
    totals: dict[str, int]
    by_rule: list[dict[str, Any]]
    by_hospital: list[dict[str, Any]]


STAT_COUNTS = ("found", "cases", "open", "letter_sent", "cleared", "confirmed")


def _stat_counts() -> dict[str, Any]:
    return {
        "found": Count("id"),
        "cases": Count("case_id", distinct=True),
        "open": Count("id", filter=_UNRESOLVED),
        "letter_sent": Count("id", filter=Q(state=Flag.State.LETTER_SENT)),
        "cleared": Count("id", filter=Q(state=Flag.State.CLEARED)),
        "confirmed": Count("id", filter=Q(state=Flag.State.CONFIRMED)),
    }


def flag_stats(user: User, date_from: dt.date, date_to: dt.date) -> Stats:
    """Flags found in the period (calendar dates, the committee's time zone), and what became of
    them: in total, by rule, by hospital. Three aggregate queries. ``open`` includes the flags
    waiting for a letter's reply (``letter_sent``)."""
    if not user.has_perm("crosscheck.view_flag") or not user.committee_id:
        flags = Flag.objects.none()
    else:
        start, end = local_day_bounds(date_from, date_to)
        flags = Flag.objects.filter(committee_id=user.committee_id, found_at__gte=start, found_at__lt=end)
    totals = flags.aggregate(**_stat_counts())
    by_rule = list(flags.values("rule").annotate(**_stat_counts()).order_by("-found", "rule"))
    by_hospital = list(flags.values("hospital_name").annotate(**_stat_counts()).order_by("-found", "hospital_name"))
    return Stats(date_from=date_from, date_to=date_to, totals=totals, by_rule=by_rule, by_hospital=by_hospital)


# TEXTS FROM THE EVIDENCE -------------------------------------------------------------------------

def _first(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return (items or [{}])[0]


def _period(start: Any, end: Any) -> str:
    return f"{start or '—'} – {end}" if end else str(start or "—")


def flag_short(flag: Flag) -> str:
    """The rule and where: "claimed stay with no settlement record (聊城市人民医院)"."""
    label = str(flag.get_rule_display())
    return f"{label} ({flag.hospital_name})" if flag.hospital_name else label


def flag_explanation(flag: Flag) -> str:
    """One sentence saying what the evidence shows."""
    ev = flag.evidence or {}
    claim, row = _first(ev.get("claimed")), _first(ev.get("partner"))
    hospital = claim.get("hospital_name") or flag.hospital_name
    tol = ev.get("tolerance_days", 0)
    if flag.rule == Flag.Rule.NO_SETTLEMENT:
        return _("No settlement record of a stay at %(hospital)s around %(period)s (dates within %(tol)s days).") % {
            "hospital": hospital, "period": _period(claim.get("started_on"), claim.get("ended_on")), "tol": tol}
    if flag.rule == Flag.Rule.DATES_DISAGREE:
        return _("The partner's record of the stay at %(hospital)s says %(partner)s; the application says "
                 "%(claimed)s (more than %(tol)s days apart).") % {
            "hospital": hospital, "partner": _period(row.get("admitted_on"), row.get("discharged_on")),
            "claimed": _period(claim.get("started_on"), claim.get("ended_on")), "tol": tol}
    if flag.rule == Flag.Rule.OTHER_BODY_SYSTEM:
        return _("The application's diagnosis %(code)s is in ICD-10 chapter %(chapter)s; the partner's records "
                 "of the same care are in chapter %(others)s.") % {
            "code": claim.get("icd10", ""), "chapter": ev.get("claimed_chapter", "—"),
            "others": "、".join(ev.get("partner_chapters") or []) or "—"}
    if flag.rule == Flag.Rule.NOT_LICENSED:
        values = {"hospital": hospital, "date": claim.get("started_on", "—"),
                  "service": SERVICES.get(ev.get("service", ""), ev.get("service", ""))}
        if ev.get("reason") == "service_not_licensed":
            return _("%(hospital)s is licensed on %(date)s, but not for %(service)s.") % values
        return _("%(hospital)s is not in the licensed-hospital registry on %(date)s.") % values
    if flag.rule == Flag.Rule.PRE_EXISTING:
        rows = ev.get("partner") or []
        region = ev.get("region", "")
        region_label = (REGIONS.get(region) or
                        (_("ICD-10 chapter %(chapter)s") % {"chapter": region.split(":", 1)[-1]}
                         if region.startswith("chapter:") else region))
        return ngettext(
            "%(n)d record of treatment of the same body region (%(region)s) before the injury on %(date)s.",
            "%(n)d records of treatment of the same body region (%(region)s) before the injury on %(date)s.",
            len(rows)) % {"n": len(rows), "region": region_label, "date": ev.get("injury_date", "—")}
    if flag.rule == Flag.Rule.OVERLAPPING_STAYS:
        claims = ev.get("claimed") or []
        other = row or (claims[1] if len(claims) > 1 else {})
        return _("The stay at %(hospital)s overlaps a stay at %(other)s from %(start)s to %(end)s.") % {
            "hospital": hospital, "other": other.get("hospital_name", "—"),
            "start": ev.get("overlap_from", "—"), "end": ev.get("overlap_until", "—")}
    return str(flag.get_rule_display())


def _question(flag: Flag) -> str:
    ev = flag.evidence or {}
    claim, row = _first(ev.get("claimed")), _first(ev.get("partner"))
    values = {"hospital": claim.get("hospital_name") or flag.hospital_name,
              "claimed": _period(claim.get("started_on"), claim.get("ended_on")),
              "record": claim.get("record_number") or "—"}
    if flag.rule == Flag.Rule.NO_SETTLEMENT:
        return _("Was the person in hospital at %(hospital)s during %(claimed)s (record number %(record)s)? "
                 "Please send the settlement record of that stay, or state that there is none.") % values
    if flag.rule == Flag.Rule.DATES_DISAGREE:
        return _("Your records show a stay at %(hospital)s during %(partner)s; the application claims %(claimed)s. "
                 "Please confirm the dates of admission and discharge.") % {
            **values, "partner": _period(row.get("admitted_on"), row.get("discharged_on"))}
    if flag.rule == Flag.Rule.OTHER_BODY_SYSTEM:
        return _("Please confirm the diagnosis of the care at %(hospital)s during %(claimed)s: the application "
                 "gives %(code)s %(diagnosis)s, your records %(partner)s.") % {
            **values, "code": claim.get("icd10", ""), "diagnosis": claim.get("diagnosis", ""),
            "partner": "、".join(f"{r.get('icd10') or ''} {r.get('diagnosis') or ''}".strip()
                                for r in (ev.get("partner") or [])[:3]) or "—"}
    if flag.rule == Flag.Rule.NOT_LICENSED:
        return _("Was %(hospital)s licensed for %(service)s on %(date)s?") % {
            **values, "service": SERVICES.get(ev.get("service", ""), ev.get("service", "")),
            "date": claim.get("started_on", "—")}
    if flag.rule == Flag.Rule.PRE_EXISTING:
        rows = ev.get("partner") or []
        listed = "；".join(f"{r.get('hospital_name') or ''} {_period(r.get('admitted_on'), r.get('discharged_on'))} "
                          f"{r.get('icd10') or ''} {r.get('diagnosis') or ''}".strip() for r in rows[:5])
        return _("Please send the records of the person's treatment before the injury on %(date)s (%(rows)s) "
                 "and state what it was for.") % {"date": ev.get("injury_date", "—"), "rows": listed or "—"}
    if flag.rule == Flag.Rule.OVERLAPPING_STAYS:
        claims = ev.get("claimed") or []
        other = row or (claims[1] if len(claims) > 1 else {})
        return _("The application claims a stay at %(hospital)s during %(claimed)s; a stay at %(other)s during "
                 "%(period)s is also recorded. Please confirm where the person was treated in that period.") % {
            **values, "other": other.get("hospital_name", "—"),
            "period": _period(other.get("admitted_on") or other.get("started_on"),
                              other.get("discharged_on") or other.get("ended_on"))}
    return flag_short(flag)


def letter_questions(flags: list[Flag]) -> str:
    """The numbered questions of a cross-check letter, one per flag, built from the evidence."""
    return "\n".join(f"{n}. {_question(flag)}" for n, flag in enumerate(flags, start=1))


def suggested_department(flags: list[Flag]) -> str:
    """Settlement questions go to the medical-insurance bureau, the others to the health commission."""
    kinds = {row.get("kind") for flag in flags for row in (flag.evidence or {}).get("partner") or []}
    if any(flag.rule == Flag.Rule.NO_SETTLEMENT for flag in flags) or kinds == {"settlement"}:
        return _("Medical Insurance Bureau")
    return _("Health Commission")


# STATISTICS (reports) ------------------------------------------------------------------------------

def flagged_case_ids(start: dt.datetime, end: dt.datetime, **match: Any) -> QuerySet:
    """Ids of cases with a flag found in ``[start, end)`` matching ``match`` (``rule=``, ``state=``)."""
    return Flag.objects.filter(found_at__gte=start, found_at__lt=end, **match).values("case_id")


def flag_counts(case_ids: QuerySet | None, start: dt.datetime, end: dt.datetime, field: str, *,
                committee_ids: list[int] | tuple[int, ...] | None = None) -> dict[str, int]:
    """Cases with a flag found in ``[start, end)``, by the flag's ``field`` (``rule`` or ``state``):
    of ``case_ids`` when given, else of the committees (a flag carries its case's committee). A
    case with two flags of one rule counts once for it."""
    flags = Flag.objects.filter(found_at__gte=start, found_at__lt=end)
    if case_ids is not None:
        flags = flags.filter(case_id__in=case_ids)
    if committee_ids is not None:
        flags = flags.filter(committee_id__in=list(committee_ids))
    rows = flags.order_by().values_list(field).annotate(n=Count("case_id", distinct=True))
    return dict(rows)


FLAG_RULES = Flag.Rule
FLAG_STATES = Flag.State
