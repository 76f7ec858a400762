"""Forms of the home-visit, remote, extra-examination and examination-record pages: they parse and
keep what was typed; the services judge it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.experts.models import Category
from laojian.sittings.forms import _When
from laojian.sittings.models import DEFAULT_BRING


class _Booking(_When):
    bring = forms.CharField(label=_("What to bring"), max_length=200, required=False, initial=DEFAULT_BRING)
    non_working_reason = forms.CharField(
        label=_("Why on a non-working day"), max_length=200, required=False,
        help_text=_("Required when the date is a weekend or public holiday."))
    categories = forms.TypedMultipleChoiceField(
        label=_("Categories of the injuries (to draw the panel)"), choices=Category.choices, coerce=int,
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Only when the case has no panel yet: the panel is drawn for these categories."))


class HomeVisitForm(_Booking):
    address = forms.CharField(label=_("Address to visit"), max_length=200)
    staff_member = forms.ModelChoiceField(label=_("Staff member (identity check)"), queryset=None)
    family_phone = forms.CharField(label=_("Family contact phone"), max_length=20, required=False,
                                   help_text=_("The family is told of the visit by SMS."))

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff_member"].queryset = staff
        self.fields["staff_member"].label_from_instance = lambda user: str(user)


class RemoteForm(_Booking):
    doctor_name = forms.CharField(label=_("Local examining doctor"), max_length=50)
    doctor_hospital = forms.CharField(label=_("Their hospital"), max_length=48)

    def local_doctor(self) -> str:
        return f"{self.cleaned_data['doctor_name'].strip()}（{self.cleaned_data['doctor_hospital'].strip()}）"


class RemoteRecordForm(forms.Form):
    local_doctor = forms.CharField(label=_("Local examining doctor"), max_length=100)
    local_findings = forms.CharField(label=_("The local doctor's findings"),
                                     widget=forms.Textarea(attrs={"rows": 6}))
    recording_consent = forms.TypedChoiceField(
        label=_("The worker consents to the recording"), widget=forms.RadioSelect,
        choices=(("yes", _("Yes")), ("no", _("No"))), coerce=lambda v: v == "yes")


class RouteOrderForm(forms.Form):
    """One position a visit; the visits are sorted by position (ties keep the time order)."""

    def __init__(self, *args, appointments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.appointments = list(appointments)
        for position, appointment in enumerate(self.appointments, start=1):
            self.fields[f"pos_{appointment.pk}"] = forms.IntegerField(
                label=str(appointment.case.worker.name), min_value=1, max_value=99,
                initial=appointment.route_order or position)

    def ordered_ids(self) -> list[int]:
        positions = [(self.cleaned_data[f"pos_{a.pk}"], index, a.pk) for index, a in enumerate(self.appointments)]
        return [pk for _pos, _index, pk in sorted(positions)]


class ExtraExaminationForm(forms.Form):
    what = forms.CharField(label=_("Examination"), max_length=200)
    where = forms.CharField(label=_("Where"), max_length=200)
    due = forms.DateField(label=_("Result due by"), widget=forms.DateInput(attrs={"type": "date"}))


class ExtraResultForm(forms.Form):
    result_note = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 3}))
    received_on = forms.DateField(label=_("Received on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))


class RecordUploadForm(forms.Form):
    file = forms.FileField(label=_("Photo or video"))
    description = forms.CharField(label=_("What it shows"), max_length=200, required=False)

    def __init__(self, *args, accept: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if accept:
            self.fields["file"].widget.attrs["accept"] = accept
