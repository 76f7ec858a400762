"""Forms of the appointment page: they parse and keep what was typed; the services judge it."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.core.errors import ApplicationError
from laojian.sittings.selectors import combine


def service_errors(form: forms.Form, exc: ApplicationError) -> None:
    """A service's field errors on the form's fields, else one error above the form."""
    placed = False
    for name, errors in (exc.extra.get("fields") or {}).items():
        if name in form.fields:
            for error in errors or [exc.message]:
                form.add_error(name, error)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class _When(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}))
    short_notice_reason = forms.CharField(
        label=_("Reason for a notice shorter than the lead time"), required=False, max_length=200)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The appointment must end after it starts."))
        return data

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        d = self.cleaned_data
        return combine(d["date"], d["start"]), combine(d["date"], d["end"])


class MoveForm(_When):
    reason = forms.CharField(label=_("Why the appointment moves"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
    worker_requested = forms.BooleanField(
        label=_("The worker asked for it, for good reason (the conclusion deadline moves by the same time)"),
        required=False)


class ExcusedForm(_When):
    reason = forms.CharField(label=_("The good reason the worker could not come"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class AbsenceForm(forms.Form):
    outcome = forms.ChoiceField(label=_("What happened"), choices=(
        ("absent", _("absent without good reason")), ("refused", _("refused the examination"))))
    note = forms.CharField(label=_("Details (printed on the termination notice)"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))
