"""The values a document prints, and the checks on a template's fields.

Templates use Django's template language with the values below (no tags beyond the built-in ones,
no autoescape: the output is PDF text). Every field a template names must exist (``check``), and
each document must show what the law or the reader needs (``REQUIRED``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, VariableNode
from django.utils.translation import gettext as _

from laojian.core.errors import ValidationFailed
from laojian.documents.models import Kind
from laojian.documents.pdf import chinese_date

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.grading.models import Conclusion

ENGINE = Engine(autoescape=False, string_if_invalid="", libraries={}, loaders=[])

REQUIRED: dict[str, tuple[str, ...]] = {
    Kind.CONCLUSION: ("worker.name", "conclusion.grade"),
    Kind.PERIOD: ("worker.name", "conclusion.months"),
    Kind.CORRECTION: ("note", "correction.due"),
    Kind.REJECTION: ("note",),
    Kind.TERMINATION: ("note",),
    Kind.APPRAISAL: ("appraisal.when", "appraisal.place"),
    Kind.MINUTES: ("discussion.held_on", "note"),
    Kind.CROSSCHECK: ("crosscheck.department", "note"),
    Kind.DELIVERY_RECEIPT: ("delivery.title", "delivery.number"),
}


def _date(day: dt.date | None) -> str:
    return chinese_date(day) if day else ""


def case_values(case: Case, *, note: str = "", extra: dict[str, Any] | None = None,
                conclusion: Conclusion | None = None) -> dict[str, Any]:
    """Everything a template may print about a case, as plain strings (stored with the document)."""
    worker, employer, determination = case.worker, case.employer, case.determination
    values: dict[str, Any] = {
        "committee": {"name": case.committee.name},
        "case": {"number": case.number or "", "type": str(case.get_case_type_display()),
                 "mode": str(case.get_mode_display()), "received_on": _date(case.received_on),
                 "accepted_on": _date(case.accepted_on), "concluded_on": _date(case.concluded_on)},
        "applicant": {"name": case.applicant_name or worker.name},
        "worker": {"name": worker.name, "id_number": worker.id_number, "sex": str(worker.get_sex_display()),
                   "address": worker.address},
        "employer": {"name": employer.name, "address": employer.address},
        "determination": {"number": determination.number, "injury_date": _date(determination.injury_date),
                          "injured_parts": determination.injured_parts, "diagnosis": determination.diagnosis},
        "correction": {"due": _date(case.correction_due)},
        "note": note,
        "appraisal": {"when": "", "place": "", "bring": "身份证原件、病历及影像资料原件"},
        "discussion": {"held_on": "", "place": ""},
        "crosscheck": {"department": ""},
        "delivery": {"title": "", "number": ""},
        "conclusion": {"grade": "", "care_level": "", "medical_dependency": "", "months": "", "period": "",
                       "clauses": "", "basis": "", "edition": "", "number": ""},
    }
    if conclusion is not None:
        values["conclusion"] = {
            "grade": conclusion.grade_label, "care_level": str(conclusion.get_care_level_display()),
            "medical_dependency": str(conclusion.get_medical_dependency_display()),
            "months": "" if conclusion.months is None else str(conclusion.months),
            "period": "工伤康复期" if case.case_type.startswith("rehab") else "停工留薪期",
            "clauses": "、".join(conclusion.clauses), "basis": conclusion.basis,
            "edition": conclusion.edition.code, "number": conclusion.number or ""}
    for group, fields in (extra or {}).items():
        if isinstance(fields, dict) and isinstance(values.get(group), dict):
            values[group].update({k: _date(v) if isinstance(v, dt.date) else str(v) for k, v in fields.items()})
    return values


SAMPLE: dict[str, Any] = {
    "committee": {"name": "聊城市劳动能力鉴定委员会"},
    "case": {"number": "聊劳鉴〔2026〕0001号", "type": "初次鉴定", "mode": "现场鉴定", "received_on": "二〇二六年三月二日",
             "accepted_on": "二〇二六年三月四日", "concluded_on": "二〇二六年四月十日"},
    "applicant": {"name": "张三"},
    "worker": {"name": "张三", "id_number": "371502198001011234", "sex": "男", "address": "聊城市东昌府区"},
    "employer": {"name": "聊城某机械有限公司", "address": "聊城市经济技术开发区"},
    "determination": {"number": "聊人社工伤认字〔2026〕00001号", "injury_date": "二〇二五年十一月三日",
                      "injured_parts": "右手", "diagnosis": "右手示指末节离断伤"},
    "correction": {"due": "二〇二六年四月一日"},
    "note": "（事由或材料清单）",
    "appraisal": {"when": "二〇二六年三月二十日上午9:00", "place": "聊城市人民医院门诊楼三楼", "bring": "身份证原件"},
    "discussion": {"held_on": "二〇二六年四月八日", "place": "委员会第一会议室"},
    "crosscheck": {"department": "聊城市医疗保障局"},
    "delivery": {"title": "劳动能力鉴定结论书", "number": "聊劳鉴结〔2026〕0001号"},
    "conclusion": {"grade": "10级", "care_level": "无生活自理障碍", "medical_dependency": "无医疗依赖", "months": "6",
                   "period": "停工留薪期", "clauses": "5.10.2(5)", "basis": "（鉴定依据）", "edition": "GB/T 16180-2014",
                   "number": "聊劳鉴结〔2026〕0001号"},
}


def _fields(source: str) -> list[str]:
    """The dotted field names a template string uses (``{{ worker.name|default:"" }}`` → worker.name)."""
    try:
        template = ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValidationFailed(_("The template cannot be read: %(error)s") % {"error": exc}) from None
    names = []
    for node in template.nodelist.get_nodes_by_type(VariableNode):
        expression: FilterExpression = node.filter_expression
        var = getattr(expression.var, "var", None)
        if isinstance(var, str):
            names.append(var)
    return names


def lookup(values: dict[str, Any], path: str) -> Any:
    """The value at a dotted field name (``worker.name``), or None when there is no such field."""
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check(kind: str, *parts: str) -> None:
    """Refuse a template naming a field that does not exist, or lacking one its document requires."""
    used: list[str] = []
    for part in parts:
        used += _fields(part)
    unknown = [name for name in used if lookup(SAMPLE, name) is None]
    if unknown:
        raise ValidationFailed(_("The template uses a field that does not exist: {{ %(field)s }}.")
                               % {"field": unknown[0]}, code="unknown_field")
    missing = [name for name in REQUIRED.get(kind, ()) if name not in used]
    if missing:
        raise ValidationFailed(_("This document must show {{ %(field)s }}; add it to the text.")
                               % {"field": missing[0]}, code="missing_field")


def render_text(source: str, values: dict[str, Any]) -> str:
    return ENGINE.from_string(source).render(Context(values, autoescape=False)).strip()


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs are separated by an empty line; single line breaks inside one are dropped (Chinese needs no spaces)."""
    blocks = ["".join(line.strip() for line in block.splitlines() if line.strip()) for block in text.split("\n\n")]
    return tuple(b for b in blocks if b)
