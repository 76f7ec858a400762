"""The re-appraisal page (再次鉴定): the party's request, the file for the provincial committee, and
the provincial result.

Thin: ``reappraisal`` reads and writes; the forms only parse what was typed. A refusal shows on its
form with everything typed kept; a ``NotFoundError`` is a 404, and so is the page for a user without
``review.record_reappraisal``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from laojian.cases import selectors as case_selectors
from laojian.cases.models import Case
from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError, ValidationFailed
from laojian.core.http import HttpResponseSeeOther
from laojian.grading.rules import CareLevel
from laojian.review import reappraisal as service
from laojian.review.models import Reappraisal

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NO_GRADE = "none"


class RequestForm(forms.Form):
    requested_on = forms.DateField(label=gettext_lazy("Request dated"), widget=DATE_INPUT)
    party = forms.ChoiceField(label=gettext_lazy("Requested by"), choices=Reappraisal.Party.choices,
                              widget=forms.RadioSelect)
    requester_name = forms.CharField(label=gettext_lazy("Requester's name"), max_length=100)
    grounds = forms.CharField(label=gettext_lazy("Grounds"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ResultForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Provincial conclusion number"), max_length=60)
    concluded_on = forms.DateField(label=gettext_lazy("Provincial conclusion date"), widget=DATE_INPUT)
    grade = forms.ChoiceField(label=gettext_lazy("Grade"), choices=[
        (NO_GRADE, "未达到伤残等级"), *((str(n), f"{n}级") for n in range(1, 11))])
    care_level = forms.ChoiceField(label=gettext_lazy("Care dependency"), choices=CareLevel.choices,
                                   initial=CareLevel.NONE)
    months = forms.IntegerField(label=gettext_lazy("Months"), required=False, min_value=1,
                                help_text=gettext_lazy("Only for a period (paid leave, rehabilitation); else empty."))
    note = forms.CharField(label=gettext_lazy("Note on the result"), required=False, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def result_input(self) -> service.ResultInput:
        data = self.cleaned_data
        return service.ResultInput(number=data["number"], concluded_on=data["concluded_on"],
                                   grade=None if data["grade"] == NO_GRADE else int(data["grade"]),
                                   care_level=data["care_level"], months=data["months"], note=data["note"])


def _not_found() -> Http404:
    return Http404(_("No such case, or it is not yours to see."))


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    if not request.user.has_perm(service.PERMISSION):
        raise _not_found()
    try:
        return case_selectors.case_get_for(request.user, pk)
    except NotFoundError:
        raise _not_found() from None


def _page(case_pk: int, anchor: str = "") -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("review:reappraisal", args=[case_pk]) + (f"#{anchor}" if anchor else ""))


def _show_error(form: forms.Form, exc: ApplicationError) -> None:
    """Put a refusal on the field it is about (a date outside the window, a missing name), else on the form."""
    fields = exc.extra.get("fields") if isinstance(exc, ValidationFailed) else None
    if fields:
        for name, errors in fields.items():
            form.add_error(name if name in form.fields else None, errors)
        return
    where = {"date_in_future": "requested_on", "before_delivery": "requested_on", "window_closed": "requested_on"}
    field = where.get(exc.code)
    form.add_error(field if field in form.fields else None, exc.message)


def _context(request: HttpRequest, case: Case, *, request_form: RequestForm | None = None,
             result_form: ResultForm | None = None) -> dict[str, Any]:
    conclusion = service.city_conclusion(case)
    reappraisal = service.reappraisal_of(case)
    refusal = service.not_eligible_reason(case, conclusion)
    window = service.window_of(case)
    if reappraisal is None and not refusal and request_form is None:
        request_form = RequestForm(initial={"requested_on": window.today if window.open else None})
    if reappraisal is not None and reappraisal.outcome == Reappraisal.Outcome.PENDING and result_form is None:
        result_form = ResultForm()
    return {
        "case": case, "conclusion": conclusion, "reappraisal": reappraisal, "refusal": refusal, "window": window,
        "request_form": request_form if reappraisal is None and not refusal else None,
        "result_form": result_form if reappraisal is not None and reappraisal.outcome == "pending" else None,
        "comparison": service.comparison(conclusion, reappraisal) if reappraisal is not None else [],
    }


@require_GET
@login_required
def reappraisal_page(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    return render(request, "review/reappraisal.html", _context(request, case))


@require_POST
@login_required
def request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the party's request (dated within the window, once per case)."""
    case = _case_or_404(request, pk)
    form = RequestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            service.request_record(case.pk, service.RequestInput(
                requested_on=data["requested_on"], party=data["party"], requester_name=data["requester_name"],
                grounds=data["grounds"]), actor=request.user, ip_address=audit.client_ip(request))
        except NotFoundError:
            raise _not_found() from None
        except ApplicationError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The re-appraisal request is recorded."))
            return _page(case.pk, "request")
    return render(request, "review/reappraisal.html", _context(request, case, request_form=form))


@require_POST
@login_required
def export_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Build (or build again) the file for the provincial committee."""
    case = _case_or_404(request, pk)
    try:
        exported = service.package_export(case.pk, actor=request.user, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise _not_found() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The file for the provincial committee is exported (SHA-256 %(sha)s…).")
                         % {"sha": exported.package_sha256[:12]})
    return _page(case.pk, "export")


@require_GET
@login_required
def download_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The exported ZIP, after its SHA-256 is checked; every download is audited."""
    case = _case_or_404(request, pk)
    try:
        _reappraisal, content = service.package_read(case.pk, actor=request.user,
                                                    ip_address=audit.client_ip(request))
    except NotFoundError:
        raise _not_found() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _page(case.pk, "export")
    filename = f"再次鉴定-{case.number or case.pk}.zip"
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = (f"attachment; filename=\"reappraisal-{case.pk}.zip\"; "
                                       f"filename*=UTF-8''{quote(filename, safe='')}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@login_required
def result_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the provincial conclusion; upheld or changed is computed from the city's."""
    case = _case_or_404(request, pk)
    form = ResultForm(request.POST)
    if form.is_valid():
        try:
            done = service.result_record(case.pk, form.result_input(), actor=request.user,
                                         ip_address=audit.client_ip(request))
        except NotFoundError:
            raise _not_found() from None
        except ApplicationError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The provincial result is recorded: %(outcome)s.")
                             % {"outcome": done.get_outcome_display()})
            return _page(case.pk, "result")
    return render(request, "review/reappraisal.html", _context(request, case, result_form=form))


urlpatterns = [
    path("cases/<int:pk>/reappraisal/", reappraisal_page, name="reappraisal"),
    path("cases/<int:pk>/reappraisal/request/", request_view, name="reappraisal_request"),
    path("cases/<int:pk>/reappraisal/export/", export_view, name="reappraisal_export"),
    path("cases/<int:pk>/reappraisal/download/", download_view, name="reappraisal_download"),
    path("cases/<int:pk>/reappraisal/result/", result_view, name="reappraisal_result"),
]
