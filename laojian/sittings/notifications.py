"""The appointment notices by SMS: the worker (and a home-visit family), the experts, the staff.

Texts name the case number, the time and the place, never a diagnosis: an SMS can be read by
anyone who holds the phone. They go through ``laojian.notify`` (outbox, sent after commit).
"""

from __future__ import annotations

from typing import Any

from laojian.notify import services as notify

BOOKED = "appointment.booked"
MOVED = "appointment.moved"
CANCELLED = "appointment.cancelled"
EXPERT_BOOKED = "appointment.expert_booked"
EXPERT_MOVED = "appointment.expert_moved"
EXPERT_CANCELLED = "appointment.expert_cancelled"
EXPERT_SITTING = "appointment.expert_sitting"
FAMILY_VISIT = "appointment.family_visit"
EXTRA_EXAMINATION = "appointment.extra_examination"

TEMPLATES: dict[str, str] = {
    BOOKED: "{{ committee }}：您的案件（{{ number }}）定于{{ when }}在{{ place }}进行劳动能力鉴定（{{ mode }}），"
            "请携带{{ bring }}。无正当理由不参加的，将终止鉴定。",
    MOVED: "{{ committee }}：您的案件（{{ number }}）鉴定时间已调整为{{ when }}，地点：{{ place }}。原因：{{ reason }}。",
    CANCELLED: "{{ committee }}：您的案件（{{ number }}）原定{{ when }}的鉴定已取消，原因：{{ reason }}。新的安排将另行通知。",
    EXPERT_BOOKED: "【{{ committee }}】鉴定安排：{{ when }}，{{ place }}，案件{{ number }}（{{ mode }}）。",
    EXPERT_MOVED: "【{{ committee }}】案件{{ number }}的鉴定已改至{{ when }}，{{ place }}。",
    EXPERT_CANCELLED: "【{{ committee }}】案件{{ number }}原定{{ when }}的鉴定已取消。",
    EXPERT_SITTING: "【{{ committee }}】鉴定会安排：{{ when }}，{{ place }}，共{{ count }}名职工（案件{{ number }}等）。",
    FAMILY_VISIT: "{{ committee }}：鉴定专家将于{{ when }}到{{ place }}为{{ masked_name }}进行上门鉴定，请家属在场并备好身份证和病历。",
    EXTRA_EXAMINATION: "{{ committee }}：您的案件（{{ number }}）需补充检查：{{ what }}，地点：{{ where }}，"
                       "请于{{ due }}前完成并提交结果。",
}


def register_templates() -> None:
    for code, sms in TEMPLATES.items():
        notify.register_template(code, sms, email_subject="{{ committee }}：{{ number }}", email_body=sms)


def send(template: str, phone: str, context: dict[str, Any], *, case_id: int | None, committee_id: int,
         key: str | None = None) -> None:
    """Queue one SMS when there is a phone to send it to (the key makes a retry send nothing twice)."""
    if phone and phone.strip():
        notify.send(template, phone=phone, context=context, case_id=case_id, committee_id=committee_id, key=key)
