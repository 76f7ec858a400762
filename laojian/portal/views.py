"""The public portal's pages (no sign-in)."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from laojian.cases import selectors
from laojian.cases.forms import add_service_errors
from laojian.core import audit, notices
from laojian.core.errors import ApplicationError, ValidationFailed
from laojian.portal import services
from laojian.portal.forms import CodeForm, PhoneForm, PortalApplicationForm
from laojian.portal.selectors import ID_SUFFIX_LENGTH, status_lookup

# Lookups per address per window: enough for a family checking a case, too few to enumerate.
LOOKUPS_PER_WINDOW = 20
WINDOW_SECONDS = 600


class StatusLookupForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Case number"), max_length=40,
                             widget=forms.TextInput(attrs={"placeholder": "聊劳鉴〔2026〕0001号"}))
    id_suffix = forms.CharField(
        label=gettext_lazy("Last six characters of the worker's ID number"), min_length=ID_SUFFIX_LENGTH,
        max_length=ID_SUFFIX_LENGTH, widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )


def _over_limit(request: HttpRequest) -> bool:
    key = f"portal-lookup:{audit.client_ip(request)}"
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        count = 1
    return count > LOOKUPS_PER_WINDOW


@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    """Look a case up by number and ID suffix. POST only: the ID suffix never goes in a URL."""
    form = StatusLookupForm(request.POST or None)
    result = None
    not_found = limited = False
    if request.method == "POST" and form.is_valid():
        if _over_limit(request):
            limited = True
        else:
            result = status_lookup(form.cleaned_data["number"], form.cleaned_data["id_suffix"])
            not_found = result is None
    response = render(request, "portal/status.html",
                      {"form": form, "result": result, "not_found": not_found, "limited": limited})
    if limited:
        response.status_code = 429
    return response


# SIGN-IN WITH A ONE-TIME CODE ----------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone number, to which a code is sent. Step 2: the code."""
    if request.user.is_authenticated:
        return redirect("portal:home")
    phone_form, code_form, sent = PhoneForm(), None, False
    if request.method == "POST" and request.POST.get("step") == "code":
        code_form = CodeForm(request.POST)
        sent = True
        if code_form.is_valid():
            try:
                user = services.code_verify(code_form.cleaned_data["phone"], code_form.cleaned_data["code"],
                                            ip_address=audit.client_ip(request))
            except ApplicationError as exc:
                code_form.add_error("code", exc.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("portal:home")
    elif request.method == "POST":
        phone_form = PhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                services.code_request(phone_form.cleaned_data["phone"], ip_address=audit.client_ip(request))
            except ApplicationError as exc:
                phone_form.add_error("phone", exc.message)
            else:
                sent = True
                code_form = CodeForm(initial={"phone": phone_form.cleaned_data["phone"]})
    return render(request, "portal/sign_in.html", {"phone_form": phone_form, "code_form": code_form, "sent": sent})


# THE APPLICANT'S OWN PAGES --------------------------------------------------------------------------

def _applicant_required(view):
    @login_required(login_url="portal:sign_in")
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The portal is the applicant's: staff (who also hold submit_case) register at the counter.
        if not request.user.has_perm("cases.submit_case") or request.user.has_perm("cases.view_committee_cases"):
            raise Http404()
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_http_methods(["GET"])
@_applicant_required
def home(request: HttpRequest) -> HttpResponse:
    """The applicant's applications, newest first."""
    cases = (selectors.cases_visible_to(request.user).filter(applicant_user=request.user)
             .select_related("worker").order_by("-created_at"))
    return render(request, "portal/home.html", {"cases": cases, "has_draft": bool(services.draft_get(request.user))})


@require_http_methods(["GET", "POST"])
@_applicant_required
def apply(request: HttpRequest) -> HttpResponse:
    """The online application form; what is typed is saved as a draft while the applicant goes. The
    personal-information notice is shown above the button and must be acknowledged (SEC-61)."""
    if request.method == "POST":
        form = PortalApplicationForm(request.POST)
        token = request.POST.get("token", "")
        if form.is_valid() and len(token) >= 32:
            try:
                case = services.application_submit(token=token, user=request.user, cleaned=form.cleaned_data,
                                                   ip_address=audit.client_ip(request))
            except ValidationFailed as exc:
                add_service_errors(form, exc.extra.get("fields"))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Your application is saved. Upload the materials below, "
                                            "then press “Submit application”."))
                return redirect("cases:detail", case.pk)
        services.draft_save(request.user, request.POST.dict())
    else:
        form = PortalApplicationForm(initial=services.draft_get(request.user))
    return render(request, "portal/apply.html", {"form": form, "token": secrets.token_hex(16),
                                                 "notice": notices.current()})


@require_http_methods(["POST"])
@_applicant_required
def draft(request: HttpRequest) -> HttpResponse:
    """Save the form as it stands (HTMX, on every change)."""
    services.draft_save(request.user, request.POST.dict())
    return HttpResponse(_("Draft saved."), content_type="text/plain; charset=utf-8")
