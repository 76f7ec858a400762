"""Pages of grading: the clause catalogue, a case's grading page (the panel's progress, the drafted
conclusion and its approval, the extension), the expert's opinion editor and the opinion as signed.

Thin: selectors read, services write; an ``ApplicationError`` becomes a message (or an error on the
form, with everything typed kept) and a ``NotFoundError`` a 404.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.cases import services as case_services
from laojian.cases.models import Case, CaseType, Status
from laojian.cases.selectors import case_get_for
from laojian.cases.workflow import OPEN_BEFORE_CONCLUSION
from laojian.core import audit
from laojian.core.categories import Category
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.grading import forms, rules, selectors, services
from laojian.grading.models import Opinion

LOOKUP_LIMIT = 10
MORE_ROWS = 2
# The grading page is linked from the case page once the panel has examined the worker.
GRADING_STATES = frozenset({Status.EXAMINED, Status.DIFFICULT, Status.CONCLUDED, Status.DELIVERED, Status.ARCHIVED})
ITEM_CLAUSE = re.compile(r"^items-(\d+)-clause$")

# What a corrected version changed, by the keys services._changes writes.
CHANGE_LABELS: dict[str, Any] = {
    "findings": gettext_lazy("Findings"),
    "items": gettext_lazy("Graded injuries"),
    "care_needs": gettext_lazy("Activities needing help"),
    "care_level": gettext_lazy("Care dependency"),
    "medical_dependency": gettext_lazy("Medical dependency"),
    "pre_existing": gettext_lazy("Pre-existing disability"),
    "grade": gettext_lazy("Grade"),
    "months": gettext_lazy("Months recommended"),
    "prior_months": gettext_lazy("Months already granted"),
    "diagnoses": gettext_lazy("ICD-10 codes"),
    "complication": gettext_lazy("Infection or complication"),
    "period_reasons": gettext_lazy("Why these months"),
    "basis": gettext_lazy("Basis"),
}


def _reads_grading(user: Any) -> bool:
    return user.has_perm("grading.write_opinion") or user.has_perm("grading.view_panel_opinions")


def _case_or_404(request: HttpRequest, case_pk: int) -> Case:
    """The case, if the user works on grading and may see it; else 404."""
    if not _reads_grading(request.user):
        raise Http404(_("No such case, or it is not yours to see."))
    try:
        return case_get_for(request.user, case_pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None


def _opinion_or_404(request: HttpRequest, pk: int) -> Opinion:
    try:
        return selectors.opinion_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such opinion, or it is not yours to see.")) from None


def _own_draft_or_404(request: HttpRequest, pk: int) -> Opinion:
    """For the editor's little helpers: only the author of a draft uses them."""
    opinion = _opinion_or_404(request, pk)
    if opinion.author_id != request.user.pk or opinion.signed:
        raise Http404(_("No such opinion, or it is not yours to see."))
    return opinion


def _is_partial(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"))


def _case_page(case_pk: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("grading:case", args=[case_pk]))


# THE CATALOGUE ------------------------------------------------------------------------------------

@require_GET
@login_required
def clauses(request: HttpRequest) -> HttpResponse:
    """Search and browse the clauses of the current edition; an HTMX request gets the results only."""
    if not _reads_grading(request.user):
        raise PermissionDenied
    try:
        edition = selectors.current_edition()
    except NotFoundError as exc:
        return render(request, "grading/clauses.html", {"edition": None, "missing": exc.message}, status=503)
    form = forms.ClauseSearchForm(request.GET or None, body_parts=selectors.body_parts(edition))
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data  # the valid filters; an invalid one is shown with its error and ignored
        filters = {"q": (data.get("q") or "").strip(), "grade": data.get("grade"),
                   "category": data.get("category"), "body_part": data.get("body_part") or ""}
    found = selectors.clause_search(edition, **filters, limit=None)
    total = len(found)
    category_labels = dict(Category.choices)
    rows = [{"clause": c, "grade": rules.grade_label(c.grade),
             "categories": [category_labels.get(n, n) for n in c.category_list], "body_parts": c.body_part_list}
            for c in found[:selectors.SEARCH_LIMIT]]
    grade = filters.get("grade")
    context = {
        "edition": edition, "form": form, "rows": rows, "total": total, "limit": selectors.SEARCH_LIMIT,
        "more": total > selectors.SEARCH_LIMIT, "grade": grade, "grade_label": rules.grade_label(grade),
        "principle": selectors.principles(edition).get(grade) if grade else None,
    }
    template = "grading/_clause_results.html" if _is_partial(request) else "grading/clauses.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# A CASE'S GRADING PAGE ----------------------------------------------------------------------------

def _seat_rows(request: HttpRequest, seats: list[selectors.Seat], *, read_signed: bool) -> list[dict[str, Any]]:
    """Each panel seat with where it stands, and a link for who may follow it: whoever may read the
    panel's signed opinions (``read_signed``: staff, a second-opinion expert once allowed) sees every
    signed one; an expert their own."""
    rows = []
    for seat in seats:
        latest, signed = seat.latest, seat.signed
        if latest is None:
            state = _("not started")
        elif seat.correcting:
            state = _("correcting (signed version %(version)d)") % {"version": signed.version}
        elif latest.signed:
            state = _("signed, version %(version)d") % {"version": latest.version}
        else:
            state = _("draft")
        mine = seat.user.pk == request.user.pk
        link = None
        if mine and latest is not None:
            link = reverse("grading:opinion" if latest.signed else "grading:opinion_edit", args=[latest.pk])
        elif read_signed and signed is not None:
            link = reverse("grading:opinion", args=[signed.pk])
        rows.append({"seat": seat, "state": state, "signed": latest is not None and latest.signed,
                     "mine": mine, "link": link})
    return rows


def _side_by_side(first: list[selectors.Seat], second: list[selectors.Seat]) -> list[dict[str, Any]]:
    """The signed opinions of both panels, one row each, for reading them against each other."""
    return [{"panel": label, "opinion": seat.signed, "link": reverse("grading:opinion", args=[seat.signed.pk])}
            for label, seats in ((_("first panel"), first), (_("second-opinion panel"), second))
            for seat in seats if seat.signed is not None]


def _discussion_new_url() -> str:
    """The review app's page that convenes a collective discussion (a fixed path until it exists)."""
    try:
        return reverse("review:discussion_new")
    except NoReverseMatch:
        return "/review/discussions/new/"


@require_GET
@login_required
def difficult(request: HttpRequest) -> HttpResponse:
    """The leader's queue of difficult cases awaiting collective discussion."""
    if not (request.user.has_perm("cases.conclude_case") or request.user.has_perm("cases.mark_difficult")):
        raise PermissionDenied
    context: dict[str, Any] = {"rows": selectors.difficult_queue(request.user)}
    if request.user.has_perm("review.convene_discussion"):
        context["discussion_new_url"] = _discussion_new_url()
    return render(request, "grading/difficult.html", context)


@require_GET
@login_required
def case(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case_or_404(request, case_pk)
    user = request.user
    try:
        edition = selectors.current_edition()
    except NotFoundError:
        edition = None
    staff = user.has_perm("grading.view_panel_opinions")
    seats = selectors.panel_progress(case)
    second_seats = selectors.second_opinion_progress(case)
    on_first = any(s.user.pk == user.pk for s in seats)
    on_second = not on_first and any(s.user.pk == user.pk for s in second_seats)
    # Blind second opinion: nothing of the first panel until this expert has signed their own.
    blind = on_second and selectors.first_panel_hidden_from(case, user)
    signed_second = on_second and selectors.has_signed_second_opinion(case, user)
    mine = next((s for s in [*seats, *second_seats] if s.user.pk == user.pk), None)
    conclusion = selectors.conclusion_of(case)
    approved = conclusion is not None and conclusion.state == conclusion.State.APPROVED
    open_for_opinions = case.status == Status.DIFFICULT if on_second else case.status in services.OPINION_STATES
    may_write = mine is not None and user.has_perm("grading.write_opinion") and open_for_opinions
    both = staff or signed_second
    comparison = selectors.second_opinion_comparison(case) if both and second_seats else None
    extension = selectors.extension_request_of(case)
    extendable = case.status in OPEN_BEFORE_CONCLUSION and not case.extension_days
    context: dict[str, Any] = {
        "case": case,
        "edition": conclusion.edition if conclusion and not blind else edition,
        "blind": blind,
        # A second-opinion expert who may see the first panel may read its signed opinions.
        "seats": [] if blind else _seat_rows(request, seats, read_signed=staff or on_second),
        "second_seats": (_seat_rows(request, second_seats, read_signed=both)
                         if second_seats and (staff or on_second) else []),
        "mine": mine,
        "mine_second": on_second,
        "can_start": may_write and mine.latest is None,
        "can_continue": may_write and mine.latest is not None and not mine.latest.signed,
        "can_correct": may_write and mine.latest is not None and mine.latest.signed and not approved,
        "open_for_opinions": open_for_opinions,
        "graded": case.case_type in selectors.GRADED_TYPES,
        "period": case.case_type in selectors.PERIOD_TYPES,
        "divergence": selectors.divergence_of(case) if case.status == Status.DIFFICULT and not blind else None,
        "side_by_side": _side_by_side(seats, second_seats) if both and second_seats else [],
        "comparison": comparison,
        "earlier": selectors.earlier_comparison(case, include_current=not blind),
        "conclusion": None if blind else conclusion,
        "extension": extension,
        # A leader who may approve the extension grants it directly instead of asking for it.
        "can_request_extension": (extendable and extension is None and user.has_perm("grading.request_extension")
                                  and not user.has_perm("cases.approve_extension")),
        "can_approve_extension": extendable and user.has_perm("cases.approve_extension"),
    }
    if conclusion is not None and not blind:
        context["conclusion_clauses"] = [
            (number, getattr(clause, "criterion", ""), rules.grade_label(getattr(clause, "grade", None)))
            for number, clause in ((n, selectors.clauses_by_number(conclusion.edition, conclusion.clauses).get(n))
                                   for n in conclusion.clauses)
        ]
        if conclusion.state == conclusion.State.DRAFT and user.has_perm("cases.conclude_case"):
            context["approve_form"] = forms.ApproveForm(initial={"basis": conclusion.basis,
                                                                 "expected_version": case.version})
    if (comparison is not None and comparison.second.agrees and case.status == Status.DIFFICULT and not approved
            and user.has_perm("cases.conclude_case")):
        context["adopt_form"] = forms.AdoptSecondOpinionForm()
    if context["can_request_extension"]:
        context["extension_request_form"] = forms.ExtensionRequestForm()
    if context["can_approve_extension"]:
        context["extension_approve_form"] = forms.ExtensionApproveForm(
            initial={"note": extension.note if extension else "", "expected_version": case.version})
    return render(request, "grading/case.html", context)


@require_POST
@login_required
def opinion_start(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case_or_404(request, case_pk)
    try:
        opinion = services.opinion_start(case.pk, actor=request.user)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _case_page(case.pk)
    return HttpResponseSeeOther(reverse("grading:opinion_edit", args=[opinion.pk]))


@require_POST
@login_required
def opinion_correct(request: HttpRequest, pk: int) -> HttpResponse:
    opinion = _opinion_or_404(request, pk)
    try:
        new = services.opinion_correct(opinion.pk, actor=request.user)
    except NotFoundError:
        raise Http404(_("No such opinion, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _case_page(opinion.case_id)
    messages.info(request, _("Version %(version)d is a copy of your signed opinion: change it and sign it.")
                  % {"version": new.version})
    return HttpResponseSeeOther(reverse("grading:opinion_edit", args=[new.pk]))


@require_POST
@login_required
def conclusion_approve(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case_or_404(request, case_pk)
    form = forms.ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write the basis of the conclusion."))
        return _case_page(case.pk)
    try:
        conclusion = services.conclusion_approve(
            case.pk, actor=request.user, basis=form.cleaned_data["basis"],
            expected_version=form.cleaned_data["expected_version"], ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _case_page(case.pk)
    messages.success(request, _("The conclusion is approved: number %(number)s. The case is concluded.")
                     % {"number": conclusion.number})
    return _case_page(case.pk)


def _reason_step(request: HttpRequest, case_pk: int, form_class: Any, service: Any, done: str) -> HttpResponse:
    """A leader's or expert's one-field step on the case (a reason), then back to the case page."""
    case = _case_or_404(request, case_pk)
    form = form_class(request.POST)
    try:
        service(case.pk, actor=request.user, reason=form.cleaned_data["reason"] if form.is_valid() else "")
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _case_page(case.pk)


@require_POST
@login_required
def adopt_second_opinion(request: HttpRequest, case_pk: int) -> HttpResponse:
    return _reason_step(request, case_pk, forms.AdoptSecondOpinionForm, services.conclusion_adopt_second_opinion,
                        _("The conclusion is drafted from the second-opinion panel: approve it."))


@require_POST
@login_required
def extension_request(request: HttpRequest, case_pk: int) -> HttpResponse:
    return _reason_step(request, case_pk, forms.ExtensionRequestForm, services.extension_request,
                        _("The request for an extension was sent to the committee's leader."))


@require_POST
@login_required
def extension_approve(request: HttpRequest, case_pk: int) -> HttpResponse:
    case = _case_or_404(request, case_pk)
    form = forms.ExtensionApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the extension."))
        return _case_page(case.pk)
    try:
        updated = case_services.transition(
            case.pk, "approve_extension", actor=request.user, note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["expected_version"], ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _case_page(case.pk)
    messages.success(request, _("The extension is approved: %(days)d more days.") % {"days": updated.extension_days})
    return _case_page(case.pk)


# THE OPINION EDITOR -------------------------------------------------------------------------------

def _with_more_rows(data: QueryDict) -> QueryDict:
    """The posted form with ``MORE_ROWS`` more empty findings and item rows."""
    data = data.copy()
    for prefix in ("findings", "items"):
        key = f"{prefix}-TOTAL_FORMS"
        try:
            data[key] = str(int(data.get(key, "0")) + MORE_ROWS)
        except ValueError:
            data[key] = str(MORE_ROWS)
    return data


def _editor_forms(opinion: Opinion, data: QueryDict | None) -> tuple[Any, Any, forms.OpinionForm]:
    period = selectors.PERIOD_TYPES.get(opinion.case.case_type)
    if data is not None:
        return (forms.FindingFormSet(data, prefix="findings"), forms.ItemFormSet(data, prefix="items"),
                forms.OpinionForm(data, period=period))
    blank: list[dict[str, str]] = [{} for _n in range(MORE_ROWS)]
    findings = [{"body_part": f.body_part, "text": f.text} for f in opinion.findings.order_by("position", "id")]
    items = [{"injury": i.injury, "clause": i.clause.number} for i in selectors.opinion_items(opinion)]
    initial = {
        "care_needs": opinion.care_needs, "medical_dependency": opinion.medical_dependency,
        "pre_existing": opinion.pre_existing, "grade": opinion.grade, "months": opinion.months,
        "prior_months": opinion.prior_months, "diagnoses": ", ".join(opinion.diagnoses),
        "complication": opinion.complication, "period_reasons": opinion.period_reasons, "basis": opinion.basis,
    }
    return (forms.FindingFormSet(initial=findings + blank, prefix="findings"),
            forms.ItemFormSet(initial=items + blank, prefix="items"),
            forms.OpinionForm(initial=initial, period=period))


def _posted_clauses(data: QueryDict) -> list[str]:
    """The clause numbers of the item rows, in row order."""
    rows = sorted((int(m.group(1)), value) for key, value in data.items() if (m := ITEM_CLAUSE.match(key)))
    return [value.strip() for _n, value in rows if value.strip()]


def _opinion_input(opinion: Opinion, findings: Any, items: Any, form: forms.OpinionForm,
                   request: HttpRequest) -> services.OpinionInput:
    data = form.cleaned_data
    grade = data.get("grade")
    if grade is not None:
        # The grade choice belongs to the clauses on the page when it was shown; if the expert has
        # changed the clauses since, the choice no longer applies and the grade is recomputed.
        allowed = selectors.combine_preview(opinion.edition, _posted_clauses(request.POST)).combination.allowed
        if grade not in allowed:
            grade = None
            messages.info(request, _("The clauses changed, so the grade was computed again: check it."))
    return services.OpinionInput(
        findings=[(row["body_part"].strip(), row["text"].strip()) for row in findings.cleaned_data
                  if row.get("text", "").strip()],
        items=[(row.get("injury", "").strip(), row.get("clause", "").strip()) for row in items.cleaned_data
               if row.get("injury", "").strip() or row.get("clause", "").strip()],
        care_needs=list(data["care_needs"]),
        medical_dependency=data["medical_dependency"],
        pre_existing=data["pre_existing"],
        grade=grade,
        months=data.get("months"),
        prior_months=data.get("prior_months") or 0,
        diagnoses=data.get("diagnoses") or [],
        complication=data.get("complication", False),
        period_reasons=data.get("period_reasons", ""),
        basis=data["basis"],
    )


def _show_service_error(exc: ApplicationError, form: forms.OpinionForm, items: Any) -> None:
    """The refusal at the top of the form, and next to the clause rows it names."""
    form.add_error(None, exc.message)
    if exc.code == "bad_password":
        form.add_error("password", _("Enter your password again."))
    named = set((exc.extra.get("fields") or {}).get("items") or [])
    for row in items.forms:
        if named and row.data.get(row.add_prefix("clause"), "").strip() in named:
            row.add_error("clause", exc.message)


@require_http_methods(["GET", "POST"])
@login_required
def opinion_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The author's draft. "Save draft" and "Sign" run in one transaction: if signing is refused,
    the stored draft stays as it was and the page comes back with everything as typed."""
    opinion = _opinion_or_404(request, pk)
    if opinion.author_id != request.user.pk:
        messages.info(request, _("Only the expert who wrote an opinion can change it."))
        return HttpResponseSeeOther(reverse("grading:opinion", args=[opinion.pk]))
    if opinion.signed:
        messages.info(request, _("This opinion is signed and cannot change; to change it, write a corrected "
                                 "version from the case's grading page."))
        return HttpResponseSeeOther(reverse("grading:opinion", args=[opinion.pk]))

    if request.method == "POST" and "add_rows" in request.POST:
        findings, items, form = _editor_forms(opinion, _with_more_rows(request.POST))
    elif request.method == "POST":
        findings, items, form = _editor_forms(opinion, request.POST)
        if findings.is_valid() and items.is_valid() and form.is_valid():
            signing = "sign" in request.POST
            try:
                with transaction.atomic():
                    services.opinion_save(opinion.pk, _opinion_input(opinion, findings, items, form, request),
                                          actor=request.user)
                    if signing:
                        services.opinion_sign(opinion.pk, actor=request.user, password=form.cleaned_data["password"],
                                              ip_address=audit.client_ip(request))
            except NotFoundError:
                raise Http404(_("No such opinion, or it is not yours to see.")) from None
            except ApplicationError as exc:
                _show_service_error(exc, form, items)
            else:
                if signing:
                    messages.success(request, _("Your opinion is signed."))
                    return HttpResponseSeeOther(reverse("grading:opinion", args=[opinion.pk]))
                messages.success(request, _("The draft is saved."))
                return HttpResponseSeeOther(reverse("grading:opinion_edit", args=[opinion.pk]))
        else:
            form.add_error(None, _("Some of the information is not valid: see the marked fields."))
    else:
        findings, items, form = _editor_forms(opinion, None)

    saved_items = list(selectors.opinion_items(opinion))
    allowed = rules.combine([i.grade for i in saved_items]).allowed
    period = selectors.PERIOD_TYPES.get(opinion.case.case_type)
    chosen = form["grade"].value()
    context = {
        "opinion": opinion, "case": opinion.case, "findings": findings, "items": items, "form": form,
        "period": period,
        "grade_choices": [(g, rules.grade_label(g), str(g) == str(chosen)) for g in allowed] if len(allowed) > 1 else [],
        "computed_label": rules.grade_label(opinion.computed_grade),
        "show_grade": opinion.case.case_type in selectors.GRADED_TYPES or bool(saved_items),
    }
    return render(request, "grading/opinion_edit.html", context)


@require_POST
@login_required
def combine_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What the clauses now in the editor would combine to (nothing is saved)."""
    opinion = _own_draft_or_404(request, pk)
    preview = selectors.combine_preview(opinion.edition, _posted_clauses(request.POST),
                                        review=opinion.case.case_type == CaseType.REVIEW)
    return render(request, "grading/_combine_preview.html", {"preview": preview})


@require_GET
@login_required
def clause_lookup(request: HttpRequest, pk: int) -> HttpResponse:
    """The editor's clause search: a few matches, each with a button that puts its number in a row."""
    opinion = _own_draft_or_404(request, pk)
    form = forms.ClauseLookupForm(request.GET)
    q = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    found = [(c, rules.grade_label(c.grade)) for c in selectors.clause_search(opinion.edition, q, limit=LOOKUP_LIMIT)] if q else []
    return render(request, "grading/_clause_lookup.html", {"opinion": opinion, "q": q, "found": found,
                                                           "limit": LOOKUP_LIMIT})


@require_GET
@login_required
def clause_pick(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a clause number in the first empty item row (the request carries the rows' clause inputs)."""
    opinion = _own_draft_or_404(request, pk)
    number = (request.GET.get("number") or "").strip()
    if not selectors.clauses_by_number(opinion.edition, [number]):
        raise Http404(_("No such clause."))
    rows = sorted((int(m.group(1)), value) for key, value in request.GET.items() if (m := ITEM_CLAUSE.match(key)))
    empty = next((n for n, value in rows if not value.strip()), None)
    if empty is None:
        response = render(request, "grading/_pick_full.html", {})
        response["HX-Retarget"] = "#clause-lookup-status"
        response["HX-Reswap"] = "innerHTML"
        return response
    row = forms.ItemForm(prefix=f"items-{empty}", initial={"clause": number})
    row.fields["clause"].widget.attrs["autofocus"] = True
    response = render(request, "grading/_item_clause.html", {"field": row["clause"], "number": number})
    response["HX-Retarget"] = f"#{row['clause'].auto_id}"
    response["HX-Reswap"] = "outerHTML"
    response["HX-Trigger-After-Swap"] = "clauses-changed"
    return response


# THE OPINION AS SIGNED ----------------------------------------------------------------------------

def _value_text(field: str, value: Any) -> str:
    """A value of ``opinion.changes`` as a reader understands it."""
    if value in (None, "", []):
        return "—"
    if field == "findings":
        return "；".join(f"{part}：{text}" if part else text for part, text in value)
    if field == "items":
        return "；".join(f"{injury}（{number}，{rules.grade_label(grade)}）" for injury, number, grade in value)
    if field == "care_needs":
        labels = dict(rules.Activity.choices)
        return "、".join(str(labels.get(v, v)) for v in value)
    if field == "care_level":
        return str(dict(rules.CareLevel.choices).get(value, value))
    if field == "medical_dependency":
        return str(dict(rules.MedicalDependency.choices).get(value, value))
    if field == "grade":
        return rules.grade_label(value)
    if field == "complication":
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


@require_GET
@login_required
def opinion(request: HttpRequest, pk: int) -> HttpResponse:
    opinion = _opinion_or_404(request, pk)
    activities = dict(rules.Activity.choices)
    items = list(selectors.opinion_items(opinion))
    for item in items:
        item.grade_text = rules.grade_label(item.grade)
    changes = [{"label": CHANGE_LABELS.get(c["field"], c["field"]), "before": _value_text(c["field"], c["before"]),
                "after": _value_text(c["field"], c["after"])} for c in opinion.changes]
    context = {
        "opinion": opinion, "case": opinion.case,
        "findings": list(opinion.findings.order_by("position", "id")),
        "items": items,
        "activities": [activities.get(a, a) for a in opinion.care_needs],
        "period": selectors.PERIOD_TYPES.get(opinion.case.case_type),
        "graded": opinion.case.case_type in selectors.GRADED_TYPES,
        "history": selectors.opinion_history(opinion),
        "changes": changes,
        "is_author": opinion.author_id == request.user.pk,
    }
    return render(request, "grading/opinion.html", context)
