"""The dashboard, the drill-down list behind each number, and the exports. Thin: the figures are
``selectors``; who sees which committee is ``scope``."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from laojian.cases.selectors import cases_visible_to
from laojian.core.exports import xlsx_append
from laojian.core.http import XLSX, attachment
from laojian.core.validators import mask_name
from laojian.reports import selectors
from laojian.reports.forms import StatisticsFilterForm
from laojian.reports.scope import require_statistics
from laojian.reports.workbook import dashboard_workbook

PAGE_SIZE = 50


def _form(request: HttpRequest) -> StatisticsFilterForm:
    return StatisticsFilterForm(request.GET, committees=require_statistics(request.user))


def _percent(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None else "–"


def chart_data(dashboard: selectors.Dashboard) -> dict[str, Any]:
    """What the browser draws: labels and counts per figure (read by static/reports/dashboard.js)."""
    figures = {
        key: {"title": str(result.label), "labels": [str(r.label) for r in result.rows], "values": [r.n for r in result.rows]}
        for key, result in dashboard.figures.items() if key != "workload"  # a table, not a chart
    }
    return {"figures": figures, "save_as_image": _("Save as image")}


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        scope = form.scope()
        board = selectors.dashboard(scope)
        query = scope.query()
        side = [(committee, figs, urlencode(scope.with_committee(committee.pk).query()))
                for committee, figs in board.committees]
        context.update(
            board=board,
            side_by_side=side,
            query=urlencode(query),
            charts=chart_data(board),
            within_limit=_percent(board.within_limit),
            within_target=_percent(board.within_target),
            reappraisal_rate=_percent(board.reappraisal_rate),
            changed_share=_percent(board.changed_share),
        )
    return render(request, "reports/dashboard.html", context)


@login_required
@require_GET
def drill(request: HttpRequest, figure: str, bucket: str) -> HttpResponse:
    """The cases behind one number: the same condition as the count, so the list adds up to it."""
    form = _form(request)
    if figure not in selectors.FIGURES:
        raise Http404(_("No such figure."))
    if not form.is_valid():
        return render(request, "reports/dashboard.html", {"form": form})
    scope = form.scope()
    try:
        cases, label = selectors.drill_with_label(scope, figure, bucket)
    except KeyError:
        raise Http404(_("No such figure.")) from None
    cases = (cases.select_related("committee", "worker").order_by("committee__code", "year", "seq", "pk")
             .only("id", "number", "case_type", "mode", "status", "received_on", "concluded_on",
                   "committee__short_name", "committee__code", "worker__name"))
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    visible = set(cases_visible_to(request.user).filter(pk__in=[c.pk for c in page]).values_list("pk", flat=True))
    rows = [{"case": c, "worker": mask_name(c.worker.name),
             "url": reverse("cases:detail", args=[c.pk]) if c.pk in visible else ""} for c in page]
    query = scope.query()
    return render(request, "reports/drill.html", {
        "figure": selectors.FIGURES[figure], "label": label, "page": page, "rows": rows, "form": form,
        "query": urlencode(query), "back": reverse("reports:dashboard") + "?" + urlencode(query),
    })


@login_required
@require_GET
def dashboard_xlsx(request: HttpRequest) -> HttpResponse:
    """The dashboard's data as Excel, one sheet per table."""
    form = _form(request)
    if not form.is_valid():
        return render(request, "reports/dashboard.html", {"form": form}, status=400)
    scope = form.scope()
    name = _("statistics %(first)s to %(last)s.xlsx") % {"first": scope.first.isoformat(), "last": scope.last.isoformat()}
    return attachment(dashboard_workbook(selectors.dashboard(scope)), XLSX, name)


@login_required
@require_GET
def figure_xlsx(request: HttpRequest, figure: str) -> HttpResponse:
    """One chart's data as Excel: its buckets and counts."""
    form = _form(request)
    if figure not in selectors.FIGURES:
        raise Http404(_("No such figure."))
    if not form.is_valid():
        return render(request, "reports/dashboard.html", {"form": form}, status=400)
    result = selectors.figure(form.scope(), figure)
    wb = Workbook()
    ws = wb.active
    ws.title = _("data")
    xlsx_append(ws, [str(result.label), _("cases")])
    for row in result.rows:
        xlsx_append(ws, [str(row.label), row.n])
    if result.partition:
        xlsx_append(ws, [_("total"), result.total])
    buf = io.BytesIO()
    wb.save(buf)
    return attachment(buf.getvalue(), XLSX, f"{result.label}.xlsx")
