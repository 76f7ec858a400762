"""The shipped wording of every document (version 1 of the default templates).

A committee edits its own versions on the templates page; these stay as the fallback. The text is
ordinary Chinese official-document wording with fields in ``{{ }}``; ``values.FIELDS`` lists the
fields and ``values.REQUIRED`` what each document must show.
"""

from __future__ import annotations

from dataclasses import dataclass

from laojian.documents.models import Kind, Template


@dataclass(frozen=True)
class Default:
    title: str
    recipient: str
    body: str
    word: str  # the document's own word in its number, e.g. 受 in 聊劳鉴受字〔2026〕第0001号: numbers count per kind

    @property
    def number_format(self) -> str:
        return "{prefix}" + self.word + "字〔{year}〕第{seq:04d}号"


APPEAL = "如对本决定不服，可以自收到本决定书之日起60日内依法申请行政复议，或者在6个月内依法提起行政诉讼。"

DEFAULTS: dict[str, Default] = {
    Kind.ACCEPTANCE: Default("受理通知书", "{{ applicant.name }}：", """\
你（单位）于{{ case.received_on }}提交的{{ worker.name }}（身份证号：{{ worker.id_number }}）{{ case.type }}申请，经审查，材料齐全，符合受理条件，本委员会决定予以受理，受理编号为{{ case.number }}。

本委员会自受理之日起60日内作出鉴定结论；必要时，作出鉴定结论的期限可以延长30日。鉴定的时间和地点另行通知。

特此通知。""", "受"),
    Kind.CORRECTION: Default("补正材料通知书", "{{ applicant.name }}：", """\
你（单位）于{{ case.received_on }}提交的{{ worker.name }}{{ case.type }}申请，材料不完整。请于{{ correction.due }}前一次性补正下列材料：

{{ note }}

逾期未补正的，本委员会将不予受理。

特此通知。""", "补"),
    Kind.REJECTION: Default("不予受理决定书", "{{ applicant.name }}：", """\
你（单位）于{{ case.received_on }}提交的{{ worker.name }}{{ case.type }}申请，经审查，不符合受理条件，本委员会决定不予受理。理由如下：

{{ note }}

""" + APPEAL, "不受"),
    Kind.APPRAISAL: Default("劳动能力鉴定通知书", "{{ worker.name }}：", """\
你的{{ case.type }}申请（受理编号：{{ case.number }}）已安排鉴定。请于{{ appraisal.when }}到{{ appraisal.place }}参加鉴定。

请携带：{{ appraisal.bring }}

无正当理由不参加鉴定的，本委员会将终止鉴定。因特殊情况不能按时参加的，请提前与本委员会联系。

特此通知。""", "鉴通"),
    Kind.CONCLUSION: Default("劳动能力鉴定结论书", "", """\
{{ worker.name }}，{{ worker.sex }}，身份证号{{ worker.id_number }}，用人单位：{{ employer.name }}。{{ determination.injury_date }}受伤，工伤认定书编号：{{ determination.number }}。

本委员会于{{ case.accepted_on }}受理{{ case.type }}申请（受理编号：{{ case.number }}），经组织医疗卫生专家鉴定，依据《劳动能力鉴定 职工工伤与职业病致残等级》（{{ conclusion.edition }}）第{{ conclusion.clauses }}条，鉴定结论如下：

伤残等级：{{ conclusion.grade }}；生活自理障碍：{{ conclusion.care_level }}。

{{ conclusion.basis }}

如对本鉴定结论不服，可以自收到本结论书之日起15日内向省级劳动能力鉴定委员会提出再次鉴定申请。""", "结"),
    Kind.PERIOD: Default("{{ conclusion.period }}确认书", "{{ applicant.name }}：", """\
{{ worker.name }}，身份证号{{ worker.id_number }}，用人单位：{{ employer.name }}，{{ determination.injury_date }}受伤（工伤认定书编号：{{ determination.number }}）。

经本委员会组织医疗卫生专家鉴定，确认其{{ conclusion.period }}为{{ conclusion.months }}个月。

{{ conclusion.basis }}""", "期"),
    Kind.TERMINATION: Default("终止鉴定通知书", "{{ applicant.name }}：", """\
{{ worker.name }}的{{ case.type }}申请（受理编号：{{ case.number }}），因下列原因，本委员会决定终止鉴定：

{{ note }}

特此通知。""", "终"),
    Kind.DELIVERY_RECEIPT: Default("送达回证", "", """\
送达文书：{{ delivery.title }}（{{ delivery.number }}）

受送达人：{{ applicant.name }}

送达方式：______________　送达日期：____年__月__日

受送达人签名或盖章：______________　送达人：______________""", "送"),
    Kind.DRAW_RECORD: Default("专家抽取记录", "", """\
受理编号：{{ case.number }}，被鉴定人：{{ worker.name }}。

{{ note }}""", "抽"),
    # Issued by the collective discussion when it closes, with the signed minutes of the case as the note.
    Kind.MINUTES: Default("集体讨论纪要", "", """\
受理编号：{{ case.number }}，被鉴定人：{{ worker.name }}。

会议时间：{{ discussion.held_on }}；会议地点：{{ discussion.place }}。

{{ note }}""", "纪"),
    Kind.CROSSCHECK: Default("协查函", "{{ crosscheck.department }}", """\
因办理{{ worker.name }}（身份证号：{{ worker.id_number }}）{{ case.type }}案件（受理编号：{{ case.number }}）需要，请协助核查下列事项：

{{ note }}

请于收函之日起10个工作日内函复本委员会。""", "协"),
}


def ensure_defaults() -> int:
    """Create version 1 of each default template that is missing; returns how many were created."""
    created = 0
    for kind, default in DEFAULTS.items():
        _obj, made = Template.objects.get_or_create(
            committee=None, kind=kind, version=1,
            defaults={"title": default.title, "recipient": default.recipient, "body": default.body,
                      "number_format": default.number_format})
        created += made
    return created


def load_after_migrate(sender, **kwargs) -> None:
    ensure_defaults()
