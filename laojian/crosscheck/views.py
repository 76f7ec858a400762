"""Pages of the cross-check work: a case's claimed care, its cross-check page (flags, the last run,
a run on demand, letters and replies), a flag with its evidence, the liaison's queue, the leader's
override, and the statistics.

Thin: forms parse, selectors read, services write; an ``ApplicationError`` becomes a message (or
errors on the form, with what was typed kept) and a ``NotFoundError`` a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.cases import clocks
from laojian.cases.models import Case
from laojian.cases.selectors import case_get_for
from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError, ValidationFailed
from laojian.core.http import HttpResponseSeeOther
from laojian.core.versioning import VersionFormField
from laojian.crosscheck import matching, selectors, services
from laojian.crosscheck.models import ClaimedCare, Flag

QUEUE_PAGE_SIZE = 50
NOT_FOUND = gettext_lazy("No such case, or it is not yours to see.")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


# FORMS -------------------------------------------------------------------------------------------

class ClaimedCareForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ClaimedCare.Kind.choices)
    hospital_name = forms.CharField(label=gettext_lazy("Hospital"), max_length=100, required=False)
    hospital_code = forms.CharField(label=gettext_lazy("Hospital code"), max_length=40, required=False,
                                    help_text=gettext_lazy("The medical institution code, when the materials show it."))
    started_on = forms.DateField(label=gettext_lazy("Admitted on / visit date"), required=False, widget=DateInput())
    ended_on = forms.DateField(label=gettext_lazy("Discharged on"), required=False, widget=DateInput(),
                               help_text=gettext_lazy("For a hospital stay."))
    diagnosis = forms.CharField(label=gettext_lazy("Diagnosis"), max_length=200, required=False)
    icd10 = forms.CharField(label=gettext_lazy("ICD-10 code"), max_length=12, required=False,
                            help_text=gettext_lazy("Where the record gives it, e.g. S62.0."))
    record_number = forms.CharField(label=gettext_lazy("Record number"), max_length=60, required=False)
    version = VersionFormField()

    def to_input(self) -> services.ClaimedCareInput:
        return services.ClaimedCareInput(**{k: v for k, v in self.cleaned_data.items() if k != "version"})

    @classmethod
    def for_care(cls, care: ClaimedCare) -> ClaimedCareForm:
        return cls(initial={**{name: getattr(care, name) for name in services.CARE_FIELDS}, "version": care.version})


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), widget=forms.RadioSelect, required=False, choices=[
        (Flag.State.CLEARED, gettext_lazy("Cleared: the doubt is explained")),
        (Flag.State.CONFIRMED, gettext_lazy("Confirmed: the doubt stands")),
    ])
    note = forms.CharField(label=gettext_lazy("Why"), max_length=4000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


class LetterForm(forms.Form):
    flags = forms.TypedMultipleChoiceField(label=gettext_lazy("Flags the letter asks about"), coerce=int,
                                           widget=forms.CheckboxSelectMultiple, required=False)
    department = forms.CharField(label=gettext_lazy("Department"), max_length=100, required=False)
    questions = forms.CharField(label=gettext_lazy("Questions"), max_length=8000, required=False,
                                widget=forms.Textarea(attrs={"rows": 8}),
                                help_text=gettext_lazy("Built from the flags' evidence; edit before sending."))

    def __init__(self, *args: Any, flags: list[Flag] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flags"].choices = [(f.pk, f"{f.get_rule_display()} · {f.hospital_name}") for f in flags]


class ReplyForm(forms.Form):
    reply_on = forms.DateField(label=gettext_lazy("Reply received on"), required=False, widget=DateInput())
    reply = forms.CharField(label=gettext_lazy("Reply"), max_length=8000, required=False,
                            widget=forms.Textarea(attrs={"rows": 4}))
    outcome = forms.ChoiceField(label=gettext_lazy("The letter's doubts are"), required=False, choices=[
        ("", gettext_lazy("to be decided flag by flag")),
        (Flag.State.CLEARED, gettext_lazy("cleared by the reply")),
        (Flag.State.CONFIRMED, gettext_lazy("confirmed by the reply")),
    ])
    note = forms.CharField(label=gettext_lazy("Note"), max_length=4000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=gettext_lazy("Why the reply clears or confirms them (default: the reply)."))


class OverrideForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why the conclusion may be approved with these doubts open"),
                             max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class QueueFilterForm(forms.Form):
    rule = forms.ChoiceField(label=gettext_lazy("Rule"), required=False,
                             choices=[("", gettext_lazy("All rules")), *Flag.Rule.choices])
    hospital = forms.ChoiceField(label=gettext_lazy("Hospital"), required=False)

    def __init__(self, *args: Any, hospitals: list[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hospital"].choices = [("", _("All hospitals")), *((h, h) for h in hospitals)]


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())


def _form_errors(form: forms.Form, exc: ApplicationError) -> None:
    """Put a service's refusal on the field it names, else on the form."""
    fields = exc.extra.get("fields", {}) if isinstance(exc, ValidationFailed) else {}
    placed = False
    for name, errors in fields.items():
        if name in form.fields:
            for error in errors:
                form.add_error(name, error)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return case_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(NOT_FOUND) from None


def _staff_or_404(request: HttpRequest, pk: int) -> Case:
    """The case, for a user who may see cross-check flags (applicants and experts may not)."""
    if not request.user.has_perm("crosscheck.view_flag"):
        raise Http404(NOT_FOUND)
    return _case_or_404(request, pk)


# CLAIMED CARE ------------------------------------------------------------------------------------

def _care_page(request: HttpRequest, case: Case, form: ClaimedCareForm | None = None, *,
               editing: ClaimedCare | None = None, status: int = 200) -> HttpResponse:
    entered_from = services.care_entered_from(request.user, case)
    items = list(selectors.case_claimed_care(case))
    for item in items:
        item.may_change = entered_from == ClaimedCare.EnteredFrom.CLERK or (
            entered_from == ClaimedCare.EnteredFrom.APPLICANT and item.entered_from == entered_from)
    context = {
        "case": case, "items": items, "may_add": entered_from is not None, "editing": editing,
        "form": form if form is not None else (ClaimedCareForm.for_care(editing) if editing else ClaimedCareForm()),
        "is_staff": request.user.has_perm("crosscheck.view_flag"),
    }
    return render(request, "crosscheck/claimed_care.html", context, status=status)


def _care_visible(request: HttpRequest, pk: int) -> Case:
    case = _case_or_404(request, pk)
    user = request.user
    if not (user.has_perm("crosscheck.view_flag") or user.has_perm("crosscheck.enter_claimed_care")):
        raise Http404(NOT_FOUND)
    return case


@require_http_methods(["GET", "POST"])
@login_required
def claimed_care(request: HttpRequest, pk: int) -> HttpResponse:
    case = _care_visible(request, pk)
    if request.method == "GET":
        return _care_page(request, case)
    form = ClaimedCareForm(request.POST)
    if not form.is_valid():
        return _care_page(request, case, form, status=422)
    try:
        services.claimed_care_add(case.pk, form.to_input(), actor=request.user, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(NOT_FOUND) from None
    except ApplicationError as exc:
        _form_errors(form, exc)
        return _care_page(request, case, form, status=422)
    messages.success(request, _("The claimed care is added."))
    return HttpResponseSeeOther(reverse("crosscheck:claimed", args=[case.pk]))


def _care_item(case: Case, care_pk: int) -> ClaimedCare:
    care = ClaimedCare.objects.filter(pk=care_pk, case=case).first()
    if care is None:
        raise Http404(NOT_FOUND)
    return care


@require_http_methods(["GET", "POST"])
@login_required
def claimed_care_edit(request: HttpRequest, pk: int, care_pk: int) -> HttpResponse:
    case = _care_visible(request, pk)
    care = _care_item(case, care_pk)
    if request.method == "GET":
        return _care_page(request, case, editing=care)
    form = ClaimedCareForm(request.POST)
    if not form.is_valid():
        return _care_page(request, case, form, editing=care, status=422)
    try:
        services.claimed_care_update(care.pk, form.to_input(), actor=request.user,
                                     expected_version=form.cleaned_data["version"], ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(NOT_FOUND) from None
    except ApplicationError as exc:
        _form_errors(form, exc)
        return _care_page(request, case, form, editing=care, status=422)
    messages.success(request, _("The claimed care is corrected."))
    return HttpResponseSeeOther(reverse("crosscheck:claimed", args=[case.pk]))


@require_POST
@login_required
def claimed_care_remove(request: HttpRequest, pk: int, care_pk: int) -> HttpResponse:
    case = _care_visible(request, pk)
    care = _care_item(case, care_pk)
    try:
        services.claimed_care_remove(care.pk, actor=request.user, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(NOT_FOUND) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The entry is removed."))
    return HttpResponseSeeOther(reverse("crosscheck:claimed", args=[case.pk]))


# A CASE'S CROSS-CHECKS ---------------------------------------------------------------------------

def _run_context(case: Case) -> dict[str, Any]:
    run = selectors.latest_run(case)
    return {"case": case, "run": run, "run_skipped": selectors.skipped_text(run.skipped if run else None),
            "run_waiting": run is not None and run.finished_at is None}


def _case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    flags = list(selectors.case_flags(case))
    for flag in flags:
        flag.explanation = selectors.flag_explanation(flag)
    run_context = _run_context(case)
    run = run_context["run"]
    for flag in flags:
        flag.stale = (run is not None and run.finished_at is not None and not run.error
                      and flag.state in selectors.UNRESOLVED and flag.last_seen_at < run.started_at)
    open_flags = [f for f in flags if f.state == Flag.State.OPEN]
    may_work = request.user.has_perm("crosscheck.work_flags")
    letter_form = None
    if may_work and open_flags:
        letter_form = LetterForm(flags=open_flags, initial={"flags": [f.pk for f in open_flags],
                                                          "department": selectors.suggested_department(open_flags)})
    letters = list(selectors.case_letters(case))
    return {
        **run_context,
        "flags": flags,
        "summary": selectors.case_flag_summary(case),
        "claimed_count": ClaimedCare.objects.filter(case=case).count(),
        "may_work": may_work,
        "may_run": case.status in matching.MATCHED_STATES,
        "letter_form": letter_form,
        "letters": letters,
        "reply_form": ReplyForm(initial={"reply_on": clocks.today()}) if may_work else None,
    }


@require_GET
@login_required
def case_crosscheck(request: HttpRequest, pk: int) -> HttpResponse:
    case = _staff_or_404(request, pk)
    return render(request, "crosscheck/case.html", _case_context(request, case))


@require_GET
@login_required
def run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The last run, as a fragment the case page polls while a requested check waits."""
    case = _staff_or_404(request, pk)
    return render(request, "crosscheck/_run.html", _run_context(case))


@require_POST
@login_required
def run_now(request: HttpRequest, pk: int) -> HttpResponse:
    case = _staff_or_404(request, pk)
    try:
        services.match_request(case.pk, actor=request.user)
    except NotFoundError:
        raise Http404(NOT_FOUND) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The check of this case is queued; the result shows here when it is done."))
    return HttpResponseSeeOther(reverse("crosscheck:case", args=[case.pk]))


# FLAGS -------------------------------------------------------------------------------------------

def _flag_or_404(request: HttpRequest, pk: int) -> Flag:
    try:
        return selectors.flag_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such flag, or it is not yours to see.")) from None


def _flag_page(request: HttpRequest, flag: Flag, form: ResolveForm | None = None, status: int = 200) -> HttpResponse:
    may_resolve = request.user.has_perm("crosscheck.work_flags") and flag.state in selectors.UNRESOLVED
    context = {
        "flag": flag, "case": flag.case, "explanation": selectors.flag_explanation(flag),
        "evidence": flag.evidence or {}, "letters": list(flag.letters.order_by("-sent_on", "-id")),
        "form": (form or ResolveForm()) if may_resolve else None,
    }
    return render(request, "crosscheck/flag.html", context, status=status)


@require_GET
@login_required
def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _flag_page(request, _flag_or_404(request, pk))


@require_POST
@login_required
def flag_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    flag = _flag_or_404(request, pk)
    form = ResolveForm(request.POST)
    form.is_valid()
    try:
        services.flag_resolve(flag.pk, actor=request.user, outcome=form.cleaned_data.get("outcome", ""),
                              note=form.cleaned_data.get("note", ""), ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(_("No such flag, or it is not yours to see.")) from None
    except ApplicationError as exc:
        _form_errors(form, exc)
        return _flag_page(request, flag, form, status=422)
    messages.success(request, _("The flag is resolved."))
    return HttpResponseSeeOther(reverse("crosscheck:case", args=[flag.case_id]))


# LETTERS -----------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def letter_new(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the letter's questions built from the chosen flags, to read and edit; POST: send it."""
    case = _staff_or_404(request, pk)
    open_flags = list(Flag.objects.filter(case=case, state=Flag.State.OPEN).order_by("found_at", "id"))
    data = request.POST if request.method == "POST" else request.GET
    form = LetterForm(data, flags=open_flags)
    form.is_valid()
    chosen_ids = set(form.cleaned_data.get("flags") or [])
    chosen = [f for f in open_flags if f.pk in chosen_ids]
    if request.method == "GET" or "preview" in request.POST:
        questions = selectors.letter_questions(chosen) if chosen else ""
        form = LetterForm(flags=open_flags, initial={
            "flags": [f.pk for f in chosen], "questions": questions,
            "department": form.cleaned_data.get("department") or selectors.suggested_department(chosen or open_flags)})
        return render(request, "crosscheck/letter_new.html", {"case": case, "form": form, "chosen": chosen,
                                                                "may_work": request.user.has_perm("crosscheck.work_flags")})
    try:
        letter = services.letter_send(case.pk, [f.pk for f in chosen], actor=request.user,
                                      department=form.cleaned_data.get("department", ""),
                                      questions=form.cleaned_data.get("questions", ""),
                                      ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(NOT_FOUND) from None
    except ApplicationError as exc:
        _form_errors(form, exc)
        return render(request, "crosscheck/letter_new.html", {"case": case, "form": form, "chosen": chosen,
                                                                "may_work": True}, status=422)
    messages.success(request, _("The cross-check letter is issued; the flags wait for the reply."))
    return HttpResponseSeeOther(reverse("crosscheck:case", args=[letter.case_id]))


@require_POST
@login_required
def letter_reply(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        letter = selectors.letter_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such letter, or it is not yours to see.")) from None
    form = ReplyForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        services.letter_reply(letter.pk, actor=request.user, reply_on=data.get("reply_on"), reply=data.get("reply", ""),
                              outcome=data.get("outcome", ""), note=data.get("note", ""),
                              ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(_("No such letter, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The reply is recorded."))
    return HttpResponseSeeOther(reverse("crosscheck:case", args=[letter.case_id]) + f"#letter-{letter.pk}")


# THE LEADER'S OVERRIDE ---------------------------------------------------------------------------

@require_POST
@login_required
def override(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    form = OverrideForm(request.POST)
    form.is_valid()
    try:
        services.override_record(case.pk, actor=request.user, reason=form.cleaned_data.get("reason", ""),
                                 ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(NOT_FOUND) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The override is recorded: the next approval of the conclusion uses it."))
    return HttpResponseSeeOther(reverse("grading:case", args=[case.pk]))


# THE QUEUE AND THE STATISTICS --------------------------------------------------------------------

@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("crosscheck.view_flag"):
        raise Http404()
    form = QueueFilterForm(request.GET, hospitals=selectors.queue_hospitals(request.user))
    filters = form.cleaned_data if form.is_valid() else {}
    cases = selectors.flag_queue(request.user, rule=filters.get("rule", ""), hospital=filters.get("hospital", ""))
    page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "crosscheck/queue.html", {"form": form, "page": page, "query": query.urlencode()})


@require_GET
@login_required
def stats(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("crosscheck.view_flag"):
        raise Http404()
    today = clocks.today()
    form = PeriodForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    date_to = data.get("date_to") or today
    date_from = data.get("date_from") or (date_to - dt.timedelta(days=364))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    result = selectors.flag_stats(request.user, date_from, date_to)
    labels = dict(Flag.Rule.choices)
    for row in result.by_rule:
        row["label"] = labels.get(row["rule"], row["rule"])
    for row in result.by_hospital:
        row["label"] = row["hospital_name"]
    if not form.is_bound:
        form = PeriodForm(initial={"date_from": date_from, "date_to": date_to})
    return render(request, "crosscheck/stats.html", {"form": form, "stats": result})


urlpatterns = [
    path("cases/<int:pk>/", case_crosscheck, name="case"),
    path("cases/<int:pk>/care/", claimed_care, name="claimed"),
    path("cases/<int:pk>/care/<int:care_pk>/", claimed_care_edit, name="claimed_edit"),
    path("cases/<int:pk>/care/<int:care_pk>/remove/", claimed_care_remove, name="claimed_remove"),
    path("cases/<int:pk>/run/", run_now, name="run"),
    path("cases/<int:pk>/run/status/", run_status, name="run_status"),
    path("cases/<int:pk>/letter/", letter_new, name="letter_new"),
    path("cases/<int:pk>/override/", override, name="override"),
    path("flags/<int:pk>/", flag_detail, name="flag"),
    path("flags/<int:pk>/resolve/", flag_resolve, name="flag_resolve"),
    path("letters/<int:pk>/reply/", letter_reply, name="letter_reply"),
    path("queue/", queue, name="queue"),
    path("stats/", stats, name="stats"),
]
