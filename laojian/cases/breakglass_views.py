"""The break-glass pages: the system administrator asks for one case's medical content with a
reason; the security administrator and the auditor read the grants. Thin: ``breakglass`` decides."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from laojian.cases import breakglass
from laojian.cases.breakglass import REASON_MIN_LENGTH
from laojian.core import audit
from laojian.core.errors import ApplicationError


class BreakGlassForm(forms.Form):
    """The system administrator names one case and says why its medical content must be opened."""

    case = forms.CharField(
        label=gettext_lazy("Case number or id"), max_length=60, strip=True,
        error_messages={"required": gettext_lazy("Name the case: its number, or its id from the case page's address.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), min_length=REASON_MIN_LENGTH, max_length=1000, strip=True,
        help_text=gettext_lazy("Why you must see this case's medical content. It is kept in the audit trail and shown to "
                    "the security administrator and the auditor."),
        error_messages={
            "required": gettext_lazy("Give the reason: medical content is opened only with a reason that is kept."),
            "min_length": gettext_lazy("Give a reason of at least %(limit_value)d characters: it is kept in the audit trail."),
        },
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest) -> HttpResponse:
    """The system administrator opens one case's medical content for a while, stating why (audited)."""
    if not breakglass.may_break_glass(request.user):
        raise Http404()
    form = BreakGlassForm(request.POST or None, initial={"case": request.GET.get("case", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                grant = breakglass.grant_create(user=request.user, case_reference=form.cleaned_data["case"],
                                                reason=form.cleaned_data["reason"],
                                                ip_address=audit.client_ip(request))
            except ApplicationError as exc:
                fields = exc.extra.get("fields") or {}
                if not fields:
                    form.add_error(None, exc.message)
                for name, errors in fields.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                messages.warning(request, _("The medical content of this case is open to you until %(time)s. "
                                            "Every page you open is recorded.")
                                 % {"time": date_format(timezone.localtime(grant.expires_at), "SHORT_DATETIME_FORMAT")})
                return redirect("cases:detail", grant.case_id)
    return render(request, "cases/break_glass.html", {
        "form": form, "grants": breakglass.grants_of(request.user), "minutes": breakglass.minutes(),
        "min_length": breakglass.REASON_MIN_LENGTH,
    }, status=status)


@never_cache
@login_required
@require_GET
def break_glass_grants(request: HttpRequest) -> HttpResponse:
    """Every break-glass grant of the committee, for the security administrator and the auditor."""
    if not request.user.has_perm(breakglass.VIEW_GRANTS):
        raise Http404()
    page = Paginator(breakglass.grants_visible_to(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "cases/break_glass_grants.html", {"page": page, "now": timezone.now()})
