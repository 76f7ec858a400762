"""Forms of the sitting pages (planning and the day): they parse and keep what was typed; the
services judge it (dates, rooms, identities)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.sittings.models import DEFAULT_BRING, Venue


class SittingForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    venue = forms.ModelChoiceField(label=_("Venue"), queryset=Venue.objects.none())
    starts_at = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends_at = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}))
    bring = forms.CharField(label=_("What to bring"), max_length=200, required=False, initial=DEFAULT_BRING)
    non_working_reason = forms.CharField(
        label=_("Why on a non-working day"), max_length=200, required=False,
        help_text=_("Required when the date is a weekend or public holiday."))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, committee=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["venue"].queryset = Venue.objects.filter(committee=committee, active=True).order_by("name")


class VenueForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200)
    directions = forms.CharField(label=_("How to get there"), max_length=300, required=False)
    rooms = forms.CharField(label=_("Rooms, one a line"), widget=forms.Textarea(attrs={"rows": 3}))

    def room_names(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["rooms"].splitlines() if line.strip()]


class CancelSittingForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CheckInForm(forms.Form):
    id_number = forms.CharField(label=_("ID number (typed or scanned)"), max_length=30,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
    photo_matched = forms.BooleanField(label=_("The worker matches the photo on the ID card"), required=False)
