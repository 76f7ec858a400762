"""The rights-request pages (SEC-65), reached from the worker on the case page: a copy of the worker's
personal data as a JSON download, and a correction of their details. Thin: ``rights`` decides."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from laojian.cases import rights, selectors
from laojian.cases.forms import add_service_errors
from laojian.cases.models import Case
from laojian.core import audit
from laojian.core.errors import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from laojian.core.http import HttpResponseSeeOther, attachment
from laojian.core.validators import mask_id_number
from laojian.core.versioning import VersionFormField

REASON_HELP = gettext_lazy("Who asked, how (at the counter, in writing) and when. It is kept in the audit trail.")


class RightsExportForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=rights.REASON_MAX_LENGTH, help_text=REASON_HELP,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": gettext_lazy("Give the reason: it is kept in the audit "
                                                                      "trail with the request.")})


class RightsCorrectionForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Detail to correct"), choices=rights.Field.choices)
    value = forms.CharField(label=gettext_lazy("Value asked for"), max_length=200, required=False,
                            help_text=gettext_lazy("Leave the phone empty to remove it."))
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=rights.Outcome.choices,
                                initial=rights.Outcome.CORRECTED, widget=forms.RadioSelect)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=rights.REASON_MAX_LENGTH,
                             help_text=gettext_lazy("Who asked and on what evidence (e.g. the ID card shown), or "
                                                    "why the request is refused. It is kept in the audit trail."),
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": gettext_lazy("Give the reason: it is kept in the audit "
                                                                      "trail with the request.")})
    version = VersionFormField()


def _staff_case(request: HttpRequest, pk: int) -> Case:
    """The case, if the user may see it (else 404, as for a missing one), and may answer rights requests (else 403)."""
    try:
        case = selectors.case_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    if not rights.may_handle(request.user):
        raise PermissionDenied
    return case


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def rights_export(request: HttpRequest, pk: int) -> HttpResponse:
    """A copy of the worker's personal data (PIPL Art. 45), downloaded as JSON; audited with the reason."""
    case = _staff_case(request, pk)
    form = RightsExportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                data = rights.personal_data_copy(request.user, case.pk, reason=form.cleaned_data["reason"],
                                                 ip_address=audit.client_ip(request))
            except NotFoundError:
                raise Http404(_("No such case, or it is not yours to see.")) from None
            except PermissionDeniedError:
                raise PermissionDenied from None
            except ValidationFailed as exc:
                add_service_errors(form, exc.extra.get("fields"))
            else:
                name = f"personal-data-worker-{case.worker_id}-{timezone.localdate():%Y%m%d}.json"
                body = json.dumps(data, ensure_ascii=False, indent=2).encode()
                return attachment(body, "application/json; charset=utf-8", name)
    return render(request, "cases/rights_export.html", {"case": case, "form": form}, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def rights_correction(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a request to correct the worker's name, phone, address or ID number, and its outcome."""
    case = _staff_case(request, pk)
    worker = case.worker
    form = RightsCorrectionForm(request.POST or None, initial={"version": worker.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            cleaned = form.cleaned_data
            try:
                rights.worker_correct(request.user, case.pk, field=cleaned["field"], value=cleaned["value"],
                                      reason=cleaned["reason"], outcome=cleaned["outcome"],
                                      expected_version=cleaned.get("version"), ip_address=audit.client_ip(request))
            except NotFoundError:
                raise Http404(_("No such case, or it is not yours to see.")) from None
            except PermissionDeniedError:
                raise PermissionDenied from None
            except ConflictError as exc:
                form.add_error(None, exc.message)
                status = 409
            except ValidationFailed as exc:
                add_service_errors(form, exc.extra.get("fields") or {None: [exc.message]})
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                if cleaned["outcome"] == rights.Outcome.CORRECTED:
                    messages.success(request, _("The worker's %(field)s is corrected; the old value is kept in the "
                                                "audit trail.") % {"field": rights.Field(cleaned["field"]).label})
                else:
                    messages.success(request, _("The refused correction request is recorded."))
                return HttpResponseSeeOther(reverse("cases:detail", args=[case.pk]))
    return render(request, "cases/rights_correction.html", {
        "case": case, "form": form, "worker": worker, "masked_id_number": mask_id_number(worker.id_number),
    }, status=status)
