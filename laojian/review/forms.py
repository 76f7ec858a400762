"""Forms of the collective discussion pages. They only parse what was typed; the services decide
whether a meeting, a motion or a vote is allowed."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.grading.rules import GRADES, CareLevel, MedicalDependency, grade_label
from laojian.review.models import AgendaItem, Vote

CLAUSE_SEPARATORS = re.compile(r"[\s,，、;；]+")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class ConveneForm(forms.Form):
    held_on = forms.DateField(label=_("Date"), widget=DateInput())
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    members = forms.TypedMultipleChoiceField(label=_("Members invited"), coerce=int, required=False,
                                             widget=forms.CheckboxSelectMultiple,
                                             help_text=_("You are a member of the meetings you convene."))
    cases = forms.TypedMultipleChoiceField(label=_("Cases on the agenda"), coerce=int,
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, members: list[tuple[int, str]] = (), cases: list[tuple[int, str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = list(members)
        self.fields["cases"].choices = list(cases)


class AgendaAddForm(forms.Form):
    case = forms.TypedChoiceField(label=_("Case"), coerce=int)

    def __init__(self, *args: Any, cases: list[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case"].choices = list(cases)


class OpenForm(forms.Form):
    present = forms.TypedMultipleChoiceField(label=_("Members present"), coerce=int, required=False,
                                             widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, members: list[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["present"].choices = list(members)


class RecusalForm(forms.Form):
    member = forms.TypedChoiceField(label=_("Member"), coerce=int)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.TextInput())

    def __init__(self, *args: Any, members: list[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = list(members)


class NotesForm(forms.Form):
    notes = forms.CharField(label=_("Discussion notes"), required=False, max_length=10000,
                            widget=forms.Textarea(attrs={"rows": 4}))


class MotionForm(forms.Form):
    decision = forms.ChoiceField(label=_("The motion"), choices=AgendaItem.Decision.choices,
                                 widget=forms.RadioSelect)
    clauses = forms.CharField(label=_("Clauses"), max_length=300, required=False,
                              help_text=_("Separate them with commas or spaces, e.g. 5.9.2(1), 5.10.2(12)"))
    grade = forms.TypedChoiceField(label=_("Grade"), choices=[("", "—"), *((g, grade_label(g)) for g in GRADES)],
                                   coerce=int, empty_value=None, required=False)
    care_level = forms.ChoiceField(label=_("Care dependency"), choices=CareLevel.choices, required=False,
                                   initial=CareLevel.NONE)
    medical_dependency = forms.ChoiceField(label=_("Medical dependency"), choices=MedicalDependency.choices,
                                           required=False, initial=MedicalDependency.NONE)
    months = forms.IntegerField(label=_("Months"), min_value=0, max_value=99, required=False)
    basis = forms.CharField(label=_("Basis"), required=False, max_length=4000,
                            widget=forms.Textarea(attrs={"rows": 2}))
    examinations = forms.CharField(label=_("Which examinations"), required=False, max_length=1000,
                                   widget=forms.Textarea(attrs={"rows": 2}))
    examinations_where = forms.CharField(label=_("Where"), required=False, max_length=200)
    examinations_by = forms.DateField(label=_("By when"), required=False, widget=DateInput())

    def clean_clauses(self) -> list[str]:
        return [c for c in CLAUSE_SEPARATORS.split(self.cleaned_data.get("clauses") or "") if c]


class VoteForm(forms.Form):
    """A member's own vote, or (``member``) the chair recording the vote of a member in the room."""

    choice = forms.ChoiceField(choices=Vote.Choice.choices)
    member = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SignForm(forms.Form):
    password = forms.CharField(label=_("Your password, to sign"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
