"""Case pages: the worklist, the case page and its workflow buttons.

Views are thin: they read through ``selectors``, write through ``services.transition`` and turn
``ApplicationError``s into messages (``NotFoundError`` into a 404). Deadlines are computed by
``clocks``; the templates only display what the view hands them.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.cases import breakglass, clocks, eligibility, materials, selectors, services, uploads
from laojian.cases.forms import (
    CounterApplicationForm,
    SensitivityForm,
    add_service_errors,
    register_arguments,
)
from laojian.cases.models import (
    ApplicantKind,
    Case,
    CaseAssignment,
    CaseType,
    MaterialStatus,
    Mode,
    Sensitivity,
    Status,
)
from laojian.cases.workflow import TRANSITIONS
from laojian.core import audit, notices
from laojian.core.errors import ApplicationError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.http import HttpResponseSeeOther
from laojian.core.models import Committee
from laojian.core.sealed_storage import SealedFileError
from laojian.core.validators import mask_phone

logger = logging.getLogger(__name__)
PAGE_SIZE = 50
# The clerk sees the eligibility checks while deciding whether to accept.
ELIGIBILITY_STATES = frozenset({Status.SUBMITTED, Status.CORRECTION_REQUESTED})

# The clocks a case page shows, in the order a case meets them: (key in clocks.CLOCK_FIELDS, label).
CLOCKS: tuple[tuple[str, Any], ...] = (
    ("completeness", gettext_lazy("Completeness notice")),
    ("correction", gettext_lazy("Corrections due")),
    ("target", gettext_lazy("Service target")),
    ("conclusion", gettext_lazy("Conclusion")),
    ("delivery", gettext_lazy("Delivery")),
    ("reappraisal_window", gettext_lazy("Re-appraisal window")),
)
CLOCK_LABELS = dict(CLOCKS)

# Timeline actions that are not workflow transitions.
OTHER_ACTIONS: dict[str, Any] = {
    "register": gettext_lazy("Registered"),
    "assign": gettext_lazy("Assigned"),
    "material_upload": gettext_lazy("Material uploaded"),
    "material_check": gettext_lazy("Materials checked"),
    "draw_panel": gettext_lazy("Expert panel drawn"),
    "panel_decline": gettext_lazy("A panel expert declined"),
    "panel_replace": gettext_lazy("Replacement expert drawn"),
    "opinion_signed": gettext_lazy("Expert opinion signed"),
    "opinions_diverge": gettext_lazy("The signed opinions diverge"),
    "conclusion_drafted": gettext_lazy("Conclusion drafted from the signed opinions"),
    "extension_requested": gettext_lazy("Extension requested"),
    "document_issued": gettext_lazy("Document issued"),
    "delivery_sent": gettext_lazy("Document sent"),
    "delivery_received": gettext_lazy("Receipt of a document recorded"),
    "reappraisal_requested": gettext_lazy("Re-appraisal requested"),
    "reappraisal_exported": gettext_lazy("File exported for the provincial committee"),
    "reappraisal_result": gettext_lazy("Provincial re-appraisal result recorded"),
    "second_opinion_drawn": gettext_lazy("Second-opinion panel drawn"),
    "second_opinion_signed": gettext_lazy("Second-opinion panel signed"),
    "second_opinion_adopted": gettext_lazy("Second-opinion panel's result adopted as the draft conclusion"),
    "discussion_scheduled": gettext_lazy("Put on a collective discussion's agenda"),
    "discussion_unscheduled": gettext_lazy("Taken off a collective discussion's agenda"),
    "discussion_decided": gettext_lazy("Collective discussion decided"),
    "claimed_care_add": gettext_lazy("Claimed care added"),
    "claimed_care_change": gettext_lazy("Claimed care corrected"),
    "claimed_care_remove": gettext_lazy("Claimed care removed"),
    "crosscheck_flags_found": gettext_lazy("Cross-check doubts found"),
    "crosscheck_flag_cleared": gettext_lazy("Cross-check doubt cleared"),
    "crosscheck_flag_confirmed": gettext_lazy("Cross-check doubt confirmed"),
    "crosscheck_letter_sent": gettext_lazy("Cross-check letter sent"),
    "crosscheck_letter_reply": gettext_lazy("Reply to a cross-check letter recorded"),
    "crosscheck_override_recorded": gettext_lazy("Override of open doubts recorded"),
    "crosscheck_override": gettext_lazy("Conclusion approved with doubts open (override)"),
    "rights_copy": gettext_lazy("Copy of the worker's personal data handed out"),
    "rights_correction": gettext_lazy("Correction request about the worker recorded"),
}

# Timeline entries whose notes tell the first panel's findings: hidden from a blind second-opinion panel.
BLIND_ACTIONS = frozenset({"mark_difficult", "opinions_diverge", "conclusion_drafted", "opinion_signed",
                           "discussion_decided", "second_opinion_signed"})
# The timeline notes an applicant or employer reads: the ones written to them (what to correct, why it
# was rejected, rescheduled, extended or ended). The rest are the committee's own working notes.
APPLICANT_NOTES = frozenset({"submit", "resubmit", "request_correction", "close_uncorrected", "accept", "reject",
                             "reschedule", "approve_extension", "withdraw", "terminate", "deliver"})

# The worklist's filter of delivered cases whose re-appraisal window is still open (a status-like choice).
REAPPRAISAL_WINDOW = "reappraisal_window"
# How the case page names a re-appraisal's state (the review app records it on the timeline).
REAPPRAISAL_OUTCOMES: dict[str, Any] = {
    "upheld": gettext_lazy("upheld"),
    "changed": gettext_lazy("changed"),
}

SORT_COLUMNS = ("due", "number", "received")
SORT_CHOICES: tuple[tuple[str, Any], ...] = (
    ("due", gettext_lazy("Deadline, soonest first")),
    ("-due", gettext_lazy("Deadline, latest first")),
    ("number", gettext_lazy("Case number, ascending")),
    ("-number", gettext_lazy("Case number, descending")),
    ("received", gettext_lazy("Received, oldest first")),
    ("-received", gettext_lazy("Received, newest first")),
)


@dataclass(frozen=True)
class Due:
    """A deadline as the templates show it."""

    date: dt.date | None
    days_left: int | None
    risk: str | None
    label: Any = ""
    basis: str = ""
    running: bool = True


def _due(date: dt.date | None, today: dt.date, warn_days: int, **extra: Any) -> Due:
    return Due(
        date=date,
        days_left=clocks.days_left(date, today),
        risk=clocks.risk(date, today, warn_days),
        **extra,
    )


def _date_text(value: Any) -> str:
    try:
        return date_format(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _basis_text(info: Any) -> str:
    """Say in words how a clock was counted, from its ``clock_basis`` entry (see clocks.refresh)."""
    if not isinstance(info, dict):
        return ""
    start = _date_text(info.get("from", ""))
    if info.get("missing_year"):
        return _(
            "Not computed: there is no holiday schedule for %(year)s yet. Enter the State Council's "
            "schedule for that year in the calendar."
        ) % {"year": info["missing_year"]}
    if "workdays" in info:
        return _("%(n)s working days from %(start)s; calendar data: %(basis)s") % {
            "n": info["workdays"],
            "start": start,
            "basis": info.get("basis") or "—",
        }
    if info.get("basis") == clocks.CALENDAR_DAYS:
        text = _("%(n)s calendar days from %(start)s") % {"n": info.get("days", 0), "start": start}
        if info.get("counts_from"):
            try:
                rule = Committee.ClockStart(info["counts_from"]).label
            except ValueError:
                rule = info["counts_from"]
            text += _(" (%(rule)s)") % {"rule": rule}
        if info.get("extension_days"):
            text += _(", plus %(n)s days of extension") % {"n": info["extension_days"]}
        if info.get("reschedule_shift_days"):
            text += _(", plus %(n)s days of reschedules the worker asked for") % {
                "n": info["reschedule_shift_days"]
            }
        return text
    return str(info.get("basis") or "")


def _status_label(value: str) -> str:
    if not value:
        return ""
    try:
        return str(Status(value).label)
    except ValueError:
        return value


def _action_label(action: str) -> str:
    step = TRANSITIONS.get(action)
    if step is not None:
        return str(step.label)
    return str(OTHER_ACTIONS.get(action, action))


# WORKLIST ------------------------------------------------------------------------------------------


@require_GET
@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "due")
    if sort not in selectors.SORTS:
        sort = "due"
    status = request.GET.get("status", "")
    if status not in ("all", REAPPRAISAL_WINDOW) and status not in Status.values:
        status = ""
    today = clocks.today()
    window_open = status == REAPPRAISAL_WINDOW
    cases = selectors.worklist(
        request.user,
        sort=sort,
        status=Status.DELIVERED if window_open else (status if status in Status.values else None),
        open_only=status != "all",
    )
    if window_open:
        # The parties' deadline, not the committee's: the soonest end first unless sorted otherwise.
        cases = cases.filter(reappraisal_window_ends__gte=today)
        if sort in ("due", "-due"):
            cases = cases.order_by(f"{'-' if sort == '-due' else ''}reappraisal_window_ends", "id")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))

    rows = list(page.object_list)
    # Labels translated once per page: get_FOO_display per row and column costs a quarter of the page.
    type_labels, mode_labels, status_labels = (
        {value: str(label) for value, label in choices.choices} for choices in (CaseType, Mode, Status)
    )
    for case in rows:
        case.case_type_label = type_labels.get(case.case_type, case.case_type)
        case.mode_label = mode_labels.get(case.mode, case.mode)
        case.status_label = status_labels.get(case.status, case.status)
        which = clocks.next_clock(case)
        case.due = _due(case.next_due, today, case.committee.risk_warning_days,
                        label=CLOCK_LABELS[which] if which else "")
        if case.status == Status.DELIVERED and case.reappraisal_window_ends and case.reappraisal_window_ends >= today:
            # No committee clock runs once delivered: show the parties' re-appraisal window instead.
            case.due = Due(date=case.reappraisal_window_ends, risk=None,
                           days_left=clocks.days_left(case.reappraisal_window_ends, today),
                           label=CLOCK_LABELS["reappraisal_window"])

    columns = {}
    for column in SORT_COLUMNS:
        current = sort.lstrip("-") == column
        descending = sort.startswith("-")
        columns[column] = {
            "current": current,
            "descending": current and descending,
            "next": f"-{column}" if current and not descending else column,
        }
    context = {
        "page": page,
        "cases": rows,
        "sort": sort,
        "status": status,
        "columns": columns,
        "status_choices": Status.choices,
        "reappraisal_window": REAPPRAISAL_WINDOW,
        "sort_choices": SORT_CHOICES,
        "today": today,
    }
    # An HTMX sort/filter/page request swaps only the table; a history restore needs the whole page.
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "cases/_worklist_table.html" if partial else "cases/worklist.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# CASE PAGE ----------------------------------------------------------------------------------------


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return selectors.case_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None


@require_GET
@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    user = request.user
    # Field-level limits (SEC-03, SEC-62): the full ID number and phone numbers go only to the roles
    # that work with the person and the medical file (cases.view_medical). Applicants (worker and
    # employer alike), the liaison, the archivist, the auditor and the system administrator see them
    # masked, 3701**********123X and 138****0000. A full ID number shown is a sensitive read, audited.
    full_identity = user.has_perm("cases.view_medical")
    if full_identity:
        audit.record_read(user, case, ["worker.id_number"], ip_address=audit.client_ip(request))
    # Medical content: the role's view_medical, or the system administrator's break-glass grant for
    # this one case; each page seen under a grant is audited.
    grant = breakglass.grant_in_use(user, case)
    can_view_medical = full_identity or grant is not None
    if grant is not None:
        breakglass.record_read(grant, actor=user, case=case, fields=breakglass.CASE_PAGE_FIELDS,
                               ip_address=audit.client_ip(request))

    today = clocks.today()
    warn_days = case.committee.risk_warning_days
    basis = case.clock_basis if isinstance(case.clock_basis, dict) else {}
    case_clocks = []
    for key, label in CLOCKS:
        date = getattr(case, clocks.CLOCK_FIELDS[key])
        info = basis.get(key)
        if date is None and not info:
            continue
        if case.status in clocks.RUNNING[key]:
            case_clocks.append(_due(date, today, warn_days, label=label, basis=_basis_text(info)))
        else:
            case_clocks.append(
                Due(date=date, days_left=None, risk=None, label=label, basis=_basis_text(info), running=False)
            )

    assignments = list(selectors.case_assignments(case))
    panel_roles = {CaseAssignment.Role.EXPERT, CaseAssignment.Role.SECOND_EXPERT}
    staff = request.user.has_perm("cases.view_committee_cases")
    own_roles = {a.role for a in assignments if a.user_id == request.user.pk}
    if not staff:
        # The panels' names are not shown to applicants or employers, nor one panel's to the other.
        assignments = [a for a in assignments if a.role not in panel_roles or a.role in own_roles]
    # A second-opinion panel is blind (by default): what the first panel found stays hidden from it.
    blind = (not staff and CaseAssignment.Role.SECOND_EXPERT in own_roles and case.committee.second_opinion_blind)
    outside = not staff and not own_roles & panel_roles  # the applicant or employer
    timeline = [
        {
            "entry": entry,
            "action": _action_label(entry.action),
            "from_status": _status_label(entry.from_status),
            "to_status": _status_label(entry.to_status),
            "note_hidden": blind and entry.action in BLIND_ACTIONS,
            "note_internal": outside and entry.action not in APPLICANT_NOTES,
        }
        for entry in selectors.case_timeline(case)
    ]
    entries = [item["entry"] for item in timeline]
    actions = selectors.available_transitions(request.user, case)
    checklist = selectors.case_checklist(case)
    context = {
        "case": case,
        "next_due": _due(case.next_due, today, warn_days),
        "clocks": case_clocks,
        "timeline": timeline,
        "assignments": assignments,
        "assignment_roles": dict(CaseAssignment.Role.choices),
        "actions": actions,
        "can_view_medical": can_view_medical,
        "break_glass_grant": grant,
        "may_break_glass": not can_view_medical and breakglass.may_break_glass(user),
        "full_identity": full_identity,
        "worker_id_number": case.worker.id_number if full_identity else case.worker.masked_id_number,
        "worker_phone": case.worker.phone if full_identity else mask_phone(case.worker.phone),
        "employer_phone": (case.employer.contact_phone if full_identity
                           else mask_phone(case.employer.contact_phone)),
        "may_handle_rights": user.has_perm("cases.handle_rights_request"),
        "sensitivity_form": (SensitivityForm(initial={"sensitivity": case.sensitivity})
                             if request.user.has_perm("cases.label_case") else None),
        "eligibility": (eligibility.check(case, today=today)
                        if case.status in ELIGIBILITY_STATES and request.user.has_perm("cases.accept_case") else []),
        "today": today,
        "open_return": _open_return(request, case, entries),
        "reappraisal": _reappraisal_state(entries),
        **_materials_context(request, case, checklist, actions),
    }
    return render(request, "cases/case_detail.html", context)


def _open_return(request: HttpRequest, case: Case, entries: list[Any]) -> Any:
    """The reviewer's questions waiting for the clerk's answer (the latest return), shown to committee staff."""
    if not case.returned_for_answer or not request.user.has_perm("cases.view_committee_cases"):
        return None
    return next((e for e in reversed(entries) if e.action == "return_to_clerk"), None)


def _reappraisal_state(entries: list[Any]) -> dict[str, Any] | None:
    """The re-appraisal's state as its timeline tells it (request, export, provincial result), or None."""
    latest = {}
    for entry in entries:
        if entry.action in ("reappraisal_requested", "reappraisal_exported", "reappraisal_result"):
            latest[entry.action] = entry
    requested = latest.get("reappraisal_requested")
    if requested is None:
        return None
    data, result = requested.data or {}, latest.get("reappraisal_result")
    try:
        party = ApplicantKind(data.get("party", "")).label
    except ValueError:
        party = data.get("party", "")
    outcome = (result.data or {}).get("outcome", "") if result else ""
    return {
        "requested_on": _date_text(data.get("requested_on", "")), "party": party,
        "requester": data.get("requester", ""),
        "exported_at": latest["reappraisal_exported"].at if "reappraisal_exported" in latest else None,
        "result": result, "outcome": outcome, "outcome_label": REAPPRAISAL_OUTCOMES.get(outcome, outcome),
        "number": (result.data or {}).get("number", "") if result else "",
    }


# WORKFLOW STEPS -----------------------------------------------------------------------------------


def _transition_data(name: str, post: Any) -> dict[str, Any]:
    """The extra inputs a step takes (only the reschedule has any)."""
    if name != "reschedule":
        return {}
    data: dict[str, Any] = {"worker_requested": post.get("worker_requested") in {"on", "1", "true"}}
    raw = (post.get("shift_days") or "").strip()
    if raw:
        try:
            data["shift_days"] = int(raw)
        except ValueError:
            data["shift_days"] = raw  # the workflow's guard explains what is expected
    return data


@require_POST
@login_required
def case_transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    case = _case_or_404(request, pk)
    target = reverse("cases:detail", args=[case.pk])
    step = TRANSITIONS.get(name)
    if step is None:
        messages.error(request, _("There is no step called “%(name)s”.") % {"name": name})
        return HttpResponseSeeOther(target)
    try:
        expected_version: int | None = int(request.POST["version"])
    except (KeyError, ValueError):
        expected_version = None
    try:
        updated = services.transition(
            case.pk,
            name,
            actor=request.user,
            note=request.POST.get("note", ""),
            data=_transition_data(name, request.POST),
            expected_version=expected_version,
            ip_address=audit.client_ip(request),
        )
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseSeeOther(target)
    messages.success(
        request,
        _("Done: “%(action)s”. The case is now “%(status)s”.")
        % {"action": step.label, "status": updated.get_status_display()},
    )
    return HttpResponseSeeOther(target)


# MATERIALS ----------------------------------------------------------------------------------------


def _materials_context(request: HttpRequest, case: Case, checklist: list[selectors.ChecklistItem],
                       actions: list[Any]) -> dict[str, Any]:
    """What the Materials section of the case page needs: the checklist with files and findings,
    what this user may do there, and the correction notice pre-filled with what is outstanding."""
    user = request.user
    return {
        "checklist": checklist,
        "can_view_files": materials.can_view_files(user, case),
        "can_upload": materials.can_upload(user, case),
        "can_check": materials.can_check(user, case),
        "material_statuses": MaterialStatus.choices,
        "upload_accept": uploads.ACCEPT,
        "upload_max_size": uploads.human_size(settings.LAOJIAN_UPLOAD_MAX_BYTES),
        "upload_max_files": settings.LAOJIAN_UPLOAD_MAX_FILES,
        "last_correction_at": selectors.last_correction_at(case),
        "correction_note": (
            selectors.correction_note(checklist) if any(a.name == "request_correction" for a in actions) else ""
        ),
    }


def _materials_target(case: Case) -> str:
    return reverse("cases:detail", args=[case.pk]) + "#materials"


@require_POST
@login_required
def material_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Add one or more files to one checklist item (the clerk at the counter, or the applicant)."""
    case = _case_or_404(request, pk)
    target = _materials_target(case)
    checklist = {mt.pk: mt for mt in selectors.checklist_for(case)}
    try:
        material_type = checklist.get(int(request.POST.get("material_type", "")))
    except ValueError:
        material_type = None
    if material_type is None:
        messages.error(request, _("Choose which material the file is."))
        return HttpResponseSeeOther(target)
    files = request.FILES.getlist("file")
    try:
        added = materials.materials_upload(
            case, [materials.Upload(material_type, f, f.name) for f in files], request.user,
            ip_address=audit.client_ip(request),
        )
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseSeeOther(target)
    messages.success(
        request,
        _("Added to “%(item)s”: %(files)s.") % {"item": material_type.name,
                                               "files": "、".join(m.original_name for m in added)},
    )
    return HttpResponseSeeOther(target)


@require_POST
@login_required
def material_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The clerk's completeness check: present / missing / unreadable, with a note, per item."""
    case = _case_or_404(request, pk)
    target = _materials_target(case)
    marks = []
    for material_type in selectors.checklist_for(case):
        status = request.POST.get(f"status-{material_type.pk}", "")
        if not status:
            continue  # not ticked: left as it was
        marks.append(materials.Mark(material_type, status, request.POST.get(f"note-{material_type.pk}", "")))
    if not marks:
        messages.error(request, _("Mark at least one material as present, missing or unreadable."))
        return HttpResponseSeeOther(target)
    try:
        materials.materials_check(case, marks, request.user, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseSeeOther(target)
    messages.success(request, _("The completeness check is saved."))
    return HttpResponseSeeOther(target)


@require_POST
@login_required
def case_sensitivity(request: HttpRequest, pk: int) -> HttpResponse:
    """The leader labels the case (normal / sensitive / restricted), with a reason."""
    case = _case_or_404(request, pk)
    form = SensitivityForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return HttpResponseSeeOther(reverse("cases:detail", args=[case.pk]))
    try:
        services.case_label(case.pk, form.cleaned_data["sensitivity"], actor=request.user,
                            reason=form.cleaned_data["reason"], ip_address=audit.client_ip(request))
    except PermissionDeniedError:
        raise PermissionDenied from None
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The case is labelled “%(label)s”.")
                         % {"label": Sensitivity(form.cleaned_data["sensitivity"]).label})
    return HttpResponseSeeOther(reverse("cases:detail", args=[case.pk]))


@require_GET
@login_required
def material_download(request: HttpRequest, pk: int, material_pk: int) -> HttpResponse:
    """One file, to people who may see the case's medical content (or their own application),
    always as a download that the browser does not render or sniff; every read is audited."""
    case = _case_or_404(request, pk)
    material = case.materials.filter(pk=material_pk).first()
    if material is None or not materials.can_view_files(request.user, case):
        raise Http404(_("No such file, or it is not yours to see."))
    material.case = case
    try:
        handle = material.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing from storage. Tell the system administrator.")) from None
    except SealedFileError as exc:  # changed or cut short on disk, or its key is gone: say so, send nothing
        logger.error("material %s does not open: %s", material.pk, exc)
        messages.error(request, _("The stored file “%(name)s” does not decrypt: it was changed or damaged on disk, "
                                  "or its key is no longer configured. It is not sent. Tell the system "
                                  "administrator.") % {"name": material.original_name})
        return HttpResponseSeeOther(_materials_target(case))
    audit.record_read(request.user, material, ["file"], ip_address=audit.client_ip(request))
    if case.applicant_user_id != request.user.pk and (grant := breakglass.grant_in_use(request.user, case)):
        breakglass.record_read(grant, actor=request.user, case=case, fields=[f"material:{material.pk}"],
                               ip_address=audit.client_ip(request))
    response = FileResponse(handle, as_attachment=True, filename=material.original_name,
                            content_type=material.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# COUNTER REGISTRATION -----------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def register(request: HttpRequest) -> HttpResponse:
    """A clerk enters an application at the counter for someone; the paper materials are scanned on
    the case page next. A double click registers one case (the form's token is remembered). The clerk
    confirms that the applicant was shown the printed personal-information notice (SEC-61)."""
    if not request.user.has_perm("cases.register_case"):
        raise Http404()
    done: dict[str, int] = request.session.setdefault("registered_tokens", {})
    if request.method == "POST":
        form = CounterApplicationForm(request.POST)
        token = request.POST.get("token", "")
        if token in done:
            return HttpResponseSeeOther(reverse("cases:detail", args=[done[token]]))
        if form.is_valid():
            if form.cleaned_data["committee"].pk != request.user.committee_id:
                form.add_error("committee", _("You can register applications for your own committee only."))
            else:
                try:
                    case = services.case_register(actor=request.user, ip_address=audit.client_ip(request),
                                                  **register_arguments(form.cleaned_data))
                except ValidationFailed as exc:
                    add_service_errors(form, exc.extra.get("fields"))
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    done[token] = case.pk
                    request.session.modified = True
                    messages.success(request, _("Application %(number)s registered. Scan its materials below.")
                                     % {"number": case.number})
                    return HttpResponseSeeOther(reverse("cases:detail", args=[case.pk]))
    else:
        form = CounterApplicationForm(initial={"committee": request.user.committee_id})
    return render(request, "cases/register.html", {"form": form, "token": secrets.token_hex(16),
                                                   "notice": notices.current()})
