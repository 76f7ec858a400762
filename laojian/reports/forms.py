"""The statistics filters: period, committee and the narrowing filters, checked with clear errors."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from laojian.cases.models import CaseType, Mode
from laojian.core.models import Committee
from laojian.experts import selectors as experts_selectors
from laojian.reports.scope import Scope

# A statistics period longer than this is a mistake rather than a question (a province over a decade
# still fits).
MAX_YEARS = 20


class CommitteeChoice:
    """A form's ``committee`` field over the committees the user may see: hidden when there is one,
    empty for all of them."""

    committees: QuerySet[Committee]

    def limit_committees(self, committees: QuerySet[Committee]) -> None:
        self.committees = committees
        self.fields["committee"].queryset = committees
        if committees.count() < 2:
            self.fields["committee"].widget = forms.HiddenInput()

    def committee_ids(self) -> tuple[int, ...]:
        chosen = self.cleaned_data.get("committee")
        return (chosen.pk,) if chosen else tuple(self.committees.values_list("pk", flat=True))


class StatisticsFilterForm(CommitteeChoice, forms.Form):
    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    committee = forms.ModelChoiceField(label=_("Committee"), queryset=Committee.objects.none(), required=False,
                                       empty_label=_("all committees I may see"))
    county = forms.CharField(label=_("County/district of the worker"), max_length=50, required=False)
    mode = forms.ChoiceField(label=_("Appraisal mode"), required=False,
                             choices=[("", _("all modes"))] + list(Mode.choices))
    case_type = forms.ChoiceField(label=_("Case type"), required=False,
                                  choices=[("", _("all case types"))] + list(CaseType.choices))
    hospital = forms.ModelChoiceField(label=_("Hospital of a panel expert"), queryset=Committee.objects.none(),
                                      required=False, empty_label=_("any hospital"))
    specialty = forms.ModelChoiceField(label=_("Specialty of a panel expert"), queryset=Committee.objects.none(),
                                       required=False, empty_label=_("any specialty"))

    def __init__(self, data, *, committees: QuerySet[Committee], **kwargs):
        today = timezone.localdate()
        data = data.copy() if data is not None else {}
        data.setdefault("first", dt.date(today.year, 1, 1).isoformat())
        data.setdefault("last", today.isoformat())
        super().__init__(data, **kwargs)
        self.limit_committees(committees)
        hospitals, specialties = experts_selectors.hospitals_and_specialties(list(committees.values_list("pk",
                                                                                                        flat=True)))
        self.fields["hospital"].queryset = hospitals
        self.fields["specialty"].queryset = specialties

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last:
            if last < first:
                self.add_error("last", _("The end of the period is before its start."))
            elif (last - first).days > MAX_YEARS * 366:
                self.add_error("last", _("Choose a period of at most %(years)s years.") % {"years": MAX_YEARS})
        return data

    def scope(self) -> Scope:
        """The scope of a valid form."""
        d = self.cleaned_data
        return Scope(committee_ids=self.committee_ids(), first=d["first"], last=d["last"], county=d.get("county") or "",
                     mode=d.get("mode") or "", case_type=d.get("case_type") or "",
                     hospital_id=d["hospital"].pk if d.get("hospital") else None,
                     specialty_id=d["specialty"].pk if d.get("specialty") else None)
