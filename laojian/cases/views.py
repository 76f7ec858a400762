"""Case pages: the worklist, the case page and its workflow buttons.

Views are thin: they read through ``selectors``, write through ``services.transition`` and turn
``ApplicationError``s into messages (``NotFoundError`` into a 404). Deadlines are computed by
``clocks``; the templates only display what the view hands them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.cases import clocks, eligibility, materials, selectors, services, uploads
from laojian.cases.forms import ApplicationForm, add_service_errors, register_arguments
from laojian.cases.models import Case, CaseAssignment, CaseType, MaterialStatus, Mode, Status
from laojian.cases.workflow import TRANSITIONS
from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError, ValidationFailed
from laojian.core.http import HttpResponseSeeOther
from laojian.core.models import Committee

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
    if status != "all" and status not in Status.values:
        status = ""
    cases = selectors.worklist(
        request.user,
        sort=sort,
        status=status if status in Status.values else None,
        open_only=status != "all",
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))

    today = clocks.today()
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
    # The page shows the worker's full ID number: a sensitive read, recorded in the audit trail.
    audit.record_read(request.user, case, ["worker.id_number"], ip_address=audit.client_ip(request))

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

    timeline = [
        {
            "entry": entry,
            "action": _action_label(entry.action),
            "from_status": _status_label(entry.from_status),
            "to_status": _status_label(entry.to_status),
        }
        for entry in selectors.case_timeline(case)
    ]
    assignments = list(selectors.case_assignments(case))
    if not request.user.has_perm("cases.view_committee_cases") and not any(
        a.user_id == request.user.pk and a.role == CaseAssignment.Role.EXPERT for a in assignments
    ):
        # The panel's names are not shown to applicants or employers.
        assignments = [a for a in assignments if a.role != CaseAssignment.Role.EXPERT]
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
        "can_view_medical": request.user.has_perm("cases.view_medical"),
        "eligibility": (eligibility.check(case, today=today)
                        if case.status in ELIGIBILITY_STATES and request.user.has_perm("cases.accept_case") else []),
        "today": today,
        **_materials_context(request, case, checklist, actions),
    }
    return render(request, "cases/case_detail.html", context)


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
    audit.record_read(request.user, material, ["file"], ip_address=audit.client_ip(request))
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
    the case page next. A double click registers one case (the form's token is remembered)."""
    if not request.user.has_perm("cases.register_case"):
        raise Http404()
    done: dict[str, int] = request.session.setdefault("registered_tokens", {})
    if request.method == "POST":
        form = ApplicationForm(request.POST)
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
        form = ApplicationForm(initial={"committee": request.user.committee_id})
    return render(request, "cases/register.html", {"form": form, "token": secrets.token_hex(16)})
