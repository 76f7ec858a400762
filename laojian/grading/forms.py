"""Forms of the grading pages: the catalogue search, the expert's opinion editor (findings and
graded injuries as rows), and the leader's and clerk's small forms on the case's grading page.

The forms only parse what was typed; the services decide whether it makes a valid opinion."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from laojian.core.categories import Category
from laojian.grading.rules import GRADES, Activity, MedicalDependency, grade_label

GRADE_CHOICES = [(g, grade_label(g)) for g in GRADES]
DIAGNOSIS_SEPARATORS = re.compile(r"[\s,，、;；]+")


# THE CATALOGUE ------------------------------------------------------------------------------------

class ClauseSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                      "placeholder": _("e.g. 拇指 缺失, or 5.7.2")}))
    grade = forms.TypedChoiceField(label=_("Grade"), choices=[("", _("All grades")), *GRADE_CHOICES], coerce=int,
                                   empty_value=None, required=False)
    category = forms.TypedChoiceField(label=_("Category"), choices=[("", _("All categories")), *Category.choices],
                                      coerce=int, empty_value=None, required=False)
    body_part = forms.ChoiceField(label=_("Body part"), required=False)

    def __init__(self, *args, body_parts: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body_part"].choices = [("", _("All body parts")), *((p, p) for p in body_parts)]


class ClauseLookupForm(forms.Form):
    """The small clause search inside the opinion editor."""

    q = forms.CharField(max_length=100, required=False)


# THE OPINION EDITOR -------------------------------------------------------------------------------

class FindingForm(forms.Form):
    body_part = forms.CharField(label=_("Body part"), max_length=30, required=False)
    text = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("body_part", "").strip() and not data.get("text", "").strip():
            self.add_error("text", _("Write what was found, or clear the body part."))
        return data


class ItemForm(forms.Form):
    injury = forms.CharField(label=_("Injury"), max_length=200, required=False)
    clause = forms.CharField(label=_("Clause"), max_length=20, required=False,
                             widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "5.10.2(12)"}))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("injury", "").strip() and not data.get("clause", "").strip():
            self.add_error("clause", _("Give the clause that grades this injury."))
        return data


FindingFormSet = forms.formset_factory(FindingForm, extra=0)
ItemFormSet = forms.formset_factory(ItemForm, extra=0)


class OpinionForm(forms.Form):
    """Everything of an opinion but its rows. Period fields exist only in period cases; the grade
    choice is offered only where the standard lets the expert pick one of two grades."""

    care_needs = forms.MultipleChoiceField(
        label=_("Activities the worker cannot do without another person's help"), choices=Activity.choices,
        required=False, widget=forms.CheckboxSelectMultiple)
    medical_dependency = forms.ChoiceField(label=_("Medical dependency"), choices=MedicalDependency.choices)
    pre_existing = forms.CharField(label=_("Pre-existing disability"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 2}))
    grade = forms.TypedChoiceField(label=_("Grade"), choices=GRADE_CHOICES, coerce=int, empty_value=None,
                                   required=False, widget=forms.RadioSelect)
    months = forms.IntegerField(label=_("Months recommended"), min_value=0, max_value=99, required=False)
    prior_months = forms.IntegerField(label=_("Months already granted"), min_value=0, max_value=99,
                                      required=False)
    diagnoses = forms.CharField(label=_("ICD-10 codes of the injuries"), max_length=300, required=False,
                                help_text=_("Separate them with commas or spaces, e.g. S62.0, S52.5"))
    complication = forms.BooleanField(label=_("Infection or complication"), required=False)
    period_reasons = forms.CharField(label=_("Why these months"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))
    basis = forms.CharField(label=_("Basis"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    password = forms.CharField(label=_("Your password, to sign"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    PERIOD_FIELDS = ("months", "prior_months", "diagnoses", "complication", "period_reasons")

    def __init__(self, *args, period: tuple[str, bool] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if period is None:
            for name in self.PERIOD_FIELDS:
                del self.fields[name]
        elif not period[1]:
            del self.fields["prior_months"]

    def clean_diagnoses(self) -> list[str]:
        return [code for code in DIAGNOSIS_SEPARATORS.split(self.cleaned_data["diagnoses"]) if code]


# THE CASE'S GRADING PAGE --------------------------------------------------------------------------

class ApproveForm(forms.Form):
    basis = forms.CharField(label=_("Basis of the conclusion"), widget=forms.Textarea(attrs={"rows": 3}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput)


class ExtensionRequestForm(forms.Form):
    reason = forms.CharField(label=_("Why the case needs more time"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionApproveForm(forms.Form):
    note = forms.CharField(label=_("Reason for the extension"), max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise ValidationError(_("Give the reason for the extension."))
        return note


class AdoptSecondOpinionForm(forms.Form):
    reason = forms.CharField(label=_("Why the second opinion is adopted"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))
