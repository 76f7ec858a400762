"""Pages of the home visit (上门鉴定), the remote appraisal (远程鉴定), extra examinations and the
examination's photo and video records.

Thin: selectors read, services write; an ``ApplicationError`` becomes a message and a form error
(status 400), a case the user may not see a 404. Files leave only through the checked download.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.cases import breakglass
from laojian.cases.models import Case, Mode
from laojian.cases.selectors import case_get_for
from laojian.core import audit, purposes
from laojian.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from laojian.core.http import HttpResponseSeeOther
from laojian.sittings import day, examinations, records, selectors, visit_forms, visits
from laojian.sittings.models import Appointment, ExtraExamination
from laojian.sittings.services import PLAN, Booking

# Service field names → the form fields that show their errors.
FIELD_OF = {"starts_at": "start", "ends_at": "end", "local_doctor": "doctor_name", "staff_member": "staff_member"}


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    try:
        return case_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such case, or it is not yours to see.")) from None


def _require_plan(request: HttpRequest) -> None:
    if not request.user.has_perm(PLAN):
        raise Http404(_("No such case, or it is not yours to see."))


def _refused(request: HttpRequest, form: django_forms.Form, exc: ApplicationError) -> None:
    """The refusal as a message, and on the fields it names (the rest above the form)."""
    messages.error(request, exc.message)
    placed = False
    for name, errors in (exc.extra.get("fields") or {}).items():
        field = FIELD_OF.get(name, name)
        if field in form.fields:
            for error in errors:
                form.add_error(field, error)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def _to(name: str, *args: Any) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse(name, args=args))


# HOME VISIT --------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def case_home(request: HttpRequest, case_id: int) -> HttpResponse:
    """Book a home visit: address, time, the staff member who checks identity, the family's phone;
    the panel is drawn first when the case has none."""
    _require_plan(request)
    case = _case_or_404(request, case_id)
    staff = visits.identity_staff(case.committee)
    initial = {"address": case.worker.address, "family_phone": ""}
    form = visit_forms.HomeVisitForm(request.POST or None, staff=staff, initial=initial, prefix="home")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            start, end = form.window()
            data = form.cleaned_data
            booking = Booking(mode=Mode.HOME, starts_at=start, ends_at=end, address=data["address"],
                              staff_member_id=data["staff_member"].pk, family_phone=data["family_phone"],
                              bring=data["bring"], short_notice_reason=data["short_notice_reason"],
                              non_working_reason=data["non_working_reason"])
            try:
                visits.visit_book(case.pk, booking, actor=request.user, categories=data["categories"],
                                  ip_address=audit.client_ip(request))
            except NotFoundError:
                raise Http404(_("No such case, or it is not yours to see.")) from None
            except ApplicationError as exc:
                _refused(request, form, exc)
            else:
                messages.success(request, _("The home visit is booked; the worker, the family and the panel "
                                            "are told by SMS."))
                return _to("sittings:case", case.pk)
        status = 400
    return render(request, "sittings/visits/book.html", {
        "case": case, "form": form, "has_panel": visits.has_panel(case),
        "panel": list(selectors.panel_experts(case).values()), "live": selectors.live_appointment(case),
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def route_sheet(request: HttpRequest, date: str) -> HttpResponse:
    """One day's home visits in route order, printable for the team; planners set the order."""
    if not (request.user.has_perm(PLAN) or request.user.has_perm("sittings.view_sitting")):
        raise Http404()
    try:
        on = dt.date.fromisoformat(date)
    except ValueError:
        raise Http404() from None
    committee = request.user.committee
    if committee is None:
        raise Http404()
    rows = visits.route_sheet(committee, on)
    can_plan = request.user.has_perm(PLAN)
    form = visit_forms.RouteOrderForm(request.POST or None, appointments=[r["appointment"] for r in rows],
                                      prefix="route")
    status = 200
    if request.method == "POST":
        if not can_plan:
            raise Http404()
        if form.is_valid():
            try:
                visits.route_order_set(form.ordered_ids(), actor=request.user)
            except NotFoundError:
                raise Http404() from None
            except ApplicationError as exc:
                _refused(request, form, exc)
            else:
                messages.success(request, _("The route order is saved."))
                return _to("sittings:route_sheet", on.isoformat())
        status = 400
    return render(request, "sittings/visits/route_sheet.html", {
        "day": on, "rows": rows, "form": form if rows else None, "can_plan": can_plan,
        "previous_day": (on - dt.timedelta(days=1)).isoformat(), "next_day": (on + dt.timedelta(days=1)).isoformat(),
    }, status=status)


# REMOTE ------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def case_remote(request: HttpRequest, case_id: int) -> HttpResponse:
    """Book a remote appraisal: the time and the local examining doctor; the video room is made."""
    _require_plan(request)
    case = _case_or_404(request, case_id)
    form = visit_forms.RemoteForm(request.POST or None, prefix="remote")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            start, end = form.window()
            data = form.cleaned_data
            booking = Booking(mode=Mode.REMOTE, starts_at=start, ends_at=end, local_doctor=form.local_doctor(),
                              bring=data["bring"], short_notice_reason=data["short_notice_reason"],
                              non_working_reason=data["non_working_reason"])
            try:
                appointment = visits.visit_book(case.pk, booking, actor=request.user,
                                                categories=data["categories"], ip_address=audit.client_ip(request))
            except NotFoundError:
                raise Http404(_("No such case, or it is not yours to see.")) from None
            except ApplicationError as exc:
                _refused(request, form, exc)
            else:
                messages.success(request, _("The remote appraisal is booked; the video room is ready."))
                return _to("sittings:remote_record", appointment.pk)
        status = 400
    return render(request, "sittings/remote/book.html", {
        "case": case, "form": form, "has_panel": visits.has_panel(case),
        "panel": list(selectors.panel_experts(case).values()), "live": selectors.live_appointment(case),
    }, status=status)


def _remote_or_404(request: HttpRequest, pk: int) -> Appointment:
    appointment = Appointment.objects.filter(pk=pk, mode=Mode.REMOTE).first()
    if appointment is None:
        raise Http404(_("No such appointment."))
    case = _case_or_404(request, appointment.case_id)
    if not visits.may_see_video_room(request.user, case):
        raise Http404(_("No such appointment."))
    appointment.case = case
    return appointment


@require_http_methods(["GET", "POST"])
@login_required
def remote_record(request: HttpRequest, pk: int) -> HttpResponse:
    """The video room, and what the local doctor found and whether the worker consents to recording;
    then the examination is recorded as done."""
    appointment = _remote_or_404(request, pk)
    initial = {"local_doctor": appointment.local_doctor, "local_findings": appointment.local_findings}
    if appointment.recording_consent is not None:
        initial["recording_consent"] = "yes" if appointment.recording_consent else "no"
    form = visit_forms.RemoteRecordForm(request.POST or None, initial=initial, prefix="record")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                day.remote_record(appointment.pk, actor=request.user, local_doctor=data["local_doctor"],
                                  local_findings=data["local_findings"],
                                  recording_consent=data["recording_consent"])
                if request.POST.get("examined"):
                    day.examination_done(appointment.pk, actor=request.user)
            except NotFoundError:
                raise Http404(_("No such appointment.")) from None
            except ApplicationError as exc:
                _refused(request, form, exc)
            else:
                messages.success(request, _("Examination recorded: the panel can now write its opinions.")
                                 if request.POST.get("examined") else _("The local findings are saved."))
                return _to("sittings:remote_record", appointment.pk)
        else:
            messages.error(request, _("Say whether the worker consents to the recording."))
        status = 400
    appointment.refresh_from_db()
    appointment.case = _case_or_404(request, appointment.case_id)
    consent_version, consent_text = purposes.consent_text("remote_recording")
    return render(request, "sittings/remote/record.html", {
        "appointment": appointment, "case": appointment.case, "form": form,
        "consent_version": consent_version, "consent_text": consent_text,
        "panel": list(selectors.panel_experts(appointment.case).values()),
        "can_record": appointment.is_live and (request.user.has_perm(PLAN)
                                               or request.user.pk in selectors.panel_experts(appointment.case)),
    }, status=status)


# EXTRA EXAMINATIONS ------------------------------------------------------------------------------

def _may_order(request: HttpRequest, case: Case) -> bool:
    return request.user.has_perm(PLAN) or request.user.pk in selectors.panel_experts(case)


def _examinations_page(request: HttpRequest, case: Case, *, order_form: django_forms.Form | None = None,
                       result_forms: dict[int, django_forms.Form] | None = None, status: int = 200) -> HttpResponse:
    exams = list(ExtraExamination.objects.filter(case=case).order_by("due", "id"))
    result_forms = result_forms or {}
    open_rows = [(e, result_forms.get(e.pk) or visit_forms.ExtraResultForm(prefix=f"result-{e.pk}"))
                 for e in exams if e.state == ExtraExamination.State.ORDERED]
    return render(request, "sittings/records/examinations.html", {
        "case": case, "open_rows": open_rows,
        "received": [e for e in exams if e.state == ExtraExamination.State.RECEIVED],
        "order_form": order_form or visit_forms.ExtraExaminationForm(prefix="order"),
        "can_order": _may_order(request, case),
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def extra_examinations(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's extra examinations, open and received; order one (which, where, by when)."""
    case = _case_or_404(request, case_id)
    if request.method == "GET":
        # The results received are medical content: the same readers as the examination records.
        if not records.can_view(request.user, case):
            raise Http404(_("No such case, or it is not yours to see."))
        if grant := breakglass.grant_in_use(request.user, case):
            breakglass.record_read(grant, actor=request.user, case=case, fields=["extra_examinations"],
                                   ip_address=audit.client_ip(request))
        return _examinations_page(request, case)
    if not _may_order(request, case):
        raise Http404()
    form = visit_forms.ExtraExaminationForm(request.POST, prefix="order")
    if form.is_valid():
        data = form.cleaned_data
        try:
            examinations.extra_examination_order(case.pk, actor=request.user, what=data["what"],
                                                 where=data["where"], due=data["due"])
        except NotFoundError:
            raise Http404() from None
        except ApplicationError as exc:
            _refused(request, form, exc)
        else:
            messages.success(request, _("The extra examination is ordered; the worker is told by SMS."))
            return _to("sittings:extra_examinations", case.pk)
    return _examinations_page(request, case, order_form=form, status=400)


@require_POST
@login_required
def extra_examination_receive(request: HttpRequest, pk: int) -> HttpResponse:
    exam = ExtraExamination.objects.filter(pk=pk).first()
    if exam is None:
        raise Http404()
    case = _case_or_404(request, exam.case_id)
    if not _may_order(request, case):
        raise Http404()
    form = visit_forms.ExtraResultForm(request.POST, prefix=f"result-{exam.pk}")
    if form.is_valid():
        try:
            examinations.extra_examination_receive(exam.pk, actor=request.user,
                                                   result_note=form.cleaned_data["result_note"],
                                                   received_on=form.cleaned_data["received_on"])
        except NotFoundError:
            raise Http404() from None
        except ApplicationError as exc:
            _refused(request, form, exc)
        else:
            messages.success(request, _("The result is recorded."))
            return _to("sittings:extra_examinations", case.pk)
    return _examinations_page(request, case, result_forms={exam.pk: form}, status=400)


# EXAMINATION RECORDS -----------------------------------------------------------------------------

def _records_page(request: HttpRequest, case: Case, form: django_forms.Form | None = None,
                  status: int = 200) -> HttpResponse:
    return render(request, "sittings/records/list.html", {
        "case": case, "records": list(records.records_of(case)),
        "form": form or visit_forms.RecordUploadForm(prefix="record", accept=records.ACCEPT),
        "can_upload": records.can_upload(request.user, case),
        "max_video": records.max_video_bytes(), "max_image": records.max_image_bytes(),
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def case_records(request: HttpRequest, case_id: int) -> HttpResponse:
    """The examination's photos and videos of a case: the list and the upload."""
    case = _case_or_404(request, case_id)
    if not records.can_view(request.user, case):
        raise Http404(_("No such case, or it is not yours to see."))
    if request.method == "GET":
        if grant := breakglass.grant_in_use(request.user, case):
            breakglass.record_read(grant, actor=request.user, case=case, fields=["examination_records"],
                                   ip_address=audit.client_ip(request))
        return _records_page(request, case)
    form = visit_forms.RecordUploadForm(request.POST, request.FILES, prefix="record", accept=records.ACCEPT)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            records.record_upload(case.pk, upload, actor=request.user, name=upload.name,
                                  description=form.cleaned_data["description"], ip_address=audit.client_ip(request))
        except NotFoundError:
            raise Http404() from None
        except ApplicationError as exc:
            _refused(request, form, exc)
            if isinstance(exc, PermissionDeniedError):  # e.g. a video without the worker's consent
                return _records_page(request, case, form, status=403)
        else:
            messages.success(request, _("The record is attached to the case."))
            return _to("sittings:records", case.pk)
    return _records_page(request, case, form, status=400)


@require_GET
@login_required
def record_download(request: HttpRequest, pk: int) -> HttpResponse:
    """One record, as a download the browser neither renders nor sniffs; every read is audited."""
    try:
        record, content = records.record_read(pk, actor=request.user, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404(_("No such file, or it is not yours to see.")) from None
    except ApplicationError as exc:
        raise Http404(exc.message) from None
    response = HttpResponse(content, content_type=record.content_type)
    response["Content-Disposition"] = content_disposition_header(True, record.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


routes = [
    path("cases/<int:case_id>/home/", case_home, name="case_home"),
    path("visits/<str:date>/", route_sheet, name="route_sheet"),
    path("cases/<int:case_id>/remote/", case_remote, name="case_remote"),
    path("appointments/<int:pk>/remote/", remote_record, name="remote_record"),
    path("cases/<int:case_id>/examinations/", extra_examinations, name="extra_examinations"),
    path("examinations/<int:pk>/receive/", extra_examination_receive, name="extra_examination_receive"),
    path("cases/<int:case_id>/records/", case_records, name="records"),
    path("records/<int:pk>/download/", record_download, name="record_download"),
]
