"""Portal sign-in forms; the application form itself is shared with the counter (cases.forms)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from laojian.cases.forms import ApplicationForm, NoticeFormMixin
from laojian.core.validators import MOBILE

__all__ = ["ApplicationForm", "CodeForm", "PhoneForm", "PortalApplicationForm"]


class PortalApplicationForm(NoticeFormMixin, ApplicationForm):
    """The online application: the applicant ticks that they read the notice shown above the button."""

    acknowledgement_label = _("I have read the notice on the processing of personal information above.")
    acknowledgement_missing = _("Read the notice on the processing of personal information and tick this box "
                                "to continue. Nothing you typed is lost.")


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].replace(" ", "").replace("-", "")
        if not MOBILE.match(phone):
            raise ValidationError(_("Enter an 11-digit mainland mobile number, e.g. 13800000000."))
        return phone


class CodeForm(PhoneForm):
    code = forms.CharField(label=_("Code from the SMS"), min_length=6, max_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))
