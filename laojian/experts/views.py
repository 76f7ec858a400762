"""Pages of the expert pool: the draw for a case, the printable draw record, the expert's workbench,
the fairness report, and the Excel import/export. Thin: selectors read, services write,
``ApplicationError`` becomes a message and ``NotFoundError`` a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases.models import Case, CaseType
from laojian.cases.selectors import case_get_for
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.experts import excel, forms, selectors, services
from laojian.experts.models import (
    Category,
    ConflictDeclaration,
    Draw,
    Expert,
    Hospital,
    Panel,
    PanelMember,
    TrainingRecord,
    UnavailablePeriod,
)


def _404() -> Http404:
    return Http404(_("No such case, or it is not yours to see."))


def _staff_case(request: HttpRequest, case_id: int, *, write: bool = False) -> Case:
    """The case, if the user may draw (write) or read draw records for it; else 404."""
    user = request.user
    allowed = user.has_perm("experts.draw_panel") or (not write and user.has_perm("experts.view_draw"))
    if not allowed:
        raise _404()
    try:
        return case_get_for(user, case_id)
    except NotFoundError:
        raise _404() from None


def _parse_date(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return default


# THE DRAW FOR A CASE --------------------------------------------------------------------------------

@require_GET
@login_required
def case_draw(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's first panel and second-opinion panel, the draw records, the recusal inputs and the
    draw forms (the first panel after the preliminary review, a second opinion for a difficult case)."""
    case = _staff_case(request, case_id)
    panel = selectors.active_panel(case)
    second = selectors.second_opinion_panel(case)
    can_draw = request.user.has_perm("experts.draw_panel")
    rules = selectors.rules_for(case.committee)
    context: dict[str, Any] = {
        "case": case,
        "panel": panel,
        "members": list(selectors.panel_members(panel)) if panel else [],
        "short": bool(panel and selectors.panel_is_short(panel)),
        "second": second,
        "second_members": list(selectors.panel_members(second)) if second else [],
        "second_short": bool(second and selectors.panel_is_short(second)),
        "second_drawable": (can_draw and second is None and case.status in services.SECOND_OPINION_STATES
                            and selectors.had_first_panel(case)),
        "first_categories": selectors.first_panel_categories(case),
        "sizes": sorted({rules.panel_size, rules.complex_panel_size}),
        "usual_size": rules.panel_size,
        "is_review": case.case_type == CaseType.REVIEW,
        "draws": list(selectors.draws_of_case(case)),
        "categories": Category.choices,
        "treating": list(case.treating_hospitals.select_related("hospital")),
        "exclusions": list(case.manual_exclusions.select_related("expert", "expert__hospital")),
        "hospitals": Hospital.objects.filter(committee=case.committee).order_by("code"),
        "experts": Expert.objects.filter(committee=case.committee, status=Expert.Status.ACTIVE)
        .select_related("hospital").order_by("hospital__code", "name"),
        "can_draw": can_draw,
        "drawable": case.status in services.DRAWABLE_STATES,
        "today": timezone.localdate(),
    }
    return render(request, "experts/case_draw.html", context)


def _draw_inputs(request: HttpRequest) -> tuple[list[int], int | None]:
    """The categories and panel size a draw form posts; ValueError when one is not a number."""
    categories = [int(c) for c in request.POST.getlist("categories")]
    size = int(request.POST["size"]) if request.POST.get("size") else None
    return categories, size


def _back(case_id: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("experts:case_draw", args=[case_id]))


@require_POST
@login_required
def case_draw_run(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _staff_case(request, case_id, write=True)
    try:
        categories, size = _draw_inputs(request)
    except ValueError:
        messages.error(request, _("Some of the information is not valid."))
        return _back(case.pk)
    # The earlier-appraisal checkbox is on the form of a review appraisal only; elsewhere the rule holds.
    recuse_earlier = request.POST.get("recuse_earlier_panel") == "on" or not request.POST.get("earlier_choice")
    try:
        panel = services.panel_draw(case.pk, services.DrawRequest(
            categories=categories, complex=request.POST.get("complex") == "on", size=size,
            sitting_date=_parse_date(request.POST.get("sitting_date"), timezone.localdate()),
            recuse_earlier_panel=recuse_earlier,
        ), actor=request.user)
    except NotFoundError:
        raise _404() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(case.pk)
    draw = panel.draws.order_by("id").first()
    messages.success(request, _("The panel was drawn."))
    return HttpResponseSeeOther(reverse("experts:draw_record", args=[draw.pk]))


@require_POST
@login_required
def case_second_opinion_run(request: HttpRequest, case_id: int) -> HttpResponse:
    """Draw a second-opinion panel (专家复审) for a difficult case, with the reason."""
    case = _staff_case(request, case_id, write=True)
    try:
        categories, size = _draw_inputs(request)
    except ValueError:
        messages.error(request, _("Some of the information is not valid."))
        return _back(case.pk)
    try:
        panel = services.second_opinion_draw(
            case.pk, request.POST.get("reason", ""), size=size, categories=categories, actor=request.user,
            sitting_date=_parse_date(request.POST.get("sitting_date"), timezone.localdate()))
    except NotFoundError:
        raise _404() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(case.pk)
    draw = panel.draws.order_by("id").first()
    messages.success(request, _("The second-opinion panel was drawn."))
    return HttpResponseSeeOther(reverse("experts:draw_record", args=[draw.pk]))


@require_POST
@login_required
def case_treating_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _staff_case(request, case_id, write=True)
    try:
        services.treating_hospital_add(case.pk, int(request.POST.get("hospital") or 0), actor=request.user)
    except (ValueError, ApplicationError) as exc:
        messages.error(request, getattr(exc, "message", _("Some of the information is not valid.")))
    return _back(case.pk)


@require_POST
@login_required
def case_exclusion_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _staff_case(request, case_id, write=True)
    try:
        services.manual_exclusion_add(case.pk, int(request.POST.get("expert") or 0), request.POST.get("reason", ""),
                                      actor=request.user)
    except (ValueError, ApplicationError) as exc:
        messages.error(request, getattr(exc, "message", _("Some of the information is not valid.")))
    return _back(case.pk)


@require_GET
@login_required
def draw_record(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable draw record (抽取记录): candidates, exclusions, seed hash, seed, result."""
    try:
        draw = selectors.draw_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such draw.")) from None
    spec = draw.spec
    ids = [c[0] for c in spec["candidates"]] + [i for i, _r in spec.get("ineligible", [])]
    experts = selectors.expert_names(ids)
    excluded = {e["id"]: e for e in spec["excluded"]}
    picked = {p["expert"] for p in draw.result}
    candidates = [
        {"expert": experts.get(c[0]), "id": c[0], "specialties": c[2], "recent": c[3], "weight": c[4],
         "excluded": excluded.get(c[0]), "reason": selectors.RECUSAL_REASONS.get(excluded.get(c[0], {}).get("reason")),
         "picked": c[0] in picked}
        for c in spec["candidates"]
    ]
    extra_excluded = [  # exclusions of experts outside the candidate list (none today; kept for completeness)
        e for e in spec["excluded"] if e["id"] not in {c[0] for c in spec["candidates"]}
    ]
    ineligible = [{"expert": experts.get(i), "id": i, "reason": selectors.INELIGIBLE_REASONS.get(r, r)}
                  for i, r in spec.get("ineligible", [])]
    result = [{"expert": experts.get(p["expert"]) or selectors.expert_names([p["expert"]]).get(p["expert"]),
               "slot": p["slot"]} for p in draw.result]
    hospitals = dict(Hospital.objects.filter(pk__in=[w["hospital"] for w in draw.warnings]).values_list("pk", "name"))
    warnings = [
        _("%(expert)s: no expert of a hospital not yet on the panel was left for this seat "
          "(%(hospital)s is on the panel twice).") % {
            "expert": getattr(experts.get(w["expert"]), "name", w["expert"]), "hospital": hospitals.get(w["hospital"], "")}
        for w in draw.warnings if w.get("code") == "same_hospital"
    ]
    context = {
        "draw": draw, "case": draw.panel.case, "panel": draw.panel, "spec": spec, "candidates": candidates,
        "extra_excluded": extra_excluded, "ineligible": ineligible, "result": result, "warnings": warnings,
        "category_labels": [Category(c).label for c in spec.get("categories", [])],
        "replaces": experts.get(spec.get("replaces")) if spec.get("replaces") else None,
        "purpose": Panel.Purpose(draw.panel.purpose).label,
        "earlier_not_recused": spec.get("recuse_earlier_panel") is False,
    }
    return render(request, "experts/draw_record.html", context)


@require_POST
@login_required
def member_decline_for(request: HttpRequest, member_id: int) -> HttpResponse:
    """A clerk records an expert's decline (e.g. by phone); the replacement is drawn at once."""
    return _decline(request, member_id)


# BATCH DRAW FOR A SITTING ---------------------------------------------------------------------------

DEFAULT_BATCH_CATEGORY = 2  # Case has no category field: the commonest (orthopaedics) is preselected


@login_required
def batch_draw(request: HttpRequest) -> HttpResponse:
    """Draw the panels of several reviewed cases for one appraisal date (批量抽取), all or nothing."""
    if not request.user.has_perm("experts.draw_panel") or not request.user.committee_id:
        raise Http404()
    cases = list(selectors.batch_drawable_cases(request.user))
    chosen: set[int] = set()
    picked: dict[int, int] = {}
    complex_ids: set[int] = set()
    failures: dict[int, str] = {}
    on = _parse_date(request.POST.get("sitting_date") or request.GET.get("date"), timezone.localdate())
    if request.method == "POST":
        try:
            chosen = {int(v) for v in request.POST.getlist("cases")}
            picked = {c.pk: int(request.POST.get(f"category-{c.pk}") or DEFAULT_BATCH_CATEGORY) for c in cases}
        except ValueError:
            messages.error(request, _("Some of the information is not valid."))
        else:
            complex_ids = {c.pk for c in cases if request.POST.get(f"complex-{c.pk}") == "on"}
            requests = {pk: services.DrawRequest([picked.get(pk, DEFAULT_BATCH_CATEGORY)], complex=pk in complex_ids,
                                                 sitting_date=on) for pk in chosen}
            try:
                result = services.panels_draw_batch(sorted(chosen), requests, actor=request.user)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                if result.ok:
                    messages.success(request, _("%(n)s panels were drawn.") % {"n": len(result.panels)})
                    ids = ",".join(str(p.draws.get().pk) for p in result.panels)
                    return HttpResponseSeeOther(f"{reverse('experts:batch_draw')}?draws={ids}")
                failures = {f.case_id: f.message for f in result.failures}
                messages.error(request, _("Nothing was drawn: %(n)s of the cases cannot be drawn.")
                               % {"n": len(failures)})
    drawn = []
    ids = [int(v) for v in request.GET.get("draws", "").split(",") if v.strip().isdigit()]
    if ids:
        drawn = list(Draw.objects.filter(pk__in=ids, committee_id=request.user.committee_id)
                     .select_related("panel", "panel__case").order_by("id"))
    rows = [{"case": c, "chosen": c.pk in chosen, "category": picked.get(c.pk, DEFAULT_BATCH_CATEGORY),
             "complex": c.pk in complex_ids, "failure": failures.get(c.pk, "")} for c in cases]
    unknown = [{"case_id": k, "failure": v} for k, v in failures.items() if k not in {c.pk for c in cases}]
    return render(request, "experts/batch_draw.html", {
        "rows": rows, "unknown": unknown, "categories": Category.choices, "date": on, "drawn": drawn,
        "max_per_day": selectors.rules_for(request.user.committee).max_panels_per_day,
    })


# WORKBENCH -------------------------------------------------------------------------------------------

@require_GET
@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    seats = list(selectors.assignments_of_expert(request.user))
    return render(request, "experts/workbench.html", {"seats": seats})


@require_POST
@login_required
def member_confirm(request: HttpRequest, member_id: int) -> HttpResponse:
    try:
        services.member_confirm(member_id, actor=request.user)
    except NotFoundError:
        raise Http404(_("No such draw.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you: you are confirmed on this panel."))
    return HttpResponseSeeOther(reverse("experts:workbench"))


@require_POST
@login_required
def member_decline(request: HttpRequest, member_id: int) -> HttpResponse:
    return _decline(request, member_id)


def _decline(request: HttpRequest, member_id: int) -> HttpResponse:
    try:
        result = services.member_decline(member_id, request.POST.get("reason", ""), actor=request.user)
    except NotFoundError:
        raise Http404(_("No such draw.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        result = None
    if result is not None:
        if result.replacement is not None:
            messages.success(request, _("The decline is recorded; a replacement was drawn."))
        else:
            messages.warning(request, _("The decline is recorded, but no replacement could be drawn: %(why)s")
                             % {"why": result.failure})
    member = PanelMember.objects.filter(pk=member_id).select_related("panel").first()
    if request.user.has_perm("experts.draw_panel") and member is not None:
        return _back(member.panel.case_id)
    return HttpResponseSeeOther(reverse("experts:workbench"))


# FAIRNESS --------------------------------------------------------------------------------------------

@require_GET
@login_required
def fairness(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("experts.view_fairness") or not request.user.committee_id:
        raise Http404()
    today = timezone.localdate()
    end = _parse_date(request.GET.get("end"), today)
    start = _parse_date(request.GET.get("start"), end - dt.timedelta(days=90))
    report = selectors.fairness_report(request.user.committee, start, end)
    return render(request, "experts/fairness.html", {"report": report})


# EXCEL -------------------------------------------------------------------------------------------------

def _pool_manager(request: HttpRequest) -> None:
    if not request.user.has_perm("experts.manage_pool") or not request.user.committee_id:
        raise Http404()


@require_GET
@login_required
def pool_export(request: HttpRequest) -> HttpResponse:
    _pool_manager(request)
    data = excel.export_experts(request.user.committee)
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="experts.xlsx"'
    return response


@login_required
def pool_import(request: HttpRequest) -> HttpResponse:
    _pool_manager(request)
    report = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose an .xlsx file."))
        else:
            report = services.experts_import(request.user.committee, upload.read(), actor=request.user)
            if report.ok:
                messages.success(request, _("Imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.")
                                 % {"created": report.created, "updated": report.updated,
                                    "unchanged": report.unchanged})
            else:
                messages.error(request, _("Nothing was imported: the file has %(n)s errors.") % {"n": len(report.errors)})
    return render(request, "experts/pool_import.html", {"report": report, "columns": excel.COLUMNS})


# POOL MANAGEMENT -------------------------------------------------------------------------------------

def _form_errors(form: Any, exc: ApplicationError) -> None:
    """Put a service's ValidationFailed next to the fields it names (else at the top of the form)."""
    fields = exc.extra.get("fields") or {}
    placed = False
    for name, errs in fields.items():
        if name in form.fields and errs:
            for e in errs:
                form.add_error(name, e)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@require_GET
@login_required
def pool_list(request: HttpRequest) -> HttpResponse:
    _pool_manager(request)
    committee = request.user.committee
    search = forms.PoolSearchForm(request.GET or None, committee=committee)
    filters: dict[str, Any] = {}
    if search.is_valid():
        d = search.cleaned_data
        filters = {"q": (d.get("q") or "").strip(), "hospital_id": getattr(d.get("hospital"), "pk", None),
                   "specialty_id": getattr(d.get("specialty"), "pk", None), "status": d.get("status") or "",
                   "term_end_before": d.get("term_end_before")}
    page = Paginator(selectors.pool_experts(request.user, **filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "experts/pool_list.html", {"search": search, "page": page, "query": query.urlencode()})


@login_required
def expert_new(request: HttpRequest) -> HttpResponse:
    _pool_manager(request)
    form = forms.ExpertForm(request.POST or None, committee=request.user.committee)
    if request.method == "POST" and form.is_valid():
        try:
            expert = services.expert_save(form.cleaned_data, actor=request.user)
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The expert was added to the pool."))
            return HttpResponseSeeOther(reverse("experts:expert_detail", args=[expert.pk]))
    return render(request, "experts/expert_form.html", {"form": form, "expert": None})


def _pool_expert(request: HttpRequest, pk: int) -> Expert:
    try:
        return selectors.pool_expert_get(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such expert.")) from None


@login_required
def expert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The expert's form, training records, unavailable periods and conflict declarations."""
    _pool_manager(request)
    expert = _pool_expert(request, pk)
    committee = request.user.committee
    if request.method == "POST":
        form = forms.ExpertForm(request.POST, committee=committee)
        if form.is_valid():
            try:
                services.expert_save(form.cleaned_data, actor=request.user, expert_id=expert.pk)
            except NotFoundError:
                raise Http404(_("No such expert.")) from None
            except ApplicationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("The expert was saved."))
                return HttpResponseSeeOther(reverse("experts:expert_detail", args=[expert.pk]))
    else:
        form = forms.ExpertForm(initial=forms.ExpertForm.initial_for(expert), committee=committee)
    return render(request, "experts/expert_form.html", {
        "form": form, "expert": expert,
        "trainings": expert.trainings.order_by("date", "id"),
        "periods": expert.unavailable_periods.order_by("start", "id"),
        "conflicts": expert.conflicts.select_related("worker", "employer").order_by("id"),
        "training_form": forms.TrainingForm(prefix="training"),
        "period_form": forms.UnavailableForm(prefix="period"),
        "conflict_form": forms.ConflictForm(prefix="conflict"),
    })


def _back_to_expert(pk: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("experts:expert_detail", args=[pk]))


def _pool_write(request: HttpRequest, expert_id: int, form: Any, write: Any, done: str) -> HttpResponse:
    """Run a pool write from a small add form; errors become messages; back to the expert's page."""
    _pool_manager(request)
    _pool_expert(request, expert_id)
    if not form.is_valid():
        for errs in form.errors.values():
            for e in errs:
                messages.error(request, e)
        return _back_to_expert(expert_id)
    try:
        write(form.cleaned_data)
    except NotFoundError:
        raise Http404(_("No such expert.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _back_to_expert(expert_id)


@require_POST
@login_required
def training_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_write(request, pk, forms.TrainingForm(request.POST, prefix="training"),
                       lambda d: services.training_add(pk, actor=request.user, **d), _("The training was recorded."))


@require_POST
@login_required
def unavailable_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_write(request, pk, forms.UnavailableForm(request.POST, prefix="period"),
                       lambda d: services.unavailable_add(pk, actor=request.user, **d),
                       _("The unavailable period was recorded."))


@require_POST
@login_required
def conflict_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_write(request, pk, forms.ConflictForm(request.POST, prefix="conflict"),
                       lambda d: services.conflict_add(pk, actor=request.user, **d),
                       _("The conflict declaration was recorded."))


def _pool_remove(request: HttpRequest, pk: int, model: Any, remove: Any) -> HttpResponse:
    _pool_manager(request)
    row = model.objects.filter(pk=pk, expert__committee_id=request.user.committee_id).first()
    if row is None:
        raise Http404()
    try:
        remove(pk, actor=request.user)
    except NotFoundError:
        raise Http404() from None
    messages.success(request, _("Removed."))
    return _back_to_expert(row.expert_id)


@require_POST
@login_required
def training_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_remove(request, pk, TrainingRecord, services.training_remove)


@require_POST
@login_required
def unavailable_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_remove(request, pk, UnavailablePeriod, services.unavailable_remove)


@require_POST
@login_required
def conflict_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_remove(request, pk, ConflictDeclaration, services.conflict_remove)


@login_required
def hospitals(request: HttpRequest) -> HttpResponse:
    """The committee's hospitals, and a form to add one."""
    _pool_manager(request)
    form = forms.HospitalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.hospital_save(form.cleaned_data, actor=request.user)
        except ApplicationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The hospital was added."))
            return HttpResponseSeeOther(reverse("experts:hospitals"))
    return render(request, "experts/hospitals.html", {"form": form, "hospitals": selectors.hospitals_of(request.user)})


@login_required
def hospital_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _pool_manager(request)
    hospital = Hospital.objects.filter(pk=pk, committee_id=request.user.committee_id).first()
    if hospital is None:
        raise Http404()
    if request.method == "POST":
        form = forms.HospitalForm(request.POST)
        if form.is_valid():
            try:
                services.hospital_save(form.cleaned_data, actor=request.user, hospital_id=hospital.pk)
            except ApplicationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("The hospital was saved."))
                return HttpResponseSeeOther(reverse("experts:hospitals"))
    else:
        form = forms.HospitalForm(initial={"code": hospital.code, "name": hospital.name, "level": hospital.level,
                                           "version": hospital.version})
    return render(request, "experts/hospital_form.html", {"form": form, "hospital": hospital})


__all__ = ["Draw"]
