"""Default material checklists (申请材料清单) for every case type, for all committees.

Each committee adapts them in the admin (a row of its own with the same code replaces a default).
Names are reference data in Chinese, as the committee prints them on its notices.
"""

from django.db import migrations

COMMON = [
    ("application_form", "申请表", "劳动能力鉴定申请表，申请人签字（盖章）。", True),
    ("injury_determination", "工伤认定决定书", "社会保险行政部门作出的工伤认定决定书。", True),
    ("diagnosis", "诊断证明书", "治疗医院出具的诊断证明书。", True),
    ("medical_records", "病历资料", "完整的病历资料：门诊及住院病历、出院记录、检查报告、影像资料等。", True),
    ("id_card", "身份证", "工伤职工的居民身份证或社会保障卡。", True),
]
HOSPITAL_RECOMMENDATION = (
    "hospital_recommendation", "治疗医院的延期建议", "治疗医院出具的延长期限的意见或建议。", True,
)
PREVIOUS_CONCLUSION = ("previous_conclusion", "原鉴定结论书", "此前作出的劳动能力鉴定结论书。", True)
OTHER = ("other", "其他材料", "其他需要提交的材料（如用人单位证明、补充检查结果）。", False)

CHECKLISTS = {
    "initial": [*COMMON, OTHER],
    "review": [*COMMON, PREVIOUS_CONCLUSION, OTHER],
    "reappraisal": [*COMMON, PREVIOUS_CONCLUSION, OTHER],
    "leave_confirmation": [*COMMON, OTHER],
    "leave_extension": [*COMMON, HOSPITAL_RECOMMENDATION, OTHER],
    "rehab_confirmation": [*COMMON, OTHER],
    "rehab_extension": [*COMMON, HOSPITAL_RECOMMENDATION, OTHER],
}


def seed(apps, schema_editor):
    MaterialType = apps.get_model("cases", "MaterialType")
    for case_type, items in CHECKLISTS.items():
        for order, (code, name, description, required) in enumerate(items, start=1):
            MaterialType.objects.get_or_create(
                committee=None, case_type=case_type, code=code,
                defaults={"name": name, "description": description, "required": required, "order": order * 10},
            )


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_materialtype_materialcheck_material_and_more")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
