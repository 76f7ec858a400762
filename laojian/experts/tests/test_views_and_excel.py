"""The draw pages, the workbench, the fairness report and the Excel round trip."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import UserFactory
from laojian.experts import excel, services
from laojian.experts.models import Draw, Expert, PanelMember
from laojian.experts.tests.factories import ExpertFactory, HospitalFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db


def world(n: int = 5):
    case = CaseFactory(status=Status.REVIEWED, number="测劳鉴〔2026〕0007号")
    clerk = UserFactory(committee=case.committee, roles=["clerk"])
    ortho = SpecialtyFactory()
    experts = [ExpertFactory(committee=case.committee, specialties=[ortho]) for _ in range(n)]
    return case, clerk, experts


def test_a_clerk_draws_from_the_case_page_and_lands_on_the_record(client):
    case, clerk, _experts = world()
    client.force_login(clerk)
    response = client.post(reverse("experts:case_draw_run", args=[case.pk]),
                           {"categories": ["2"], "sitting_date": "2026-12-07"})
    d = Draw.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("experts:draw_record", args=[d.pk])
    page = client.get(response["Location"]).content.decode()
    assert d.seed_hash in page
    assert d.record_hash in page
    for member in d.members.select_related("expert"):
        assert member.expert.name in page


def test_asking_for_four_on_the_page_shows_the_message_and_draws_nothing(client):
    case, clerk, _experts = world()
    client.force_login(clerk)
    response = client.post(reverse("experts:case_draw_run", args=[case.pk]),
                           {"categories": ["2"], "size": "4"}, follow=True)
    assert "专家组人数为 3 人或 5 人，不能是 4 人。" in response.content.decode()
    assert Draw.objects.count() == 0


def test_an_applicant_cannot_see_the_draw_page_or_record(client):
    case, clerk, _experts = world()
    panel = services.panel_draw(case.pk, services.DrawRequest([2]), actor=clerk)
    applicant = UserFactory(committee=None, roles=["applicant"])
    case.applicant_user = applicant
    case.save(update_fields=["applicant_user"])
    client.force_login(applicant)
    assert client.get(reverse("experts:case_draw", args=[case.pk])).status_code == 404
    assert client.get(reverse("experts:draw_record", args=[panel.draws.get().pk])).status_code == 404


def test_an_expert_confirms_on_the_workbench(client):
    case, clerk, _experts = world()
    panel = services.panel_draw(case.pk, services.DrawRequest([2]), actor=clerk)
    member = panel.members.first()
    client.force_login(member.expert.user)
    page = client.get(reverse("experts:workbench")).content.decode()
    assert case.number in page
    client.post(reverse("experts:member_confirm", args=[member.pk]))
    member.refresh_from_db()
    assert member.status == PanelMember.Status.CONFIRMED


def test_an_expert_declines_on_the_workbench_and_a_replacement_is_drawn(client):
    case, clerk, _experts = world()
    panel = services.panel_draw(case.pk, services.DrawRequest([2]), actor=clerk)
    member = panel.members.first()
    client.force_login(member.expert.user)
    client.post(reverse("experts:member_decline", args=[member.pk]), {"reason": "外出会诊"})
    assert panel.members.exclude(status="declined").count() == 3
    assert panel.draws.filter(kind=Draw.Kind.REPLACEMENT).count() == 1
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404


def test_the_fairness_report_shows_chi_square(client):
    case, clerk, _experts = world()
    services.panel_draw(case.pk, services.DrawRequest([2]), actor=clerk)
    client.force_login(clerk)
    page = client.get(reverse("experts:fairness"), {"start": "2000-01-01", "end": "2100-01-01"}).content.decode()
    assert "共 1 次抽取" in page
    assert "卡方值" in page


# EXCEL ---------------------------------------------------------------------------------------------------

def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


HEADER = [h for _k, h in excel.COLUMNS]


def test_import_then_export_round_trips_and_reimport_changes_nothing():
    clerk = UserFactory(roles=["clerk"])
    HospitalFactory(committee=clerk.committee, code="LCH01")
    SpecialtyFactory(code="ortho")
    SpecialtyFactory(code="neuro", name="神经外科", category=1)
    data = xlsx([HEADER,
                 ["E001", "张医生", "LCH01", "ortho、neuro", "主任医师", "是", "2025-01-01", "2027-12-31", "在聘", "13900000001"],
                 ["E002", "李医生", "LCH01", "ortho", "副主任医师", "否", dt.date(2025, 3, 1), dt.date(2028, 2, 28), "暂停", ""]])
    first = services.experts_import(clerk.committee, data, actor=clerk)
    assert (first.created, first.updated, first.unchanged, first.errors) == (2, 0, 0, [])
    exported = excel.export_experts(clerk.committee)
    again = services.experts_import(clerk.committee, exported, actor=clerk)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    e2 = Expert.objects.get(code="E002")
    assert (e2.status, e2.senior_title, e2.term_end) == ("suspended", False, dt.date(2028, 2, 28))
    rows = list(load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True))
    assert rows[1][:4] == ("E001", "张医生", "LCH01", "neuro、ortho")


def test_imported_experts_get_an_expert_account_that_cannot_sign_in_yet():
    clerk = UserFactory(roles=["clerk"])
    HospitalFactory(committee=clerk.committee, code="LCH01")
    SpecialtyFactory(code="ortho")
    data = xlsx([HEADER, ["E009", "王医生", "LCH01", "ortho", "主任医师", "是", "2025-01-01", "2027-12-31", "在聘", ""]])
    services.experts_import(clerk.committee, data, actor=clerk)
    expert = Expert.objects.get(code="E009")
    assert expert.user.username == f"expert-{clerk.committee.code}-E009"
    assert expert.user.has_perm("cases.record_examination")
    assert not expert.user.has_usable_password()
    services.experts_import(clerk.committee, data, actor=clerk)
    assert Expert.objects.get(code="E009").user_id == expert.user_id


def test_an_import_with_errors_saves_nothing_and_reports_each_row():
    clerk = UserFactory(roles=["clerk"])
    HospitalFactory(committee=clerk.committee, code="LCH01")
    SpecialtyFactory(code="ortho")
    data = xlsx([HEADER,
                 ["E001", "张医生", "LCH01", "ortho", "主任医师", "是", "2025-01-01", "2027-12-31", "在聘", ""],
                 ["E001", "张医生", "LCH09", "eye", "主任医师", "也许", "2025-01-01", "2024-12-31", "在聘", ""]])
    report = services.experts_import(clerk.committee, data, actor=clerk)
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "专家编号"), (3, "医院编码"), (3, "科别编码"), (3, "聘期结束"), (3, "高级职称已核验")]
    assert report.errors[0].message == "Expert number E001 appears twice in the file (rows 2 and 3)."
    assert Expert.objects.count() == 0


def test_an_import_with_a_bad_column_is_refused():
    clerk = UserFactory(roles=["clerk"])
    report = services.experts_import(clerk.committee, xlsx([[*HEADER[:-1], "微信"]]), actor=clerk)
    assert [e.message for e in report.errors] == ["Unknown column “微信”.", "Missing column “电话”."]


def test_the_import_page_shows_the_error_report(client):
    clerk = UserFactory(roles=["clerk"])
    client.force_login(clerk)
    upload = io.BytesIO(xlsx([["姓名"]]))
    upload.name = "experts.xlsx"
    page = client.post(reverse("experts:pool_import"), {"file": upload}).content.decode()
    assert "缺少列“专家编号”。" in page
    assert Expert.objects.count() == 0


def test_a_name_that_looks_like_a_formula_is_exported_as_text():
    clerk = UserFactory(roles=["clerk"])
    hospital = HospitalFactory(committee=clerk.committee, code="LCH01")
    ExpertFactory(committee=clerk.committee, hospital=hospital, code="E009", name='=HYPERLINK("http://x.invalid")')
    exported = excel.export_experts(clerk.committee)
    name = load_workbook(io.BytesIO(exported)).active["B2"]
    assert (name.value, name.data_type) == ('=HYPERLINK("http://x.invalid")', "s")
