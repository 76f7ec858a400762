"""Forms of the documents pages: issuing a document from the case, the reprint's reason, a
template's wording, and the public page's code box.

The forms only parse what was typed; the services decide whether it makes a document."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from laojian.documents.models import Document, Kind, Template
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

    @classmethod
    def of(cls, template: Template) -> TemplateForm:
        return cls(initial={"title": template.title, "recipient": template.recipient, "body": template.body,
                            "number_format": template.number_format})


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("Verification code"), max_length=32,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "inputmode": "latin",
                                                         "class": "mono"}))
