"""Forms of partner sources and their imports (the liaison's pages). Parsing only: the services
in ``partners`` check and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from laojian.crosscheck import partners
from laojian.crosscheck.models import Source


class SourceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of records"), choices=Source.Kind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("How the committee calls this feed, e.g. 市医保局结算数据."))
    department = forms.CharField(label=gettext_lazy("Department"), max_length=100, required=False,
                                 help_text=gettext_lazy("The department that sends it (cross-check letters go there)."))


class UploadForm(forms.Form):
    # Empty files are let through: the import's own check says so in its words.
    file = forms.FileField(label=gettext_lazy("Partner file (CSV or Excel)"), allow_empty_file=True,
                           help_text=gettext_lazy("CSV in UTF-8 or GBK, or an Excel workbook (.xlsx); the header "
                                                  "on the first line. Files of several GB are fine."))
    remap = forms.BooleanField(label=gettext_lazy("Map the columns again with this file"), required=False,
                               help_text=gettext_lazy("When the department changed the layout of its files."))


class MappingForm(forms.Form):
    """One choice per field of ours: which of the file's columns holds it (or none)."""

    def __init__(self, *args: Any, kind: str, headers: list[str], mapping: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        choices = [("", "—"), *[(header, header) for header in headers]]
        required = {name for group in partners.required_for(kind) for name in group}
        groups = {name: group for group in partners.required_for(kind) for name in group}
        for field in partners.fields_for(kind):
            help_text = ""
            if field.name in required:
                group = groups[field.name]
                help_text = (gettext_lazy("Required.") if len(group) == 1
                             else gettext_lazy("This or the other hospital field is required."))
            self.fields[field.name] = forms.ChoiceField(
                label=field.label, choices=choices, required=False, help_text=help_text,
                initial=mapping.get(field.name) if mapping.get(field.name) in headers else "")

    def mapping(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if value}
