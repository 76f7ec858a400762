"""The grading rules of GB/T 16180-2014 and of the paid-leave and rehabilitation periods, as plain functions.

Nothing here touches the database: the services pass in the grades of the clauses an expert chose,
the five activities, the months asked for and the committee's limits, and get back a result with its
reasoning in words, so an expert (or ``laojian grading combine``) can check it by hand.

Where the standard leaves the decision to the panel (whether tied grades below the most severe one
promote), the rule computes and flags; it never decides silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

GRADES = range(1, 11)  # 1 is the most severe, 10 the least


class CareLevel(models.TextChoices):
    """生活自理障碍: how many of the five activities need another person's help."""

    NONE = "none", _("no care dependency")
    PARTIAL = "partial", _("partial care dependency")
    MOST = "most", _("most care dependency")
    COMPLETE = "complete", _("complete care dependency")


class Activity(models.TextChoices):
    """The five activities of daily living of GB/T 16180-2014, 4.1.5."""

    EATING = "eating", _("eating")
    TURNING = "turning", _("turning over in bed")
    TOILETING = "toileting", _("bladder and bowel")
    DRESSING = "dressing", _("dressing and washing")
    MOVING = "moving", _("moving about")


class MedicalDependency(models.TextChoices):
    """医疗依赖 (4.1.4): after grading, the worker still cannot do without treatment."""

    NONE = "none", _("no medical dependency")
    GENERAL = "general", _("general medical dependency")
    SPECIAL = "special", _("special medical dependency")


def care_level(needs_help: Iterable[str]) -> str:
    """The care level from the activities that need help: all five complete, 3–4 most, 1–2 partial."""
    needs = set(needs_help)
    unknown = needs - set(Activity.values)
    if unknown:
        raise ValueError(f"unknown activities: {sorted(unknown)}")
    count = len(needs)
    if count == 5:
        return CareLevel.COMPLETE
    if count >= 3:
        return CareLevel.MOST
    if count >= 1:
        return CareLevel.PARTIAL
    return CareLevel.NONE


def grade_label(grade: int | None) -> str:
    """How a grade is written on an opinion and a conclusion (``7级``, ``未达到伤残等级``)."""
    return "未达到伤残等级" if grade is None else f"{grade}级"


# SEVERAL INJURIES (晋级原则, 4.2) ----------------------------------------------------------------------

@dataclass(frozen=True)
class Combination:
    """The overall grade of an opinion's items and why.

    ``grade`` applies the rule: the most severe grade, raised by one when two or more items share it.
    ``allowed`` are the grades a panel may confirm: ``grade`` and, where the standard leaves it to
    the experts, one other (the unraised grade, or a rise from tied lower grades).
    """

    grade: int | None
    base: int | None
    promoted: bool
    advisory: bool
    allowed: tuple[int | None, ...]
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return grade_label(self.grade)


def combine(grades: Sequence[int], *, pre_existing: bool = False, review: bool = False) -> Combination:
    """Combine the grades of several injuries (GB/T 16180-2014, 4.2), explaining each step.

    - no item: 未达到伤残等级;
    - the most severe grade is the result (以重者定级);
    - two or more items at that grade: rise by one grade, at most one, never above grade 1; the
      panel confirms (it may keep the unraised grade);
    - two or more items tied at a lower grade only: advisory, the panel decides whether they raise
      the result by one; the computed grade stays the most severe one.
    """
    grades = list(grades)
    bad = [g for g in grades if g not in GRADES]
    if bad:
        raise ValueError(f"grades must be 1 to 10, got {bad}")
    reasons: list[str] = []
    if not grades:
        reasons.append(gettext("No clause applies: below every grade (未达到伤残等级)."))
        return Combination(None, None, False, False, (None,), tuple(reasons + _pre_existing(pre_existing, review)))
    counts = Counter(grades)
    base = min(grades)
    listing = "、".join(f"{g}级" for g in sorted(grades))
    if len(grades) == 1:
        reasons.append(gettext("One injury only, of grade %(grade)d: the result is grade %(grade)d.") % {"grade": base})
        return Combination(base, base, False, False, (base,), tuple(reasons + _pre_existing(pre_existing, review)))
    reasons.append(gettext("Each injury graded on its own: %(list)s; the most severe decides (4.2): grade %(grade)d.") % {"list": listing, "grade": base})
    if counts[base] >= 2 and base > 1:
        raised = base - 1
        reasons.append(gettext("%(n)d injuries share grade %(grade)d: the result rises by one grade, at most one, to grade %(raised)d; the panel confirms.") % {"n": counts[base], "grade": base, "raised": raised})
        return Combination(raised, base, True, False, (raised, base),
                           tuple(reasons + _pre_existing(pre_existing, review)))
    if counts[base] >= 2:
        reasons.append(gettext("%(n)d injuries share grade 1: grade 1 is the most severe, there is no higher grade.") % {"n": counts[base]})
        return Combination(base, base, False, False, (base,), tuple(reasons + _pre_existing(pre_existing, review)))
    tied_lower = sorted(g for g, n in counts.items() if g > base and n >= 2)
    if tied_lower and base > 1:
        tied = "、".join(f"{counts[g]}×{g}级" for g in tied_lower)
        reasons.append(gettext("Less severe injuries share a grade (%(tied)s): whether they raise the result is for "
                               "the panel to decide (advisory, not applied); a rise would give grade %(raised)d at "
                               "most.") % {"tied": tied, "raised": base - 1})
        return Combination(base, base, False, True, (base, base - 1),
                           tuple(reasons + _pre_existing(pre_existing, review)))
    reasons.append(gettext("No other injury shares grade %(grade)d: no rise.") % {"grade": base})
    return Combination(base, base, False, False, (base,), tuple(reasons + _pre_existing(pre_existing, review)))


def _pre_existing(noted: bool, review: bool) -> list[str]:
    if not noted:
        return []
    if review:
        return [gettext("Pre-existing disability noted; rule 4.3 does not apply in a review appraisal.")]
    return [gettext("Pre-existing disability noted (4.3): if this injury worsened it, grade the actual outcome; "
                    "if this injury is lighter, grade this injury's outcome only.")]


# PERIODS (停工留薪期 and 康复期) --------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodLimits:
    """A committee's limits, in months. Statutory for paid leave (Regulation Art. 33); local for rehab."""

    leave_months: int = 12
    leave_extension_months: int = 12
    leave_total_months: int = 24
    complication_months: int = 2
    unlisted_months: int = 6
    rehab_months: int = 12
    rehab_extension_months: int = 12


@dataclass(frozen=True)
class PeriodCheck:
    """The verdict on months asked for: errors refuse the opinion, warnings need the expert's reason."""

    catalogue_months: int | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    reasons: tuple[str, ...]


def catalogue_months(listed: Sequence[int | None], *, complication: bool, limits: PeriodLimits) -> int | None:
    """The catalogue's maximum for a worker's injuries: the longest one (an injury not in the catalogue
    counts as the committee's ``unlisted_months``), plus ``complication_months`` for a complication."""
    if not listed:
        return None
    longest = max(limits.unlisted_months if m is None else m for m in listed)
    return longest + (limits.complication_months if complication else 0)


def check_period(kind: str, months: int | None, *, extension: bool, prior_months: int = 0,
                 listed: Sequence[int | None] = (), complication: bool = False,
                 limits: PeriodLimits | None = None) -> PeriodCheck:
    """Check the months an expert recommends for a paid-leave (``leave``) or rehab (``rehab``) case.

    Paid leave: at most ``leave_months`` first, an extension of at most ``leave_extension_months``,
    ``leave_total_months`` in all (``prior_months`` already granted count). Beyond the catalogue's
    maximum for the injuries is a warning (the expert gives the reason), beyond the law an error.
    """
    limits = limits or PeriodLimits()
    errors: list[str] = []
    warnings: list[str] = []
    reasons: list[str] = []
    if months is None:
        return PeriodCheck(None, (str(_("Give the number of months recommended.")),), (), ())
    if months < 1:
        errors.append(str(_("The months recommended must be at least 1.")))
    if prior_months < 0:
        errors.append(str(_("The months already granted cannot be negative.")))
    if kind == "leave":
        cap = limits.leave_extension_months if extension else limits.leave_months
        what = _("A paid-leave extension") if extension else _("A paid-leave period")
        if months > cap:
            errors.append(str(_("%(what)s can be at most %(cap)d months; %(months)d were recommended.")
                              % {"what": what, "cap": cap, "months": months}))
        if extension and prior_months + months > limits.leave_total_months:
            errors.append(str(_("Paid leave can be at most %(cap)d months in all: %(prior)d already granted "
                                "plus %(months)d recommended is %(total)d.")
                              % {"cap": limits.leave_total_months, "prior": prior_months, "months": months,
                                 "total": prior_months + months}))
    elif kind == "rehab":
        cap = limits.rehab_extension_months if extension else limits.rehab_months
        if months > cap:
            errors.append(str(_("A rehabilitation period can be at most %(cap)d months here; %(months)d were "
                                "recommended.") % {"cap": cap, "months": months}))
    else:
        raise ValueError(f"unknown period kind {kind!r}")
    maximum = catalogue_months(listed, complication=complication, limits=limits) if kind == "leave" else None
    if maximum is not None:
        parts = "、".join(str(limits.unlisted_months if m is None else m) for m in listed)
        reasons.append(gettext("Catalogue maximum: the longest of the injuries (%(parts)s months)%(extra)s, "
                               "%(max)d months in all.")
                       % {"parts": parts, "max": maximum,
                          "extra": gettext(", plus %(n)d for the complication") % {"n": limits.complication_months}
                          if complication else ""})
        total = months + (prior_months if extension else 0)
        if total > maximum:
            warnings.append(str(_("%(total)d months exceed the catalogue's %(max)d months for these injuries: "
                                  "say why in the reasons.") % {"total": total, "max": maximum}))
    return PeriodCheck(maximum, tuple(errors), tuple(warnings), tuple(reasons))


# PANEL AGREEMENT --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tolerance:
    grade_steps: int = 0
    care_must_match: bool = True
    months: int = 0


@dataclass(frozen=True)
class PanelOpinion:
    """What the agreement check compares of one signed opinion."""

    grade: int | None
    care_level: str
    medical_dependency: str
    months: int | None = None


@dataclass(frozen=True)
class Agreement:
    agrees: bool
    grade: int | None = None
    care_level: str = CareLevel.NONE
    medical_dependency: str = MedicalDependency.NONE
    months: int | None = None
    reasons: tuple[str, ...] = ()


def _spread(values: Sequence[int | None]) -> int | None:
    """Steps between the most and least severe; ``None`` when 'no grade' is mixed with a grade."""
    if any(v is None for v in values):
        return 0 if all(v is None for v in values) else None
    return max(values) - min(values)  # type: ignore[type-var]


def _majority(values: Sequence[object]) -> object | None:
    """The value more than half the panel gave, or ``None``: the panel must then discuss."""
    value, count = Counter(values).most_common(1)[0]
    return value if count * 2 > len(values) else _NO_MAJORITY


_NO_MAJORITY = object()
_FIELD_LABELS = {"grade": _("grade"), "care_level": _("care level"), "medical_dependency": _("medical dependency"),
                 "months": _("months")}


def panel_agreement(opinions: Sequence[PanelOpinion], tolerance: Tolerance) -> Agreement:
    """Do the panel's signed opinions agree closely enough to draft a conclusion?

    Within tolerance the draft takes the value more than half the experts gave and says so; beyond
    tolerance, or without such a majority, the case goes to collective discussion. Nothing is averaged.
    """
    if not opinions:
        raise ValueError("no opinions")
    reasons: list[str] = []
    diverges: list[str] = []
    n = len(opinions)
    grades = [o.grade for o in opinions]
    spread = _spread(grades)
    if spread is None:
        diverges.append(gettext("Some experts found no grade, others a grade."))
    elif spread > tolerance.grade_steps:
        diverges.append(gettext("Grades differ by %(spread)d, more than the %(allowed)d allowed: %(list)s.")
                        % {"spread": spread, "allowed": tolerance.grade_steps,
                           "list": "、".join(grade_label(g) for g in grades)})
    cares = [o.care_level for o in opinions]
    if tolerance.care_must_match and len(set(cares)) > 1:
        diverges.append(gettext("Care levels differ: %(list)s.") % {"list": "、".join(str(CareLevel(c).label) for c in cares)})
    deps = [o.medical_dependency for o in opinions]
    if len(set(deps)) > 1:
        diverges.append(gettext("Medical dependency differs: %(list)s.")
                        % {"list": "、".join(str(MedicalDependency(d).label) for d in deps)})
    months = [o.months for o in opinions]
    if any(m is not None for m in months):
        if any(m is None for m in months):
            diverges.append(gettext("Some experts recommended no period."))
        elif max(months) - min(months) > tolerance.months:  # type: ignore[type-var, operator]
            diverges.append(gettext("Recommended periods differ by more than the %(allowed)d months allowed: %(list)s.")
                            % {"allowed": tolerance.months, "list": "、".join(str(m) for m in months)})
    picked = {}
    if not diverges:
        for name, values in (("grade", grades), ("care_level", cares), ("medical_dependency", deps),
                             ("months", months)):
            value = _majority(values)
            if value is _NO_MAJORITY:
                diverges.append(gettext("The %(n)d opinions are within tolerance but no value has a majority (%(what)s).")
                                % {"n": n, "what": _FIELD_LABELS[name]})
                break
            picked[name] = value
            if len(set(values)) > 1:
                reasons.append(gettext("Within tolerance: the value most experts gave is taken (%(what)s: %(value)s).")
                               % {"what": _FIELD_LABELS[name], "value": grade_label(value) if name == "grade" else value})
    if diverges:
        return Agreement(False, reasons=tuple(diverges))
    reasons.insert(0, (gettext("The %(n)d signed opinions agree.") if not reasons
                       else gettext("The %(n)d signed opinions are within tolerance.")) % {"n": n})
    return Agreement(True, grade=picked["grade"], care_level=picked["care_level"],  # type: ignore[arg-type]
                     medical_dependency=picked["medical_dependency"], months=picked["months"],  # type: ignore
                     reasons=tuple(reasons))


# TWO PANELS -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparedValue:
    """One result the two panels are compared on, as a reader sees it."""

    name: str
    label: str
    first: str
    second: str
    differs: bool


@dataclass(frozen=True)
class PanelComparison:
    """A second-opinion panel's result next to the first panel's, and the differences in words."""

    first: Agreement | None  # None: the first panel has no signed opinion to compare
    second: Agreement
    rows: tuple[ComparedValue, ...]
    summary: str

    @property
    def differences(self) -> tuple[ComparedValue, ...]:
        return tuple(row for row in self.rows if row.differs)

    @property
    def same(self) -> bool:
        """Both panels agree, and on the same result."""
        return bool(self.first and self.first.agrees and self.second.agrees and not self.differences)


def _value_text(name: str, value: object) -> str:
    if name == "grade":
        return grade_label(value)  # type: ignore[arg-type]
    if name == "care_level":
        return str(CareLevel(value).label)
    if name == "medical_dependency":
        return str(MedicalDependency(value).label)
    return "—" if value is None else str(value)


def _panel_text(name: str, opinions: Sequence[PanelOpinion], agreement: Agreement | None) -> str:
    """The panel's value when it agrees or every expert gave the same, else each expert's in turn."""
    if not opinions or agreement is None:
        return "—"
    if agreement.agrees:
        return _value_text(name, getattr(agreement, name))
    values = [getattr(o, name) for o in opinions]
    if len(set(values)) == 1:
        return _value_text(name, values[0])
    return "、".join(_value_text(name, v) for v in values)


def compare_panels(first: Sequence[PanelOpinion], second: Sequence[PanelOpinion], tolerance: Tolerance, *,
                   graded: bool = True, period: bool = False) -> PanelComparison:
    """Compare a second-opinion panel (专家复审) with the first panel: each panel's agreement under the
    committee's tolerance, then grade, care level, medical dependency and months side by side.

    It only describes: which panel the conclusion follows is for the leader or the collective
    discussion to decide."""
    second_agreement = panel_agreement(second, tolerance)
    first_agreement = panel_agreement(first, tolerance) if first else None
    names = [n for n, wanted in (("grade", graded), ("care_level", True), ("medical_dependency", True),
                                 ("months", period)) if wanted]
    rows = []
    for name in names:
        before, after = _panel_text(name, first, first_agreement), _panel_text(name, second, second_agreement)
        rows.append(ComparedValue(name, str(_FIELD_LABELS[name]), before, after, before != after))

    def result(agreement: Agreement) -> str:
        return "，".join(gettext("%(n)d months") % {"n": agreement.months} if n == "months" and agreement.months
                        is not None else _value_text(n, getattr(agreement, n)) for n in names)

    parts = []
    if second_agreement.agrees:
        parts.append(gettext("The second-opinion panel's %(n)d signed opinions agree: %(result)s.")
                     % {"n": len(second), "result": result(second_agreement)})
    else:
        parts.append(gettext("The second-opinion panel's %(n)d signed opinions do not agree: %(reasons)s")
                     % {"n": len(second), "reasons": " ".join(second_agreement.reasons)})
    if first_agreement is None:
        parts.append(gettext("The first panel has no signed opinion to compare."))
    elif first_agreement.agrees:
        parts.append(gettext("The first panel agreed: %(result)s.") % {"result": result(first_agreement)})
    else:
        parts.append(gettext("The first panel did not agree."))
    differences = [r for r in rows if r.differs]
    if first_agreement is not None and differences:
        parts.append(gettext("Differences: %(list)s.") % {"list": "；".join(
            gettext("%(what)s: first panel %(first)s, second-opinion panel %(second)s")
            % {"what": r.label, "first": r.first, "second": r.second} for r in differences)})
    elif first_agreement is not None:
        parts.append(gettext("The two panels came to the same result."))
    return PanelComparison(first_agreement, second_agreement, tuple(rows), " ".join(parts))
