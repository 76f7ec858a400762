"""Forms of the pool management pages: they parse and show errors; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.core.versioning import VersionFormField
from laojian.experts.models import Expert, Hospital, Specialty


class DateInput(forms.DateInput):
    input_type = "date"


class ExpertForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    code = forms.CharField(label=_("Expert number"), max_length=30, required=False)
    hospital = forms.ModelChoiceField(label=_("Hospital"), queryset=Hospital.objects.none())
    specialties = forms.ModelMultipleChoiceField(label=_("Specialties"), queryset=Specialty.objects.all(),
                                                 widget=forms.CheckboxSelectMultiple)
    title = forms.CharField(label=_("Title"), max_length=30, help_text=_("e.g. 主任医师"))
    senior_title = forms.BooleanField(label=_("Senior title checked"), required=False)
    term_start = forms.DateField(label=_("Term starts"), widget=DateInput)
    term_end = forms.DateField(label=_("Term ends"), widget=DateInput)
    status = forms.ChoiceField(label=_("Status"), choices=Expert.Status.choices, initial=Expert.Status.ACTIVE)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    version = VersionFormField()

    def __init__(self, *args: Any, committee: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hospital"].queryset = Hospital.objects.filter(committee=committee).order_by("code")

    @classmethod
    def initial_for(cls, expert: Expert) -> dict[str, Any]:
        return {"name": expert.name, "code": expert.code, "hospital": expert.hospital_id,
                "specialties": list(expert.specialties.all()), "title": expert.title,
                "senior_title": expert.senior_title, "term_start": expert.term_start, "term_end": expert.term_end,
                "status": expert.status, "phone": expert.phone, "version": expert.version}


class HospitalForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)
    level = forms.CharField(label=_("Level"), max_length=20, required=False, help_text=_("e.g. 三级甲等"))
    version = VersionFormField()


class TrainingForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DateInput)
    topic = forms.CharField(label=_("Topic"), max_length=200)
    hours = forms.DecimalField(label=_("Hours"), max_digits=5, decimal_places=1, min_value=0)


class UnavailableForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DateInput)
    end = forms.DateField(label=_("To"), widget=DateInput)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class ConflictForm(forms.Form):
    worker_id_number = forms.CharField(label=_("Worker's ID number"), max_length=24, required=False)
    employer_credit_code = forms.CharField(label=_("Employer's unified social credit code"), max_length=24,
                                           required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class PoolSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or expert number"), required=False)
    hospital = forms.ModelChoiceField(label=_("Hospital"), queryset=Hospital.objects.none(), required=False)
    specialty = forms.ModelChoiceField(label=_("Specialty"), queryset=Specialty.objects.all(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", "—"), *Expert.Status.choices], required=False)
    term_end_before = forms.DateField(label=_("Term ends by"), required=False, widget=DateInput)

    def __init__(self, *args: Any, committee: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hospital"].queryset = Hospital.objects.filter(committee=committee).order_by("code")
