"""Application forms (online in the portal, and at the clerk's counter): every field validated with its
message next to it, in the user's language."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from laojian.cases import clocks, services
from laojian.cases.models import ApplicantKind, CaseType, Mode, Sensitivity
from laojian.core import notices
from laojian.core.models import Committee
from laojian.core.validators import MOBILE, normalize_credit_code, parse_resident_id

# The portal offers the city committee's business; re-appraisal is filed with the province.
PORTAL_CASE_TYPES = [(v, label) for v, label in CaseType.choices if v != CaseType.REAPPRAISAL]
PORTAL_APPLICANT_KINDS = [(v, label) for v, label in ApplicantKind.choices if v != ApplicantKind.AGENCY]


class ApplicationForm(forms.Form):
    committee = forms.ModelChoiceField(label=_("Appraisal committee"), queryset=Committee.objects.none())
    case_type = forms.ChoiceField(label=_("What do you apply for?"), choices=PORTAL_CASE_TYPES)
    applicant_kind = forms.ChoiceField(label=_("Who is applying?"), choices=PORTAL_APPLICANT_KINDS)
    applicant_name = forms.CharField(label=_("Applicant's name (if not the worker)"), max_length=100, required=False)
    applicant_phone = forms.CharField(label=_("Applicant's mobile number (for SMS about the case)"), max_length=20,
                                      required=False, widget=forms.TextInput(attrs={"inputmode": "tel"}))
    mode = forms.ChoiceField(
        label=_("How should the appraisal take place?"), choices=Mode.choices, initial=Mode.SITTING,
        help_text=_("Choose a home visit or a remote appraisal only if the worker cannot travel, and say why."),
    )
    mode_reason = forms.CharField(label=_("Why the worker cannot travel"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    worker_name = forms.CharField(label=_("Worker's name"), max_length=50)
    worker_id_number = forms.CharField(label=_("Worker's ID number"), max_length=24)
    worker_phone = forms.CharField(label=_("Worker's mobile number"), max_length=20, required=False,
                                   widget=forms.TextInput(attrs={"inputmode": "tel"}))
    worker_address = forms.CharField(label=_("Worker's address"), max_length=200, required=False)
    worker_county = forms.CharField(label=_("County or district"), max_length=50, required=False)
    employer_name = forms.CharField(label=_("Employer"), max_length=100)
    employer_credit_code = forms.CharField(label=_("Employer's unified social credit code"), max_length=24)
    determination_number = forms.CharField(label=_("Number of the work-injury determination"), max_length=60)
    injury_date = forms.DateField(label=_("Date of the injury"), widget=forms.DateInput(attrs={"type": "date"}))
    determination_date = forms.DateField(label=_("Date of the determination"),
                                         widget=forms.DateInput(attrs={"type": "date"}))
    injured_parts = forms.CharField(label=_("Injured parts of the body"), max_length=200)
    diagnosis = forms.CharField(label=_("Diagnosis"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        committees = Committee.objects.filter(level=Committee.Level.CITY).order_by("code")
        self.fields["committee"].queryset = committees
        if committees.count() == 1:
            self.fields["committee"].initial = committees.first()
            self.fields["committee"].widget = forms.HiddenInput()

    def clean_worker_id_number(self) -> str:
        return parse_resident_id(self.cleaned_data["worker_id_number"]).number

    def clean_employer_credit_code(self) -> str:
        return normalize_credit_code(self.cleaned_data["employer_credit_code"])

    def _mobile(self, name: str) -> str:
        phone = self.cleaned_data[name].replace(" ", "").replace("-", "")
        if phone and not MOBILE.match(phone):
            raise ValidationError(_("Enter an 11-digit mainland mobile number, e.g. 13800000000."))
        return phone

    def clean_worker_phone(self) -> str:
        return self._mobile("worker_phone")

    def clean_applicant_phone(self) -> str:
        return self._mobile("applicant_phone")

    def clean(self) -> dict:
        data = super().clean()
        today = clocks.today()
        injury, determined = data.get("injury_date"), data.get("determination_date")
        if injury and injury > today:
            self.add_error("injury_date", _("The injury date cannot be in the future."))
        if determined and determined > today:
            self.add_error("determination_date", _("The determination date cannot be in the future."))
        if injury and determined and determined < injury:
            self.add_error("determination_date", _("The determination date cannot be before the injury date."))
        worker_id = data.get("worker_id_number")
        if injury and worker_id and injury < parse_resident_id(worker_id).birth_date:
            self.add_error("injury_date", _("The injury date cannot be before the worker was born."))
        if data.get("mode") in {Mode.HOME, Mode.REMOTE} and not data.get("mode_reason", "").strip():
            self.add_error("mode_reason", _("Say why the worker cannot travel to the appraisal."))
        if data.get("applicant_kind") != ApplicantKind.WORKER and not data.get("applicant_name", "").strip():
            self.add_error("applicant_name", _("Enter the name of the person or company applying."))
        return data


class NoticeFormMixin(forms.Form):
    """The personal-information notice at intake (SEC-61): the version shown, sent back by the page
    (``notice_version``, a hidden input the template writes from ``core.notices.current()``), and the
    acknowledgement box. A version other than the current one (the notice changed while the form was
    open) is refused, so the version stored is always the one on the page."""

    notice_version = forms.CharField(max_length=20, widget=forms.HiddenInput)
    acknowledgement_label = ""
    acknowledgement_missing = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["notice_acknowledged"] = forms.BooleanField(
            label=self.acknowledgement_label, required=True,
            error_messages={"required": self.acknowledgement_missing},
        )

    def clean_notice_version(self) -> str:
        version = self.cleaned_data["notice_version"]
        if version != notices.current().version:
            raise ValidationError(_("The notice on the processing of personal information changed while the form "
                                    "was open. Read the current version and confirm again."))
        return version


class CounterApplicationForm(NoticeFormMixin, ApplicationForm):
    """The clerk's counter registration: the clerk confirms that the printed notice was shown."""

    acknowledgement_label = _("I showed the applicant the printed notice on the processing of personal "
                              "information (the version above).")
    acknowledgement_missing = _("Show the applicant the printed notice on the processing of personal "
                                "information, then tick this box.")


def register_arguments(cleaned: dict) -> dict:
    """The keyword arguments of ``services.case_register`` for a valid application form."""
    return {
        "committee": cleaned["committee"],
        "worker": services.WorkerInput(
            id_number=cleaned["worker_id_number"], name=cleaned["worker_name"],
            phone=cleaned.get("worker_phone", ""), address=cleaned.get("worker_address", ""),
            county=cleaned.get("worker_county", ""),
        ),
        "employer": services.EmployerInput(credit_code=cleaned["employer_credit_code"], name=cleaned["employer_name"]),
        "determination": services.DeterminationInput(
            number=cleaned["determination_number"], injury_date=cleaned["injury_date"],
            determination_date=cleaned["determination_date"], injured_parts=cleaned["injured_parts"],
            diagnosis=cleaned["diagnosis"],
        ),
        "case_type": cleaned["case_type"],
        "applicant_kind": cleaned["applicant_kind"],
        "applicant_name": cleaned.get("applicant_name", ""),
        "applicant_phone": cleaned.get("applicant_phone", ""),
        "mode": cleaned["mode"],
        "mode_reason": cleaned.get("mode_reason", ""),
        "notice_version": cleaned.get("notice_version", ""),
    }


# Service field names that differ from the form's, to put a service's error next to its field.
SERVICE_FIELDS = {"id_number": "worker_id_number", "name": "worker_name", "credit_code": "employer_credit_code"}


def add_service_errors(form: forms.Form, fields: dict) -> None:
    """Show a service's ValidationFailed field errors next to the form's fields."""
    for field, messages in (fields or {}).items():
        target = SERVICE_FIELDS.get(field, field)
        form.add_error(target if target in form.fields else None, messages)


class SensitivityForm(forms.Form):
    """The leader's label for a case, and why."""

    sensitivity = forms.ChoiceField(label=_("Sensitivity"), choices=Sensitivity.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500)
