"""The public portal's pages (no sign-in)."""

from __future__ import annotations

from django import forms
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from laojian.core import audit
from laojian.portal.selectors import ID_SUFFIX_LENGTH, status_lookup

# Lookups per address per window: enough for a family checking a case, too few to enumerate.
LOOKUPS_PER_WINDOW = 20
WINDOW_SECONDS = 600


class StatusLookupForm(forms.Form):
    number = forms.CharField(label=_("Case number"), max_length=40,
                             widget=forms.TextInput(attrs={"placeholder": "聊劳鉴〔2026〕0001号"}))
    id_suffix = forms.CharField(
        label=_("Last six characters of the worker's ID number"), min_length=ID_SUFFIX_LENGTH,
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
