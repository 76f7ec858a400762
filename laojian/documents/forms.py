"""Forms of the documents pages: issuing a document from the case, the reprint's reason, the
delivery of a document (sent, received), a template's wording, the public page's code box, and the
archive's search and the reason an archived file is opened.

The forms only parse what was typed; the services decide whether it makes a document."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from laojian.cases.uploads import ACCEPT
from laojian.core.versioning import VersionFormField
from laojian.documents.models import Delivery, Document, Kind, Template
from laojian.documents.values import SAMPLE

# The default of ``values.case_values``: what the worker brings to the appraisal, unless changed.
DEFAULT_BRING = "身份证原件、病历及影像资料原件"


class IssueForm(forms.Form):
    """One form for every kind: the note is the reasons, the list of materials or free text; the
    appraisal notice adds when, where and what to bring; the delivery receipt names the document
    delivered (one of the case's own)."""

    kind = forms.ChoiceField(label=_("Document"), choices=[("", "—"), *Kind.choices])
    note = forms.CharField(
        label=_("Note"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The reasons (rejection, termination), the list of materials to bring (correction), "
                    "or the text of a record or letter."))
    appraisal_when = forms.CharField(label=_("Date and time of the appraisal"), required=False, max_length=100,
                                     widget=forms.TextInput(attrs={"placeholder": SAMPLE["appraisal"]["when"]}))
    appraisal_place = forms.CharField(label=_("Place of the appraisal"), required=False, max_length=200,
                                      widget=forms.TextInput(attrs={"placeholder": SAMPLE["appraisal"]["place"]}))
    appraisal_bring = forms.CharField(label=_("What to bring"), required=False, max_length=200,
                                      initial=DEFAULT_BRING)
    delivery = forms.TypedChoiceField(label=_("Document delivered"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, documents: list[Document] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = {d.pk: d for d in documents if d.kind != Kind.DELIVERY_RECEIPT}
        self.fields["delivery"].choices = [("", "—"), *((pk, f"{d.title} {d.number}") for pk, d in self.documents.items())]

    def extra(self) -> dict[str, dict[str, str]]:
        """The values this kind of document takes besides the case's own (``document_issue(extra=)``)."""
        data, kind = self.cleaned_data, self.cleaned_data.get("kind")
        if kind == Kind.APPRAISAL:
            appraisal = {"when": data.get("appraisal_when", "").strip(), "place": data.get("appraisal_place", "").strip()}
            if data.get("appraisal_bring", "").strip():
                appraisal["bring"] = data["appraisal_bring"].strip()
            return {"appraisal": appraisal}
        if kind == Kind.DELIVERY_RECEIPT and data.get("delivery") in self.documents:
            delivered = self.documents[data["delivery"]]
            return {"delivery": {"title": delivered.title, "number": delivered.number}}
        return {}


# Where a value the service found empty is typed on the issue form.
ISSUE_FIELDS = {"note": "note", "appraisal.when": "appraisal_when", "appraisal.place": "appraisal_place",
                "delivery.title": "delivery", "delivery.number": "delivery"}


class ReprintForm(forms.Form):
    reason = forms.CharField(label=_("Why it is printed again"), required=False, max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. the applicant lost the original")}))


# The recipient of the copy to the social-insurance agency, when none is typed.
AGENCY_RECIPIENT = "社会保险经办机构"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DeliverySendForm(forms.Form):
    """A document sent to one recipient. The service decides whether the dates and the proof of
    posting make a delivery; this form only parses. Ticking the agency copy with the recipient left
    empty addresses it to the social-insurance agency."""

    method = forms.ChoiceField(label=_("Method"), choices=[("", "—"), *Delivery.Method.choices])
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=100)
    tracking_number = forms.CharField(label=_("Tracking number"), required=False, max_length=40,
                                      help_text=_("Required for registered post."),
                                      widget=forms.TextInput(attrs={"class": "mono", "autocomplete": "off"}))
    sent_on = forms.DateField(label=_("Sent on"), widget=DateInput())
    to_agency = forms.BooleanField(
        label=_("Copy to the social-insurance agency"), required=False,
        help_text=format_lazy(_("Left empty, the recipient becomes {agency}."), agency=AGENCY_RECIPIENT))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("to_agency") and not (data.get("recipient") or "").strip():
            data["recipient"] = AGENCY_RECIPIENT
        return data


class DeliveryReceiveForm(forms.Form):
    """The proof that a delivery arrived: the day, and the scan of the signed receipt or the
    e-delivery confirmation. The service checks the scan (PDF, JPEG or PNG) and the dates."""

    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    receipt = forms.FileField(label=_("Scan of the signed receipt"), required=False,
                              help_text=_("PDF, JPEG or PNG."),
                              widget=forms.FileInput(attrs={"accept": ACCEPT}))
    confirmation = forms.CharField(label=_("E-delivery confirmation"), required=False, max_length=200,
                                   help_text=_("For electronic delivery: the platform's confirmation number or text."))


class TemplateForm(forms.Form):
    """A template's wording as typed; the service checks its fields and the required values."""

    title = forms.CharField(label=_("Title"), required=False, max_length=60)
    recipient = forms.CharField(label=_("Addressed to"), required=False, max_length=200,
                                help_text=_("e.g. {{ worker.name }}："))
    body = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 16}),
                           help_text=_("Paragraphs separated by an empty line; fields as {{ worker.name }}."))
    number_format = forms.CharField(
        label=_("Number format"), required=False, max_length=60, widget=forms.TextInput(attrs={"class": "mono"}),
        help_text=_("Placeholders: {prefix} (the committee's case number prefix), {year}, {seq}."))
    based_on = VersionFormField()  # the version in force when the form was opened (optimistic lock)

    @classmethod
    def of(cls, template: Template) -> TemplateForm:
        return cls(initial={"title": template.title, "recipient": template.recipient, "body": template.body,
                            "number_format": template.number_format})


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("Verification code"), max_length=32,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "inputmode": "latin",
                                                         "class": "mono"}))


class ArchiveSearchForm(forms.Form):
    """The archive's search box: words (all must match) and the year the case was archived."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        help_text=_("Case number, worker name, ID number, employer or document number."),
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    year = forms.TypedChoiceField(label=_("Archived in"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, years: list[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("Any year")), *((year, str(year)) for year in years)]


class ArchiveOpenForm(forms.Form):
    """Why an archived file is opened; the service refuses an empty reason (and logs the rest)."""

    reason = forms.CharField(label=_("Why the file is opened"), required=False, max_length=200,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. re-appraisal application of the worker")}))
