"""Pages of the expert pool: the draw for a case, the printable draw record, the expert's workbench,
the fairness report, and the Excel import/export. Thin: selectors read, services write,
``ApplicationError`` becomes a message and ``NotFoundError`` a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases.models import Case
from laojian.cases.selectors import case_get_for
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.experts import excel, selectors, services
from laojian.experts.models import Category, Draw, Expert, Hospital, PanelMember


class HttpResponseSeeOther(HttpResponseRedirect):
    status_code = 303


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
    case = _staff_case(request, case_id)
    panel = selectors.active_panel(case)
    context: dict[str, Any] = {
        "case": case,
        "panel": panel,
        "members": list(selectors.panel_members(panel)) if panel else [],
        "short": bool(panel and selectors.panel_is_short(panel)),
        "draws": list(selectors.draws_of_case(case)),
        "categories": Category.choices,
        "treating": list(case.treating_hospitals.select_related("hospital")),
        "exclusions": list(case.manual_exclusions.select_related("expert", "expert__hospital")),
        "hospitals": Hospital.objects.filter(committee=case.committee).order_by("code"),
        "experts": Expert.objects.filter(committee=case.committee, status=Expert.Status.ACTIVE)
        .select_related("hospital").order_by("hospital__code", "name"),
        "can_draw": request.user.has_perm("experts.draw_panel"),
        "drawable": case.status in services.DRAWABLE_STATES,
        "today": timezone.localdate(),
    }
    return render(request, "experts/case_draw.html", context)


def _back(case_id: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("experts:case_draw", args=[case_id]))


@require_POST
@login_required
def case_draw_run(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _staff_case(request, case_id, write=True)
    try:
        categories = [int(c) for c in request.POST.getlist("categories")]
        size = int(request.POST["size"]) if request.POST.get("size") else None
    except ValueError:
        messages.error(request, _("Some of the information is not valid."))
        return _back(case.pk)
    try:
        panel = services.panel_draw(case.pk, services.DrawRequest(
            categories=categories, complex=request.POST.get("complex") == "on", size=size,
            sitting_date=_parse_date(request.POST.get("sitting_date"), timezone.localdate()),
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
    }
    return render(request, "experts/draw_record.html", context)


@require_POST
@login_required
def member_decline_for(request: HttpRequest, member_id: int) -> HttpResponse:
    """A clerk records an expert's decline (e.g. by phone); the replacement is drawn at once."""
    return _decline(request, member_id)


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


__all__ = ["Draw"]
