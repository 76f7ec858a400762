"""The one place that talks to ``laojian.notify``. SMS texts carry no worker names or medical detail."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

DRAWN = "experts.drawn"
REPLACED = "experts.replacement"
SECOND_OPINION = "experts.second_opinion"
# A group draw (one panel for a room of a sitting) texts each expert once for the whole room.
DRAWN_GROUP = "experts.drawn_group"
REPLACED_GROUP = "experts.replacement_group"
GROUP_VARIANT = {DRAWN: DRAWN_GROUP, REPLACED: REPLACED_GROUP}

# Django template strings (Chinese, the committee's language for SMS).
TEMPLATES: dict[str, dict[str, str]] = {
    DRAWN: {
        "sms": "【{{ committee }}】您已被抽取为案件{{ case_number }}的鉴定专家，鉴定日期{{ date }}。"
               "请登录劳鉴系统确认或说明不能参加的理由。",
        "email_subject": "鉴定专家抽取通知：{{ case_number }}",
        "email_body": "您已被抽取为案件{{ case_number }}的鉴定专家，鉴定日期{{ date }}。请登录系统确认。",
    },
    SECOND_OPINION: {
        "sms": "【{{ committee }}】您已被抽取为案件{{ case_number }}的复审专家（专家复审），鉴定日期{{ date }}。"
               "请登录劳鉴系统确认或说明不能参加的理由。",
        "email_subject": "复审专家抽取通知：{{ case_number }}",
        "email_body": "您已被抽取为案件{{ case_number }}的复审专家（专家复审），鉴定日期{{ date }}。请登录系统确认。",
    },
    REPLACED: {
        "sms": "【{{ committee }}】您已被补充抽取为案件{{ case_number }}的鉴定专家，鉴定日期{{ date }}。"
               "请登录劳鉴系统确认。",
    },
    DRAWN_GROUP: {
        "sms": "【{{ committee }}】您已被抽取为鉴定专家，鉴定日期{{ date }}，同一专家组鉴定案件{{ case_number }}"
               "等{{ count }}件。请登录劳鉴系统确认或说明不能参加的理由。",
        "email_subject": "鉴定专家抽取通知：{{ case_number }}等{{ count }}件",
        "email_body": "您已被抽取为鉴定专家，鉴定日期{{ date }}，同一专家组鉴定案件{{ case_number }}等{{ count }}件。"
                      "请登录系统确认。",
    },
    REPLACED_GROUP: {
        "sms": "【{{ committee }}】您已被补充抽取为鉴定专家，鉴定日期{{ date }}，同一专家组鉴定案件{{ case_number }}"
               "等{{ count }}件。请登录劳鉴系统确认。",
    },
}


def _notify() -> Any:
    try:
        from laojian.notify import services
    except ImportError:  # the notify app is being built alongside; drawing must not depend on it
        return None
    return services


def register_templates() -> None:
    notify = _notify()
    if notify is None or not hasattr(notify, "register_template"):
        return
    for code, parts in TEMPLATES.items():
        notify.register_template(code, parts["sms"], parts.get("email_subject", ""), parts.get("email_body", ""))


def send(template: str, *, phone: str, context: dict[str, Any], case_id: int, committee_id: int) -> bool:
    """Queue a message (the outbox sends after commit). Returns False when notify is not installed."""
    notify = _notify()
    if notify is None or not hasattr(notify, "send"):
        logger.warning("laojian.notify is not available; %s for case %s not queued", template, case_id)
        return False
    notify.send(template, phone=phone, context=context, case_id=case_id, committee_id=committee_id)
    return True
