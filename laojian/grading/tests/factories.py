"""Factories for grading: a case ready for opinions with its panel, and opinions written through
the services (so tests exercise the same rules users hit)."""

from __future__ import annotations

from laojian.cases.models import CaseAssignment, CaseType, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import UserFactory
from laojian.grading import services
from laojian.grading.models import Opinion

PASSWORD = "correct horse battery staple"  # UserFactory's password


def panel_case(*, experts: int = 3, status: str = Status.EXAMINED, case_type: str = CaseType.INITIAL, **kwargs):
    """A case in ``status`` with ``experts`` panel experts (users with the expert role, active
    assignments). Returns (case, [expert users])."""
    case = CaseFactory(status=status, case_type=case_type, **kwargs)
    members = [UserFactory(committee=None, roles=["expert"]) for _ in range(experts)]
    for user in members:
        CaseAssignment.objects.create(case=case, user=user, role=CaseAssignment.Role.EXPERT, active=True)
    return case, members


def leader(case, **kwargs):
    return UserFactory(committee=case.committee, roles=["leader"], **kwargs)


def clerk(case, **kwargs):
    return UserFactory(committee=case.committee, roles=["clerk"], **kwargs)


def opinion_input(clauses: list[str] | None = None, **overrides) -> services.OpinionInput:
    """A complete opinion grading the given clauses (default: one grade-10 clause)."""
    clauses = ["5.10.2(12)"] if clauses is None else clauses
    values = {
        "findings": [("右手", "右手示指末节缺失，残端愈合良好")],
        "items": [(f"伤情{n + 1}", number) for n, number in enumerate(clauses)],
        "basis": "依据查体及影像资料",
    }
    values.update(overrides)
    return services.OpinionInput(**values)


def signed_opinion(case, expert, clauses: list[str] | None = None, **overrides) -> Opinion:
    """Write and sign an opinion through the services."""
    opinion = services.opinion_start(case.pk, actor=expert)
    services.opinion_save(opinion.pk, opinion_input(clauses, **overrides), actor=expert)
    return services.opinion_sign(opinion.pk, actor=expert, password=PASSWORD)


# CATALOGUE FILES ----------------------------------------------------------------------------------

EDITION_HEADER = "clause_id,grade,seq,categories,body_parts,criterion_zh"
# A small valid edition: principles and clauses of grades 9 and 10 (file lines 2 to 8).
SMALL_EDITION = [
    "5.9.1,9,0,,,器官部分缺损，形态异常，轻度功能障碍",
    "5.9.2(1),9,1,2,手,一拇指末节部分1/2缺失",
    "5.9.2(2),9,2,2|4,胸|肺,肺叶切除",
    "5.10.1,10,0,,,器官部分缺损，形态异常，无功能障碍",
    "5.10.2(1),10,1,3,眼,眼睑外翻",
    "5.10.2(2),10,2,2,手,除拇指外的一指末节缺失",
    "5.10.2(3),10,3,2,手,除拇指外的一指末节缺失",
]
LEAVE_HEADER = "icd10,name_zh,body_region,max_months"


def edition_csv(rows: list[str] | None = None, header: str = EDITION_HEADER, encoding: str = "utf-8") -> bytes:
    """The bytes of a standard file (default: ``SMALL_EDITION``)."""
    rows = SMALL_EDITION if rows is None else rows
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def leave_csv(*rows: str) -> bytes:
    """The bytes of a paid-leave catalogue file."""
    return ("\n".join([LEAVE_HEADER, *rows]) + "\n").encode()
