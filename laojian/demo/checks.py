"""The demo city's checks and balances and cross-checks: claimed care on the open cases, a month
of partner data (a medical-insurance settlement file in GBK, the licensed-hospital registry)
imported through the real engine, one nightly matching run, and a collective discussion
convened for the difficult cases. Everything goes through the services, as a user would.

A few cases are made doubtful on purpose, so the cross-check queue has work: a claimed stay
with no settlement record, a stay whose dates disagree, and treatment of the same body part a
year before the injury.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model

from laojian.cases import clocks
from laojian.cases.models import Case, Status
from laojian.core import calendar
from laojian.core.models import Committee
from laojian.crosscheck import partners
from laojian.crosscheck import services as crosscheck_services
from laojian.crosscheck.models import ClaimedCare, Source
from laojian.experts.models import Hospital
from laojian.review import services as review_services

# The timeline entries this module writes (at the real time, not replayed).
PRESENT_ACTIONS = frozenset({"claimed_care_add", "crosscheck_flags_found", "discussion_scheduled"})
OPEN = (Status.ACCEPTED, Status.REVIEWED, Status.SCHEDULED, Status.EXAMINED, Status.DIFFICULT)
SETTLEMENT_HEADERS = ("身份证号", "姓名", "定点医疗机构名称", "入院日期", "出院日期", "医疗类别", "出院诊断", "诊断编码", "住院号")
SETTLEMENT_MAPPING = {"id_number": "身份证号", "person_name": "姓名", "hospital_name": "定点医疗机构名称",
                      "admitted_on": "入院日期", "discharged_on": "出院日期", "service": "医疗类别",
                      "diagnosis": "出院诊断", "icd10": "诊断编码", "record_number": "住院号"}
LICENSED_HEADERS = ("机构名称", "诊疗科目", "执业登记日期", "有效期至")
LICENSED_MAPPING = {"hospital_name": "机构名称", "services": "诊疗科目", "valid_from": "执业登记日期",
                    "valid_until": "有效期至"}
# ICD-10 of the demo injuries, by the body part the determination names.
ICD10 = (("手", "S62.6"), ("指", "S62.6"), ("腰椎", "S32.0"), ("胸椎", "S22.0"), ("股骨", "S72.3"),
         ("胫", "S82.2"), ("踝", "S82.8"), ("肋", "S22.4"), ("颅", "S06.5"), ("脑", "S06.5"), ("眼", "S05.3"),
         ("肩", "S42.2"), ("肘", "S52.0"), ("腕", "S62.1"), ("足", "S92.3"), ("骨盆", "S32.8"))


def _icd10(parts: str) -> str:
    return next((code for word, code in ICD10 if word in parts), "T14.2")


def _user(username: str):
    return get_user_model().objects.get(username=username)


def build(committee: Committee, *, today: dt.date | None = None, seed: int = 2026) -> dict[str, int]:
    """Add the claimed care, import the partner files, match, convene the discussion."""
    today = today or clocks.today()
    rng = random.Random(seed)
    clerk, liaison, leader = _user("clerk"), _user("liaison"), _user("leader")
    hospitals = list(Hospital.objects.filter(committee=committee).order_by("code").values_list("name", flat=True))
    cases = list(Case.objects.filter(committee=committee, status__in=OPEN)
                 .select_related("worker", "determination").order_by("id"))
    settlement: list[tuple[str, ...]] = []
    for index, case in enumerate(cases):
        injury = case.determination.injury_date
        hospital = hospitals[index % len(hospitals)]
        admitted = injury + dt.timedelta(days=rng.randint(0, 1))
        discharged = min(admitted + dt.timedelta(days=rng.randint(8, 30)), today - dt.timedelta(days=1))
        icd10 = _icd10(case.determination.injured_parts)
        crosscheck_services.claimed_care_add(case.pk, crosscheck_services.ClaimedCareInput(
            kind=ClaimedCare.Kind.STAY, hospital_name=hospital, started_on=admitted, ended_on=discharged,
            diagnosis=case.determination.diagnosis[:200], icd10=icd10, record_number=f"ZY{case.pk:07d}"),
            actor=clerk, today=today)
        row = [case.worker.id_number, case.worker.name, hospital, admitted.isoformat(), discharged.isoformat(),
               "住院", case.determination.diagnosis, icd10, f"ZY{case.pk:07d}"]
        doubt = index % 9
        if doubt == 1:
            continue  # a claimed stay the medical insurance never paid for
        if doubt == 4:  # the insurer's record says the stay began ten days later
            row[3] = (admitted + dt.timedelta(days=10)).strftime("%Y/%m/%d")
        if doubt == 7:  # the same body part treated a year before the injury
            before = injury - dt.timedelta(days=365)
            settlement.append((case.worker.id_number, case.worker.name, hospital, before.strftime("%Y%m%d"),
                               (before + dt.timedelta(days=12)).strftime("%Y%m%d"), "住院", "陈旧性损伤", icd10,
                               f"ZY{case.pk:07d}-0"))
        settlement.append(tuple(row))
    licensed = [(name, "住院|门诊|检查", "2015-01-01", "") for name in hospitals]
    counts = {"claimed_care": len(cases), "settlement_rows": len(settlement)}
    with tempfile.TemporaryDirectory() as folder:
        counts["imported"] = _import(committee, liaison, Path(folder), "settlement", "聊城市医疗保障局结算数据",
                                     "聊城市医疗保障局", SETTLEMENT_HEADERS, SETTLEMENT_MAPPING, settlement)
        counts["imported"] += _import(committee, liaison, Path(folder), "licensed", "聊城市卫生健康委员会执业登记",
                                      "聊城市卫生健康委员会", LICENSED_HEADERS, LICENSED_MAPPING, licensed)
    counts["flags"] = crosscheck_services.match_committee(committee).flags_raised
    difficult = [c.pk for c in cases if c.status == Status.DIFFICULT]
    if difficult:
        members = [_user("reviewer").pk, _user("reviewer2").pk]
        review_services.discussion_convene(actor=leader, held_on=_meeting_day(today),
                                           place="委员会第一会议室", member_ids=members, case_ids=difficult)
        counts["discussion_cases"] = len(difficult)
    return counts


def _meeting_day(today: dt.date) -> dt.date:
    """Two working days ahead (two calendar days when next year's schedule is not known yet)."""
    try:
        return calendar.add_workdays(today, 2)
    except calendar.CalendarYearMissing:
        return today + dt.timedelta(days=2)


def _import(committee: Committee, liaison, folder: Path, kind: str, name: str, department: str,
            headers: tuple[str, ...], mapping: dict[str, str], rows: list[tuple[str, ...]]) -> int:
    """Write the partner's file as they send it (CSV in GBK) and import it like the liaison would."""
    source = Source.objects.filter(committee=committee, name=name).first() or partners.source_create(
        committee, kind=kind, name=name, department=department, actor=liaison)
    partners.source_map_columns(source, mapping, actor=liaison, headers=headers)
    path = folder / f"{kind}.csv"
    lines = [",".join(headers)] + [",".join(row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    run = partners.import_file(source, path, actor=liaison, file_name=f"{kind}-{committee.code}.csv")
    return run.rows_added
