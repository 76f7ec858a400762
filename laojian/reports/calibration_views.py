"""The expert calibration pages (统一专家尺度): every expert against the approved conclusions, the
experts for the training plan, and one expert's categories and compared cases.

Thin: ``calibration`` reads. Both pages need ``reports.view_calibration`` on top of the statistics
scope (``scope.committees_for_statistics``): 403 without them; an expert outside the user's
committees is a 404. ``reports/urls.py`` adds ``urlpatterns`` to its own (``/reports/``, namespace
``reports``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from laojian.cases import clocks
from laojian.core.models import Committee
from laojian.experts import selectors as experts_selectors
from laojian.reports import calibration
from laojian.reports.scope import require_statistics

MAX_MINIMUM = 1000


def _committees(request: HttpRequest) -> QuerySet[Committee]:
    """The committees whose experts the user may compare; 403 when none."""
    if not request.user.has_perm(calibration.PERMISSION):
        raise PermissionDenied
    return require_statistics(request.user)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _filters(request: HttpRequest, committees: QuerySet[Committee]) -> dict[str, Any]:
    """The period (default: the last twelve months), the committee chosen and the minimum count."""
    default_first, default_last = calibration.default_period(clocks.today())
    last = _date(request.GET.get("last")) or default_last
    first = _date(request.GET.get("first")) or (default_first if last == default_last
                                                 else calibration.default_period(last)[0])
    if first > last:
        first, last = last, first
    try:
        minimum = min(max(int(request.GET.get("min", "")), 1), MAX_MINIMUM)
    except ValueError:
        minimum = calibration.MIN_COMPARED
    allowed = list(committees)
    chosen = next((c for c in allowed if str(c.pk) == request.GET.get("committee", "")), None)
    ids = [chosen.pk] if chosen else [c.pk for c in allowed]
    query: dict[str, Any] = {"first": first.isoformat(), "last": last.isoformat(), "min": minimum}
    if chosen:
        query["committee"] = chosen.pk
    return {"first": first, "last": last, "minimum": minimum, "committees": allowed, "chosen": chosen,
            "committee_ids": ids, "query": urlencode(query)}


@require_GET
@login_required
def calibration_page(request: HttpRequest) -> HttpResponse:
    """Every expert with a compared opinion in the period, and those for the training plan."""
    filters = _filters(request, _committees(request))
    report = calibration.calibration(filters["committee_ids"], filters["first"], filters["last"],
                                     minimum=filters["minimum"])
    return render(request, "reports/calibration.html", {
        **filters, "report": report, "thresholds": _thresholds(), "several": len(filters["committees"]) > 1})


@require_GET
@login_required
def calibration_expert(request: HttpRequest, pk: int) -> HttpResponse:
    """One expert: their categories and the cases compared."""
    filters = _filters(request, _committees(request))
    expert = experts_selectors.expert_of_committees([c.pk for c in filters["committees"]], pk)
    if expert is None:
        raise Http404(_("No such expert, or not one of your committee's."))
    detail = calibration.expert_calibration(expert, filters["first"], filters["last"], minimum=filters["minimum"])
    return render(request, "reports/calibration.html", {
        **filters, "detail": detail, "thresholds": _thresholds(), "several": len(filters["committees"]) > 1})


def _thresholds() -> dict[str, Any]:
    return {"match_percent": float(calibration.MATCH_SHARE_FLOOR * 100), "mean_abs": calibration.MEAN_ABS_CEILING}


urlpatterns = [
    path("calibration/", calibration_page, name="calibration"),
    path("calibration/experts/<int:pk>/", calibration_expert, name="calibration_expert"),
]
