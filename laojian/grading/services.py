"""Writes for grading: opinions (draft, save, sign, correct), the panel's agreement, the conclusion.

Every function checks who may do it, runs in one transaction and writes the audit trail. A signed
opinion never changes; when every panel member has signed, ``panel_evaluate`` either drafts the
conclusion or sends the case to collective discussion, never averaging.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.selectors import case_for_update, case_get_for
from laojian.core import audit
from laojian.core.errors import ApplicationError, PermissionDeniedError, ValidationFailed
from laojian.grading import guards, rules
from laojian.grading import selectors as sel
from laojian.grading.models import Conclusion, Finding, Item, Opinion

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User

OPINION_STATES = frozenset({Status.EXAMINED, Status.DIFFICULT})
ICD10 = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")


class GradingRefused(ApplicationError):
    code = "grading_refused"


@dataclass
class OpinionInput:
    """What an expert writes; the grade of each item comes from its clause, never from the form."""

    findings: list[tuple[str, str]] = field(default_factory=list)  # (body part, findings)
    items: list[tuple[str, str]] = field(default_factory=list)  # (injury, clause number)
    care_needs: list[str] = field(default_factory=list)
    medical_dependency: str = rules.MedicalDependency.NONE
    pre_existing: str = ""
    grade: int | None = None  # the grade the expert confirms; None: take the computed one
    no_promotion: bool = False  # keep the unraised grade where the standard lets the panel decide
    months: int | None = None
    prior_months: int = 0
    diagnoses: list[str] = field(default_factory=list)
    complication: bool = False
    period_reasons: str = ""
    basis: str = ""


# OPINIONS -----------------------------------------------------------------------------------------

def _own_draft(opinion_id: int, actor: User) -> Opinion:
    opinion = Opinion.objects.select_for_update().select_related("case", "case__committee", "edition").filter(
        pk=opinion_id).first()
    if opinion is None or opinion.author_id != actor.pk:
        raise PermissionDeniedError(_("Only the expert who wrote an opinion can change or sign it."))
    if opinion.signed:
        raise GradingRefused(_("This opinion is already signed; a signed opinion cannot change."), code="signed")
    return opinion


def _check_can_write(case: Case, actor: User, *, second: bool | None = None) -> bool:
    """Who may write an opinion on the case now; returns whether it is a second opinion.

    A first-panel expert writes while the case is examined or difficult; a second-opinion expert
    (``second``; worked out from the actor's seat when ``None``) only while it is difficult. Whoever
    accepted the case or did its preliminary review gives no opinion on it (separation of duties).
    """
    if not actor.has_perm("grading.write_opinion"):
        raise PermissionDeniedError(_("Only panel experts write appraisal opinions."))
    on_first = sel.sits_on_panel(case, actor)
    if second is None:
        second = not on_first and sel.sits_on_second_panel(case, actor)
    if not (sel.sits_on_second_panel(case, actor) if second else on_first):
        raise PermissionDeniedError(_("You are not on this case's expert panel, so you cannot give an opinion."))
    if case.accepted_by_id == actor.pk:
        raise PermissionDeniedError(_("You accepted this case, so you cannot give an opinion on it."))
    if case.reviewed_by_id == actor.pk:
        raise PermissionDeniedError(_("You did this case's preliminary review, so you cannot give an opinion on it."))
    if second and case.status != Status.DIFFICULT:
        raise GradingRefused(_("A second opinion is written while the case is difficult; the case is "
                               "“%(status)s”.") % {"status": case.get_status_display()}, code="opinion_closed")
    if not second and case.status not in OPINION_STATES:
        raise GradingRefused(_("Opinions are written after the examination is recorded and before the "
                               "conclusion; the case is “%(status)s”.") % {"status": case.get_status_display()},
                             code="opinion_closed")
    return second


def opinion_start(case_id: int, *, actor: User) -> Opinion:
    """Open the expert's draft opinion on a case (the existing draft if there is one)."""
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        second = _check_can_write(case, actor)
        latest = Opinion.objects.filter(case=case, author=actor).order_by("-version").first()
        if latest and not latest.signed:
            return latest
        if latest:
            raise GradingRefused(_("You have signed your opinion; to change it, write a corrected version."),
                                 code="already_signed")
        opinion = Opinion.objects.create(case=case, author=actor, edition=sel.current_edition(),
                                         second_opinion=second)
        audit.record("opinion.start", actor=actor, obj=opinion, committee=case.committee,
                     after={"case_id": case.pk, "version": 1, "second_opinion": second})
    return opinion


def _validate(opinion: Opinion, data: OpinionInput) -> dict[str, Any]:
    """Check an opinion's content against the standard and the committee's limits; return the
    derived fields (items with their clauses, care level, grades, period verdict)."""
    case = opinion.case
    numbers = [number.strip() for _injury, number in data.items]
    found = sel.clauses_by_number(opinion.edition, numbers)
    items = []
    for injury, number in zip((i.strip() for i, _n in data.items), numbers, strict=True):
        if number not in found:
            raise ValidationFailed(_("Clause %(clause)s does not exist in %(edition)s.")
                                   % {"clause": number or "—", "edition": opinion.edition.code},
                                   extra={"fields": {"items": [number]}})
        if not injury:
            raise ValidationFailed(_("Name the injury that clause %(clause)s grades.") % {"clause": number})
        items.append((injury, found[number]))
    try:
        care = rules.care_level(data.care_needs)
    except ValueError:
        raise ValidationFailed(_("Choose the activities from the five listed.")) from None
    if data.medical_dependency not in rules.MedicalDependency.values:
        raise ValidationFailed(_("Choose the medical dependency from the list."))
    review = case.case_type == "review"
    combo = rules.combine([c.grade for _i, c in items], pre_existing=bool(data.pre_existing.strip()), review=review)
    grade = combo.grade
    if data.no_promotion and combo.promoted:
        grade = combo.base
    if data.grade is not None and data.grade != grade:
        if data.grade not in combo.allowed:
            raise ValidationFailed(
                _("Grade %(grade)s contradicts the clauses chosen: they give %(computed)s.")
                % {"grade": rules.grade_label(data.grade), "computed": combo.label}, code="grade_contradicts")
        grade = data.grade
    diagnoses = [d.strip().upper() for d in data.diagnoses if d.strip()]
    bad = [d for d in diagnoses if not ICD10.match(d)]
    if bad:
        raise ValidationFailed(_("“%(code)s” is not an ICD-10 code such as S62.0.") % {"code": bad[0]})
    derived: dict[str, Any] = {"items": items, "care_level": care, "computed_grade": combo.grade, "grade": grade,
                               "grade_reasons": list(combo.reasons), "diagnoses": diagnoses, "period_warnings": []}
    period = sel.PERIOD_TYPES.get(case.case_type)
    if period and data.months is not None:
        listed_periods = sel.leave_periods(diagnoses)
        check = rules.check_period(
            period[0], data.months, extension=period[1], prior_months=data.prior_months,
            listed=[listed_periods[d].max_months if d in listed_periods else None for d in diagnoses],
            complication=data.complication, limits=sel.rules_for(case.committee).limits())
        if check.errors:
            raise ValidationFailed(check.errors[0], code="period_beyond_maximum")
        derived["period_warnings"] = list(check.warnings)
        derived["grade_reasons"] = list(combo.reasons) if case.case_type in sel.GRADED_TYPES else []
        derived["grade_reasons"] += list(check.reasons)
    elif not period and data.months is not None:
        raise ValidationFailed(_("Months are recommended only in paid-leave and rehabilitation cases."))
    return derived


def opinion_save(opinion_id: int, data: OpinionInput, *, actor: User) -> Opinion:
    """Save the expert's draft; bad input is refused and the stored draft stays as it was."""
    with transaction.atomic():
        opinion = _own_draft(opinion_id, actor)
        _check_can_write(opinion.case, actor, second=opinion.second_opinion)
        derived = _validate(opinion, data)
        opinion.care_needs = sorted(set(data.care_needs))
        opinion.care_level = derived["care_level"]
        opinion.medical_dependency = data.medical_dependency
        opinion.pre_existing = data.pre_existing.strip()
        opinion.computed_grade = derived["computed_grade"]
        opinion.grade = derived["grade"]
        opinion.grade_reasons = derived["grade_reasons"]
        opinion.months = data.months
        opinion.prior_months = data.prior_months or 0
        opinion.diagnoses = derived["diagnoses"]
        opinion.complication = data.complication
        opinion.period_reasons = data.period_reasons.strip()
        opinion.period_warnings = derived["period_warnings"]
        opinion.basis = data.basis.strip()
        opinion.save()
        opinion.findings.all().delete()
        opinion.items.all().delete()
        Finding.objects.bulk_create(Finding(opinion=opinion, position=n, body_part=part.strip(), text=text.strip())
                                    for n, (part, text) in enumerate(data.findings) if text.strip())
        Item.objects.bulk_create(Item(opinion=opinion, position=n, injury=injury, clause=clause, grade=clause.grade)
                                 for n, (injury, clause) in enumerate(derived["items"]))
    return opinion


def _content(opinion: Opinion) -> dict[str, Any]:
    """What a signature covers, in a canonical form (a second opinion says so; the key is left out of
    first-panel opinions so that the signatures made before second opinions existed still verify)."""
    content = {
        "case": opinion.case_id, "author": opinion.author_id, "version": opinion.version,
        "edition": opinion.edition.code,
        "findings": [[f.body_part, f.text] for f in opinion.findings.order_by("position", "id")],
        "items": [[i.injury, i.clause.number, i.grade] for i in opinion.items.select_related("clause")
                  .order_by("position", "id")],
        "care_needs": sorted(opinion.care_needs), "care_level": opinion.care_level,
        "medical_dependency": opinion.medical_dependency, "pre_existing": opinion.pre_existing,
        "grade": opinion.grade, "months": opinion.months, "prior_months": opinion.prior_months,
        "diagnoses": opinion.diagnoses, "complication": opinion.complication,
        "period_reasons": opinion.period_reasons, "basis": opinion.basis,
        "signed_at": opinion.signed_at.isoformat() if opinion.signed_at else None,
    }
    if opinion.second_opinion:
        content["second_opinion"] = True
    return content


def signature_of(opinion: Opinion) -> str:
    return hashlib.sha256(json.dumps(_content(opinion), ensure_ascii=False, sort_keys=True).encode()).hexdigest()


# What a correction compares, in the order its changes are listed (the opinion page labels them).
CHANGE_FIELDS = ("findings", "items", "care_needs", "care_level", "medical_dependency", "pre_existing", "grade",
                 "months", "prior_months", "diagnoses", "complication", "period_reasons", "basis")


def _changes(old: Opinion, new: Opinion) -> list[dict[str, Any]]:
    """What a corrected version changed, field by field, for the reader of both."""
    before, after = _content(old), _content(new)
    return [{"field": key, "before": before[key], "after": after[key]} for key in CHANGE_FIELDS
            if before[key] != after[key]]


def _require_complete(opinion: Opinion) -> None:
    case = opinion.case
    if case.case_type in sel.PERIOD_TYPES and opinion.months is None:
        raise ValidationFailed(_("Recommend the months before signing."), code="months_missing")
    if opinion.period_warnings and not opinion.period_reasons:
        raise ValidationFailed(_("The months exceed the catalogue: say why before signing."),
                               code="period_reason_missing")
    if not opinion.basis:
        raise ValidationFailed(_("Write the basis of your opinion before signing."), code="basis_missing")


def opinion_sign(opinion_id: int, *, actor: User, password: str, ip_address: str = "") -> Opinion:
    """Sign a draft opinion; the expert re-enters their password. A signed opinion never changes."""
    with transaction.atomic():
        opinion = _own_draft(opinion_id, actor)
        case = case_for_update(actor, opinion.case_id)
        _check_can_write(case, actor, second=opinion.second_opinion)
        if not password or not actor.check_password(password):
            raise GradingRefused(_("The password is not correct; the opinion was not signed."), code="bad_password")
        _require_complete(opinion)
        opinion.state = Opinion.State.SIGNED
        opinion.signed_at = timezone.now()
        if opinion.supersedes_id:
            opinion.changes = _changes(opinion.supersedes, opinion)
        opinion.signature = signature_of(opinion)
        opinion.save()
        audit.record("opinion.sign", actor=actor, obj=opinion, committee=case.committee, ip_address=ip_address,
                     after={"case_id": case.pk, "version": opinion.version, "signature": opinion.signature,
                            "grade": opinion.grade, "care_level": opinion.care_level, "months": opinion.months})
        if opinion.second_opinion:
            case_services.timeline_add(case.pk, "opinion_signed", actor=actor,
                                       data={"version": opinion.version, "grade": opinion.grade_label,
                                             "second_opinion": True})
            second_opinion_evaluate(case, actor=actor)
        else:
            case_services.timeline_add(case.pk, "opinion_signed", actor=actor,
                                       data={"version": opinion.version, "grade": opinion.grade_label})
            panel_evaluate(case, actor=actor)
    return opinion


def opinion_correct(opinion_id: int, *, actor: User) -> Opinion:
    """Start a corrected version of a signed opinion: a new draft that copies it."""
    with transaction.atomic():
        old = Opinion.objects.select_related("case", "edition").filter(pk=opinion_id).first()
        if old is None or old.author_id != actor.pk:
            raise PermissionDeniedError(_("Only the expert who wrote an opinion can correct it."))
        case = case_for_update(actor, old.case_id)
        _check_can_write(case, actor, second=old.second_opinion)
        if not old.signed:
            raise GradingRefused(_("This opinion is still a draft: change it and sign it."), code="not_signed")
        if Opinion.objects.filter(case=case, author=actor, version__gt=old.version).exists():
            raise GradingRefused(_("A newer version of this opinion exists."), code="not_latest")
        if Conclusion.objects.filter(case=case, state=Conclusion.State.APPROVED).exists():
            raise GradingRefused(_("The conclusion is approved; opinions can no longer be corrected."),
                                 code="concluded")
        new = Opinion.objects.create(
            case=case, author=actor, version=old.version + 1, supersedes=old, edition=old.edition,
            second_opinion=old.second_opinion, care_needs=old.care_needs, care_level=old.care_level, medical_dependency=old.medical_dependency,
            pre_existing=old.pre_existing, grade=old.grade, computed_grade=old.computed_grade,
            grade_reasons=old.grade_reasons, months=old.months, prior_months=old.prior_months,
            diagnoses=old.diagnoses, complication=old.complication, period_reasons=old.period_reasons,
            period_warnings=old.period_warnings, basis=old.basis)
        Finding.objects.bulk_create(Finding(opinion=new, position=f.position, body_part=f.body_part, text=f.text)
                                    for f in old.findings.all())
        Item.objects.bulk_create(Item(opinion=new, position=i.position, injury=i.injury, clause_id=i.clause_id,
                                      grade=i.grade) for i in old.items.all())
        Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT).delete()
        audit.record("opinion.correct", actor=actor, obj=new, committee=case.committee,
                     after={"case_id": case.pk, "version": new.version, "corrects": old.pk})
    return new


# THE PANEL'S RESULT -------------------------------------------------------------------------------

def panel_evaluate(case: Case, *, actor: User) -> rules.Agreement | None:
    """When every (first) panel member has signed, draft the conclusion or send the case to discussion.

    Called inside the signing transaction; returns ``None`` while signatures are outstanding or a
    member is correcting their opinion. A case the reviewer marked difficult at the preliminary
    review goes to discussion even when the panel agrees, and nothing is drafted. A draft that a
    collective discussion or an adopted second opinion made stays: the committee decided it.
    """
    opinions = sel.panel_signed(case)
    if opinions is None:
        return None
    agreement = sel.panel_agreement_of(case, opinions)
    Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT, source=Conclusion.Source.PANEL).delete()
    if case.difficult_reason:
        marked = _("Marked difficult at the preliminary review: %(reason)s") % {"reason": case.difficult_reason}
        if case.status == Status.EXAMINED:
            case_services.transition(case.pk, "mark_difficult", actor=case_services.system_actor(case.committee),
                                     note=" ".join([marked, *agreement.reasons]),
                                     data={"reason": "preliminary_review"})
        elif not agreement.agrees:
            case_services.timeline_add(case.pk, "opinions_diverge", actor=actor, note=" ".join(agreement.reasons))
        return agreement
    if not agreement.agrees:
        if case.status == Status.EXAMINED:
            case_services.transition(case.pk, "mark_difficult", actor=case_services.system_actor(case.committee),
                                     note=" ".join(agreement.reasons), data={"reason": "divergence"})
        else:
            case_services.timeline_add(case.pk, "opinions_diverge", actor=actor, note=" ".join(agreement.reasons))
        return agreement
    if Conclusion.objects.filter(case=case).exists():
        return agreement
    _draft(case, opinions, agreement)
    return agreement


def second_opinion_evaluate(case: Case, *, actor: User) -> rules.PanelComparison | None:
    """When every second-opinion expert has signed, put on the timeline whether the second panel
    agrees and how its result compares with the first panel's. The status stays and nothing is
    drafted: a leader adopts the second opinion, or the collective discussion decides."""
    comparison = sel.second_opinion_comparison(case)
    if comparison is None:
        return None
    case_services.timeline_add(case.pk, "second_opinion_signed", actor=actor, note=comparison.summary,
                               data={"second_agrees": comparison.second.agrees, "same_as_first": comparison.same})
    return comparison


def _basis(case: Case, edition_code: str, clauses: list[str], grade: int | None, months: int | None) -> str:
    if case.case_type in sel.GRADED_TYPES:
        return _("Under %(edition)s, clauses %(clauses)s: %(grade)s.") % {
            "edition": edition_code, "clauses": "、".join(clauses) or "—", "grade": rules.grade_label(grade)}
    return _("The panel recommends %(months)s months.") % {"months": months}


def _draft(case: Case, opinions: list[Opinion], agreement: rules.Agreement, *,
           source: str = Conclusion.Source.PANEL, reasons: tuple[str, ...] = ()) -> Conclusion:
    taken = [o for o in opinions if o.grade == agreement.grade] or opinions
    clauses: dict[str, str] = {}
    for opinion in taken:
        for item in opinion.items.select_related("clause").order_by("position", "id"):
            clauses.setdefault(item.clause.number, item.clause.criterion)
    edition = taken[0].edition
    conclusion = Conclusion.objects.create(
        case=case, committee=case.committee, edition=edition, source=source,
        grade=agreement.grade if case.case_type in sel.GRADED_TYPES else None, care_level=agreement.care_level,
        medical_dependency=agreement.medical_dependency, months=agreement.months, clauses=list(clauses),
        basis=_basis(case, edition.code, list(clauses), agreement.grade, agreement.months),
        reasons=[*reasons, *agreement.reasons])
    conclusion.opinions.set(opinions)
    if source == Conclusion.Source.PANEL:
        case_services.timeline_add(case.pk, "conclusion_drafted", actor=None, note=" ".join(agreement.reasons))
    return conclusion


def conclusion_adopt_second_opinion(case_id: int, *, actor: User, reason: str) -> Conclusion:
    """A leader drafts the conclusion from the second-opinion panel's agreeing opinions, replacing any
    draft. Refused while a second-opinion expert has not signed, and when the second panel does not
    agree: the collective discussion then decides. The leader still approves the draft."""
    reason = (reason or "").strip()
    if not actor.has_perm("cases.conclude_case"):
        raise PermissionDeniedError(_("Only a committee leader can adopt a second opinion."))
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        if case.status != Status.DIFFICULT:
            raise GradingRefused(_("A second opinion is adopted while the case is difficult; the case is "
                                   "“%(status)s”.") % {"status": case.get_status_display()}, code="not_difficult")
        if not sel.second_panel_user_ids(case):
            raise GradingRefused(_("No second-opinion panel sits on this case."), code="no_second_panel")
        opinions = sel.second_panel_signed(case)
        if opinions is None:
            raise GradingRefused(_("Not every second-opinion expert has signed their opinion yet."),
                                 code="second_opinion_unsigned")
        agreement = sel.panel_agreement_of(case, opinions)
        if not agreement.agrees:
            raise GradingRefused(_("The second-opinion panel's opinions do not agree, so there is nothing to adopt: "
                                   "the collective discussion decides the case. %(reasons)s")
                                 % {"reasons": " ".join(agreement.reasons)}, code="second_opinion_diverges")
        if not reason:
            raise ValidationFailed(_("Say why the second opinion is adopted."), code="reason_required")
        Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT).delete()
        conclusion = _draft(case, opinions, agreement, source=Conclusion.Source.SECOND_OPINION,
                            reasons=(_("The second-opinion panel's opinions, adopted by %(leader)s: %(reason)s")
                                     % {"leader": actor, "reason": reason},))
        case_services.timeline_add(case.pk, "second_opinion_adopted", actor=actor, note=reason,
                                   data={"conclusion_id": conclusion.pk})
        audit.record("conclusion.adopt_second_opinion", actor=actor, obj=conclusion, committee=case.committee,
                     after={"case_id": case.pk, "grade": conclusion.grade, "care_level": conclusion.care_level,
                            "months": conclusion.months, "clauses": conclusion.clauses, "reason": reason})
    return conclusion


def conclusion_approve(case_id: int, *, actor: User, basis: str | None = None, expected_version: int | None = None,
                       ip_address: str = "") -> Conclusion:
    """The leader approves the drafted conclusion: the case concludes, the conclusion is numbered."""
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        conclusion = Conclusion.objects.select_for_update().filter(case=case).first()
        if conclusion is None:
            raise GradingRefused(_("There is no drafted conclusion: it is drafted from the panel's signed "
                                   "opinions when they agree."), code="no_conclusion")
        if conclusion.state == Conclusion.State.APPROVED:
            raise GradingRefused(_("This conclusion is already approved."), code="already_approved")
        with guards.approving(conclusion.pk):
            case = case_services.transition(case.pk, "conclude", actor=actor, data={"conclusion_id": conclusion.pk},
                                            expected_version=expected_version, ip_address=ip_address)
        if basis is not None and basis.strip():
            conclusion.basis = basis.strip()
        year = case.concluded_on.year
        conclusion.number = case.committee.format_conclusion_number(
            year, case_services.next_seq(case.committee, year, kind="conclusion"))
        conclusion.state = Conclusion.State.APPROVED
        conclusion.approved_by = actor
        conclusion.approved_at = timezone.now()
        conclusion.save()
        audit.record("conclusion.approve", actor=actor, obj=conclusion, committee=case.committee,
                     ip_address=ip_address,
                     after={"case_id": case.pk, "number": conclusion.number, "grade": conclusion.grade,
                            "care_level": conclusion.care_level, "months": conclusion.months,
                            "edition": conclusion.edition.code, "clauses": conclusion.clauses})
    return conclusion


def extension_request(case_id: int, *, actor: User, reason: str) -> None:
    """Ask the leader for the statutory extension (+30 days) of a complex case, with the reason."""
    reason = (reason or "").strip()
    if not actor.has_perm("grading.request_extension"):
        raise PermissionDeniedError()
    case = case_get_for(actor, case_id)
    if case.status not in {Status.ACCEPTED, Status.REVIEWED, Status.SCHEDULED, Status.EXAMINED, Status.DIFFICULT}:
        raise GradingRefused(_("An extension can be asked for only before the conclusion."), code="closed")
    if case.extension_days:
        raise GradingRefused(_("This case has already been extended once; the law allows only one extension."),
                             code="extension_already_granted")
    if not reason:
        raise ValidationFailed(_("Say why the case needs more time."), code="reason_required")
    with transaction.atomic():
        case_services.timeline_add(case.pk, "extension_requested", actor=actor, note=reason)
        audit.record("case.extension_request", actor=actor, obj=case, committee=case.committee,
                     after={"reason": reason})


@dataclass(frozen=True)
class PaperConclusion:
    """A conclusion signed on paper before the committee used Laojian, as its file records it."""

    clauses: list[str]
    grade: int | None = None
    care_level: str = rules.CareLevel.NONE
    medical_dependency: str = rules.MedicalDependency.NONE
    months: int | None = None
    basis: str = ""


def conclusion_from_paper(case_id: int, paper: PaperConclusion, *, actor: User, today=None, at=None) -> Conclusion:
    """Enter a past, paper-signed conclusion (batch loaders only: the demo city, imports of paper
    files; no page offers it). The grade must follow from the clauses; the leader still approves
    it through the workflow, and the audit trail says it came from paper."""
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        edition = sel.current_edition()
        found = sel.clauses_by_number(edition, paper.clauses)
        unknown = [c for c in paper.clauses if c not in found]
        if unknown:
            raise ValidationFailed(_("Clause %(clause)s does not exist in %(edition)s.")
                                   % {"clause": unknown[0], "edition": edition.code})
        if case.case_type in sel.GRADED_TYPES:
            combo = rules.combine([found[c].grade for c in paper.clauses])
            if paper.grade not in combo.allowed:
                raise ValidationFailed(_("Grade %(grade)s contradicts the clauses chosen: they give %(computed)s.")
                                       % {"grade": rules.grade_label(paper.grade), "computed": combo.label})
        Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT).delete()
        conclusion = Conclusion.objects.create(
            case=case, committee=case.committee, edition=edition, source=Conclusion.Source.PAPER,
            grade=paper.grade, care_level=paper.care_level, medical_dependency=paper.medical_dependency,
            months=paper.months, clauses=list(paper.clauses), basis=paper.basis,
            reasons=[_("Entered from the paper file.")])
        with guards.approving(conclusion.pk):
            case = case_services.transition(case.pk, "conclude", actor=actor, data={"conclusion_id": conclusion.pk},
                                            today=today, at=at)
        year = case.concluded_on.year
        conclusion.number = case.committee.format_conclusion_number(
            year, case_services.next_seq(case.committee, year, kind="conclusion"))
        conclusion.state = Conclusion.State.APPROVED
        conclusion.approved_by = actor
        conclusion.approved_at = at or timezone.now()
        conclusion.save()
        audit.record("conclusion.from_paper", actor=actor, obj=conclusion, committee=case.committee,
                     after={"case_id": case.pk, "number": conclusion.number, "grade": conclusion.grade,
                            "edition": edition.code, "clauses": conclusion.clauses})
    return conclusion


# THE COLLECTIVE DISCUSSION'S CONCLUSION -----------------------------------------------------------

DISCUSSION_STATES = frozenset({Status.DIFFICULT, Status.EXAMINED})


@dataclass(frozen=True)
class DiscussionConclusion(PaperConclusion):
    """What a collective discussion (集体讨论) decided for a case, as its minutes record it: the
    same values as a paper conclusion, and the meeting it was decided in."""

    reference: str = ""  # e.g. "集体讨论 2026-11-28（第3号）"


def _prior_months(case: Case) -> int:
    """The months already granted, as the panels' signed opinions state them (most often given)."""
    values = [o.prior_months for o in [*sel.signed_opinions(case).values(), *sel.second_opinions(case).values()]]
    return max(set(values), key=values.count) if values else 0


def check_discussion_conclusion(case: Case, decision: DiscussionConclusion) -> None:
    """Check a discussion's decision against the standard like an opinion is checked: the clauses
    exist in the current edition, the grade is one the clauses allow (4.2), a paid-leave or rehab
    case has months within the law (the months already granted as the opinions give them), the
    care and medical dependency are among the choices. Raises ``ValidationFailed``."""
    edition = sel.current_edition()
    numbers = [c.strip() for c in decision.clauses if c and c.strip()]
    found = sel.clauses_by_number(edition, numbers)
    unknown = [n for n in numbers if n not in found]
    if unknown:
        raise ValidationFailed(_("Clause %(clause)s does not exist in %(edition)s.")
                               % {"clause": unknown[0], "edition": edition.code}, code="unknown_clause")
    if decision.care_level not in rules.CareLevel.values:
        raise ValidationFailed(_("Choose the care dependency from the list."), code="invalid_care_level")
    if decision.medical_dependency not in rules.MedicalDependency.values:
        raise ValidationFailed(_("Choose the medical dependency from the list."), code="invalid_medical_dependency")
    if case.case_type in sel.GRADED_TYPES:
        combo = rules.combine([found[n].grade for n in numbers], review=case.case_type == "review")
        if decision.grade not in combo.allowed:
            raise ValidationFailed(_("Grade %(grade)s contradicts the clauses chosen: they give %(computed)s.")
                                   % {"grade": rules.grade_label(decision.grade), "computed": combo.label},
                                   code="grade_contradicts")
    elif decision.grade is not None:
        raise ValidationFailed(_("A paid-leave or rehabilitation case has no grade."), code="grade_not_graded")
    period = sel.PERIOD_TYPES.get(case.case_type)
    if period:
        check = rules.check_period(period[0], decision.months, extension=period[1], prior_months=_prior_months(case),
                                   limits=sel.rules_for(case.committee).limits())
        if check.errors:
            raise ValidationFailed(check.errors[0], code="period_beyond_maximum")
    elif decision.months is not None:
        raise ValidationFailed(_("Months are recommended only in paid-leave and rehabilitation cases."),
                               code="months_not_period")


def conclusion_from_discussion(case_id: int, decision: DiscussionConclusion, *, actor: User) -> Conclusion:
    """Draft the conclusion a collective discussion decided (replacing any draft); the leader then
    approves it with ``conclusion_approve``. The draft rests on the signed opinions the discussion
    had before it (both panels'), and its reasons name the discussion."""
    if not actor.has_perm("cases.conclude_case"):
        raise PermissionDeniedError(_("Only a committee leader records the conclusion a collective discussion "
                                      "decided."))
    with transaction.atomic():
        case = case_for_update(actor, case_id)
        if case.status not in DISCUSSION_STATES:
            raise GradingRefused(_("A collective discussion decides a case before its conclusion; the case is "
                                   "“%(status)s”.") % {"status": case.get_status_display()}, code="not_difficult")
        if Conclusion.objects.filter(case=case, state=Conclusion.State.APPROVED).exists():
            raise GradingRefused(_("This conclusion is already approved."), code="already_approved")
        check_discussion_conclusion(case, decision)
        edition = sel.current_edition()
        clauses = [c.strip() for c in decision.clauses if c and c.strip()]
        reference = decision.reference.strip()
        reasons = [_("Decided by the collective discussion (%(reference)s).") % {"reference": reference}
                   if reference else _("Decided by the collective discussion.")]
        Conclusion.objects.filter(case=case, state=Conclusion.State.DRAFT).delete()
        conclusion = Conclusion.objects.create(
            case=case, committee=case.committee, edition=edition, source=Conclusion.Source.DISCUSSION,
            grade=decision.grade, care_level=decision.care_level, medical_dependency=decision.medical_dependency,
            months=decision.months, clauses=clauses,
            basis=decision.basis.strip() or (
                _basis(case, edition.code, clauses, decision.grade, None) if case.case_type in sel.GRADED_TYPES
                else _("The collective discussion decided %(months)s months.") % {"months": decision.months}),
            reasons=reasons)
        conclusion.opinions.set([*sel.signed_opinions(case).values(), *sel.second_opinions(case).values()])
        audit.record("conclusion.from_discussion", actor=actor, obj=conclusion, committee=case.committee,
                     after={"case_id": case.pk, "grade": conclusion.grade, "care_level": conclusion.care_level,
                            "medical_dependency": conclusion.medical_dependency, "months": conclusion.months,
                            "clauses": clauses, "reference": reference})
    return conclusion
