"""Sign-in forms: the password step with lockout, the code step, enrolment."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from laojian.core import audit, auth

# One message for a wrong password, an unknown user name and a lock (no user enumeration, SEC-09).
NEUTRAL_REFUSAL = _(
    "The user name or password is wrong, or sign-in is paused after too many attempts. "
    "Check them and try again later."
)
CODE_REFUSAL = _("The code is wrong or was already used. Enter the current code from the app, or a recovery code.")


class LoginForm(AuthenticationForm):
    """Django's sign-in form, with the lockout of :mod:`laojian.core.auth` around ``authenticate``."""

    error_messages = {
        "invalid_login": NEUTRAL_REFUSAL,
        "inactive": NEUTRAL_REFUSAL,
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        ip_address = audit.client_ip(self.request) if self.request is not None else ""
        scope = auth.locked_scope(username, ip_address)
        if scope is not None:
            auth.refusal_record(username, ip_address, scope)
            raise forms.ValidationError(NEUTRAL_REFUSAL, code="invalid_login")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            auth.failure_record(username, ip_address)
            raise forms.ValidationError(NEUTRAL_REFUSAL, code="invalid_login")
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Sign-in code"), max_length=24, strip=True,
        help_text=_("The six digits your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none",
                                      "spellcheck": "false", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the app"), regex=r"^\s*\d{3}\s?\d{3}\s*$", max_length=8,
        error_messages={"invalid": _("Enter the six digits the app shows.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )
