"""A worker applies on a phone-sized screen through to "submitted", and a clerk accepts it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pypdf import PdfWriter

from laojian.cases import selectors
from laojian.cases.models import Case, Status
from laojian.cases.tests.test_materials import seed_checklists
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_credit_code, build_resident_id
from laojian.notify.models import Notification

PHONE = "13912345678"
PASSWORD = "correct horse battery staple"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_worker_applies_on_a_phone_and_a_clerk_accepts(live_server, chromium, artifacts):
    seed_checklists()  # a transactional test starts from an empty database
    committee = CommitteeFactory(name="聊城市劳动能力鉴定委员会", short_name="聊城", case_number_prefix="聊劳鉴")
    UserFactory(username="clerk1", display_name="王经办", roles=["clerk"], committee=committee)

    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                 has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/portal/sign-in/")
    page.fill("#id_phone", PHONE)
    page.click("main button[type=submit].btn-primary")
    page.locator("#id_code").wait_for()
    code = re.search(r"\d{6}", Notification.objects.filter(recipient=PHONE).latest("id").text).group(0)
    page.fill("#id_code", code)
    page.click("main button[type=submit].btn-primary")
    page.wait_for_url(f"{live_server.url}/portal/")

    page.click("a[href='/portal/apply/']")
    page.wait_for_url(f"{live_server.url}/portal/apply/")
    fields = {
        "#id_worker_name": "李四",
        "#id_worker_id_number": build_resident_id("371502", dt.date(1985, 3, 4), 17),
        "#id_worker_phone": PHONE,
        "#id_employer_name": "聊城某机械有限公司",
        "#id_employer_credit_code": build_credit_code("91371500MA3C00002"),
        "#id_determination_number": "聊人社工伤认字〔2026〕00777号",
        "#id_injury_date": "2026-03-02",
        "#id_determination_date": "2026-05-06",
        "#id_injured_parts": "左腿",
        "#id_diagnosis": "左胫骨骨折",
    }
    for selector, value in fields.items():
        page.fill(selector, value)
    assert page.locator("#id_notice_acknowledged").is_visible()  # the personal-information notice (SEC-61)
    page.check("#id_notice_acknowledged")
    page.screenshot(path=artifacts / "apply-390.png", full_page=True)
    page.click("main button[type=submit].btn-primary")
    page.wait_for_url(re.compile(r".*/cases/\d+/$"))
    case = Case.objects.get()
    assert case.status == Status.DRAFT and case.notice_version

    # The checklist's required materials, photographed or scanned, then the application is submitted.
    scan = artifacts / "scan.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    with scan.open("wb") as out:
        writer.write(out)
    for material_type in [mt for mt in selectors.checklist_for(case) if mt.required]:
        page.select_option("#material-type", str(material_type.pk))
        page.set_input_files("#material-file", str(scan))
        page.click(".upload-form button[type=submit]")
        page.locator(".message-success").wait_for()
    page.get_by_role("button", name="提交申请", exact=True).click()
    page.locator(".message-success").wait_for()
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    assert "已提交" in page.locator(".case-head-status").inner_text()
    page.screenshot(path=artifacts / "applied-390.png", full_page=True)
    phone.close()

    desk = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    clerk_page = desk.new_page()
    clerk_page.set_default_timeout(15_000)
    clerk_page.goto(f"{live_server.url}/login/")
    clerk_page.fill("#id_username", "clerk1")
    clerk_page.fill("#id_password", PASSWORD)
    clerk_page.click("button[type=submit].btn-primary")
    clerk_page.wait_for_url(f"{live_server.url}/cases/")
    clerk_page.get_by_role("link", name=case.number).click()
    clerk_page.get_by_role("button", name="受理", exact=True).click()
    clerk_page.locator(".message-success").wait_for()
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    desk.close()
