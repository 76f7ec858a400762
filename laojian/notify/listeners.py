"""The applicant's SMS after each workflow step that concerns them.

Registered in ``NotifyConfig.ready`` with ``cases.workflow.register_listener``; it runs after the
step has committed. The texts name the case number, the step and the date, never anything
medical: an SMS can be read by anyone who holds the phone.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from laojian.cases.models import ApplicantKind, Case, TimelineEntry
from laojian.cases.workflow import TransitionEvent
from laojian.notify import services

logger = logging.getLogger("laojian.notify")

# Notes longer than this are cut in the SMS; the full notice is on the portal and on paper.
NOTE_LIMIT = 200

# step name → (template code, SMS text). {{ note }} only where the note is meant for the applicant.
# Scheduling and moving an appointment are told by laojian/sittings, with the time, place and what to bring.
STEP_TEMPLATES: dict[str, tuple[str, str]] = {
    "submit": ("case.submitted",
               "{{ committee }}：您的劳动能力鉴定申请（{{ number }}）已于{{ date }}收到，我们将在{{ workdays }}个工作日内完成材料审核。"),
    "resubmit": ("case.resubmitted",
                 "{{ committee }}：您补正的材料（{{ number }}）已于{{ date }}收到，我们将尽快审核。"),
    "request_correction": ("case.correction_requested",
                           "{{ committee }}：您的申请（{{ number }}）材料不全，请补正：{{ note }}。请登录系统或到窗口一次性补齐。（{{ date }}）"),
    "accept": ("case.accepted",
               "{{ committee }}：您的劳动能力鉴定申请（{{ number }}）已于{{ date }}受理。鉴定时间、地点将另行通知。"),
    "reject": ("case.rejected",
               "{{ committee }}：您的申请（{{ number }}）于{{ date }}决定不予受理，理由：{{ note }}。书面决定将另行送达。"),
    "approve_extension": ("case.extended",
                          "{{ committee }}：您的案件（{{ number }}）情况复杂，鉴定结论作出期限依法延长，延长后期限为{{ conclusion_due }}。（{{ date }}）"),
    "conclude": ("case.concluded",
                 "{{ committee }}：您的案件（{{ number }}）已于{{ date }}作出鉴定结论，结论书将依法送达。"),
    "deliver": ("case.delivered",
                "{{ committee }}：您的案件（{{ number }}）鉴定结论书已于{{ date }}送达。对结论不服的，可自收到之日起{{ reappraisal_days }}日内申请再次鉴定。"),
    "withdraw": ("case.withdrawn",
                 "{{ committee }}：您的申请（{{ number }}）已于{{ date }}撤回。"),
    "terminate": ("case.terminated",
                  "{{ committee }}：您的案件（{{ number }}）本次鉴定已于{{ date }}终止，原因：{{ note }}。如有疑问请联系鉴定委员会。"),
}


def register_templates() -> None:
    for code, sms in STEP_TEMPLATES.values():
        services.register_template(code, sms, email_subject="{{ committee }}：{{ number }}", email_body=sms)


def chinese_date(value: dt.date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def applicant_phone(case: Case) -> tuple[str, str]:
    """The phone to text and, when there is none, why (for the log)."""
    if case.applicant_user_id and case.applicant_user.phone:
        return case.applicant_user.phone, ""
    if case.applicant_phone:
        return case.applicant_phone, ""
    if case.applicant_kind == ApplicantKind.WORKER:
        if case.worker.phone:
            return case.worker.phone, ""
        return "", "the applicant is the worker and neither the account nor the worker has a phone"
    return "", f"the applicant is {case.applicant_kind} and their account has no phone"


def _short(note: str) -> str:
    note = " ".join(note.split()).rstrip("。；;,.，")
    return note if len(note) <= NOTE_LIMIT else note[: NOTE_LIMIT - 1] + "…"


def on_transition(event: TransitionEvent) -> None:
    """Queue the applicant's SMS for a step. Never raises: the step has already committed."""
    try:
        notify_applicant(event)
    except Exception:
        logger.exception("could not queue the SMS for case %s step %s", event.case_id, event.name)


def notify_applicant(event: TransitionEvent) -> list:
    step = STEP_TEMPLATES.get(event.name)
    if step is None:
        return []
    code, _text = step
    case = Case.objects.select_related("committee", "worker", "applicant_user").get(pk=event.case_id)
    phone, why_not = applicant_phone(case)
    if not phone:
        logger.info("no SMS for case %s step %s: %s", case.pk, event.name, why_not)
        return []
    # The timeline entry this step wrote identifies the event: a second delivery of the same
    # event finds the same key and queues nothing.
    entry = (
        TimelineEntry.objects.filter(case_id=case.pk, action=event.name, from_status=event.from_status,
                                     to_status=event.to_status)
        .order_by("-at", "-id").only("id", "at").first()
    )
    event_id = f"t{entry.pk}" if entry else f"v{case.version}"
    context = {
        "committee": case.committee.name,
        "number": case.number or f"#{case.pk}",
        "date": chinese_date(timezone.localdate(entry.at) if entry else timezone.localdate()),
        "note": _short(event.note),
        "workdays": case.committee.completeness_workdays,
        "conclusion_due": chinese_date(case.conclusion_due) or "—",
        "reappraisal_days": case.committee.reappraisal_window_days,
    }
    return services.send(code, phone=phone, context=context, case_id=case.pk, committee_id=case.committee_id,
                         key=f"{code}:{case.pk}:{event_id}")
