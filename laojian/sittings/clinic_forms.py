"""Forms of the clinic pages (the roster, booking a slot): they parse and keep what was typed; the
services in ``clinic.py`` judge it (whose expert, which specialty, overlaps, taken slots)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.sittings.models import Half, Room, RosterEntry, Venue

WEEKDAYS = RosterEntry._meta.get_field("weekday").choices


class RosterForm(forms.Form):
    expert = forms.ModelChoiceField(label=_("Expert"), queryset=None)
    specialty = forms.ModelChoiceField(label=_("Specialty"), queryset=None)
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int)
    half = forms.ChoiceField(label=_("Half-day"), choices=Half.choices)
    venue = forms.ModelChoiceField(label=_("Venue"), queryset=Venue.objects.none())
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text=_("Empty: until further notice."))

    def __init__(self, *args, committee=None, **kwargs):
        from laojian.experts.selectors import committee_experts, specialties_of_committee_experts

        super().__init__(*args, **kwargs)
        self.fields["expert"].queryset = committee_experts(committee).select_related("hospital")
        self.fields["specialty"].queryset = specialties_of_committee_experts(committee)
        self.fields["venue"].queryset = Venue.objects.filter(committee=committee, active=True).order_by("name")
        self.fields["room"].queryset = (Room.objects.filter(venue__committee=committee, active=True)
                                        .select_related("venue").order_by("venue__name", "order", "id"))

    def clean(self):
        data = super().clean()
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            self.add_error("valid_to", _("The roster line cannot end before it starts."))
        return data


class RosterEndForm(forms.Form):
    valid_to = forms.DateField(label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}))


class SlotForm(forms.Form):
    """The slot chosen (``<roster line>@<local start>``, as ``clinic.Slot.key`` writes it)."""

    slot = forms.CharField(max_length=40)
