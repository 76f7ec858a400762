"""The committee's monthly and annual report: a page to choose it (and read its summary), and the
report as PDF or Excel. Thin: the report is ``report``; who sees which committee is ``scope``.

Query parameters: ``kind=month|year``, ``period=2026-11`` or ``2026``, ``committee=<id>`` (optional:
without it, every committee the user may see). A committee the user may not see is a 404; a bad
period is the page again with the form's error (400), never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from laojian.core.http import XLSX, attachment
from laojian.core.models import Committee
from laojian.documents.pdf import DocumentFontMissing
from laojian.reports import report
from laojian.reports.forms import CommitteeChoice
from laojian.reports.scope import require_statistics


class ReportForm(CommitteeChoice, forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Report"), choices=[
        (report.MONTH, gettext_lazy("monthly report")), (report.YEAR, gettext_lazy("annual report"))])
    period = forms.CharField(label=gettext_lazy("Month or year"), max_length=7,
                             help_text=gettext_lazy("A month as 2026-11, a year as 2026."))
    committee = forms.ModelChoiceField(label=gettext_lazy("Committee"), queryset=Committee.objects.none(),
                                       required=False, empty_label=gettext_lazy("all committees I may see"))

    def __init__(self, *args: Any, committees: QuerySet[Committee], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.limit_committees(committees)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") and "period" in data:
            try:
                data["report_period"] = report.parse_period(data["kind"], data["period"], timezone.localdate())
            except report.BadPeriod as exc:
                self.add_error("period", exc.message)
        return data

    def short_name(self) -> str:
        """The committee's short name for the file name, when the report is of one committee."""
        chosen = self.cleaned_data.get("committee")
        if chosen:
            return chosen.short_name
        only = list(self.committees[:2])
        return only[0].short_name if len(only) == 1 else ""


def _last_month() -> str:
    today = timezone.localdate()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"


def _form(request: HttpRequest, *, bound: bool = False) -> ReportForm:
    """The form over the committees the user may see (403 without any, 404 for one not among them);
    a download's form is always bound, so that what is missing is said."""
    committees = require_statistics(request.user)
    committee = request.GET.get("committee", "")
    if committee and not (committee.isdigit() and committees.filter(pk=int(committee)).exists()):
        raise Http404(_("No such committee."))
    if bound or "period" in request.GET or "kind" in request.GET:
        return ReportForm(request.GET, committees=committees)
    return ReportForm(committees=committees, initial={"kind": report.MONTH, "period": _last_month()})


def _page(request: HttpRequest, form: ReportForm, *, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, "reports/report.html", {"form": form, **context}, status=status)


def _valid_report(request: HttpRequest, *, bound: bool = False) -> tuple[ReportForm, report.Report | None]:
    form = _form(request, bound=bound)
    if not form.is_bound or not form.is_valid():
        return form, None
    return form, report.period_report(form.committee_ids(), form.cleaned_data["report_period"])


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    form, made = _valid_report(request)
    if made is None:
        return _page(request, form, status=400 if form.is_bound else 200)
    return _page(request, form, report=made, query=urlencode({k: v for k, v in request.GET.items()
                                                              if k in ("kind", "period", "committee") and v}))


@login_required
@require_GET
def report_pdf(request: HttpRequest) -> HttpResponse:
    form, made = _valid_report(request, bound=True)
    if made is None:
        return _page(request, form, status=400)
    try:
        content = report.report_as_pdf(made)
    except DocumentFontMissing as exc:
        return _page(request, form, status=503, report=made, error=exc.message)
    name = report.file_name(made, "pdf", form.short_name())
    return attachment(content, "application/pdf", name)


@login_required
@require_GET
def report_xlsx(request: HttpRequest) -> HttpResponse:
    form, made = _valid_report(request, bound=True)
    if made is None:
        return _page(request, form, status=400)
    name = report.file_name(made, "xlsx", form.short_name())
    return attachment(report.report_xlsx(made), XLSX, name)


urlpatterns = [
    path("report/", report_page, name="report"),
    path("report.pdf", report_pdf, name="report_pdf"),
    path("report.xlsx", report_xlsx, name="report_xlsx"),
]
