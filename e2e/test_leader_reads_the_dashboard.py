"""A committee leader opens the statistics, sees the charts drawn from local ECharts under the
enforced Content-Security-Policy, and drills from a number to the cases behind it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import CommitteeFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_leader_reads_the_dashboard_and_drills_down(live_server, strict_page, artifacts, settings):
    page = strict_page
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    committee = CommitteeFactory(name="聊城市劳动能力鉴定委员会", short_name="聊城")
    UserFactory(username="leader1", display_name="赵主任", roles=["leader"], committee=committee)
    today = timezone.localdate()
    for status in (Status.SUBMITTED, Status.SUBMITTED, Status.SCHEDULED):
        CaseFactory(committee=committee, status=status, received_on=dt.date(today.year, 1, 2))

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "leader1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{live_server.url}/cases/")

    page.get_by_role("link", name="统计").first.click()
    page.wait_for_url(f"{live_server.url}/reports/")
    chart = page.locator('[data-chart="backlog"]')
    expect(chart).to_have_attribute("data-drawn", "true")
    assert chart.locator("canvas").count() == 1
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)

    page.locator("#fig-backlog").locator("xpath=../..").get_by_role("link", name="2").click()
    expect(page.locator("#drill-count")).to_contain_text("2")
    expect(page.locator(".drill-table tbody tr")).to_have_count(2)
    assert page.csp_violations == []
