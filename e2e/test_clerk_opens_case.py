"""A clerk signs in, finds a case on the worklist and opens it."""

from __future__ import annotations

import datetime as dt

import pytest

from laojian.cases import clocks
from laojian.cases.models import Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import CommitteeFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_clerk_signs_in_and_opens_a_case(live_server, page, artifacts):
    committee = CommitteeFactory(
        name="聊城市劳动能力鉴定委员会", short_name="聊城", case_number_prefix="聊劳鉴"
    )
    clerk = UserFactory(username="clerk1", display_name="王经办", roles=["clerk"], committee=committee)
    today = clocks.today()
    case = CaseFactory(
        committee=committee,
        year=2026,
        seq=1,
        number="聊劳鉴〔2026〕0001号",
        status=Status.SUBMITTED,
        received_on=today - dt.timedelta(days=1),
        determination__worker__name="张建国",
    )
    clocks.refresh(case)
    case.save()
    CaseFactory(
        committee=committee,
        year=2026,
        seq=2,
        number="聊劳鉴〔2026〕0002号",
        status=Status.ACCEPTED,
        received_on=today - dt.timedelta(days=58),
        accepted_on=today - dt.timedelta(days=58),
        next_due=today + dt.timedelta(days=2),
        conclusion_due=today + dt.timedelta(days=2),
    )
    TimelineEntry.objects.create(
        case=case,
        at=dt.datetime.now(dt.UTC),
        actor=clerk,
        action="register",
        to_status=Status.SUBMITTED,
        note="窗口收件，材料齐全",
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "clerk1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")

    page.wait_for_url(f"{live_server.url}/cases/")
    case_link = page.get_by_role("link", name=case.number)
    case_link.wait_for()
    assert page.locator("h1").inner_text() == "待办案件"
    page.screenshot(path=artifacts / "worklist-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "worklist-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sorting swaps the table in place (HTMX) and keeps the address bookmarkable.
    assert page.locator("#worklist tbody tr").first.locator("a").inner_text() == "聊劳鉴〔2026〕0002号"
    page.select_option("#sort-order", "number")
    page.wait_for_url("**/cases/?*sort=number*")
    page.wait_for_function(
        "document.querySelector('#worklist tbody tr a').textContent.trim() === '聊劳鉴〔2026〕0001号'"
    )

    case_link.click()
    page.wait_for_url(f"{live_server.url}/cases/{case.pk}/")
    assert page.locator("h1").inner_text() == case.number
    assert "张建国" in page.locator(".parties").inner_text()
    assert page.locator("#timeline-heading").inner_text() == "办理过程"
    assert "窗口收件，材料齐全" in page.locator(".timeline").inner_text()
    page.screenshot(path=artifacts / "case-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "case-390.png", full_page=True)

    # The clerk accepts the application with the button on the page.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="受理", exact=True).click()
    page.locator(".message-success").wait_for()
    assert "已受理" in page.locator(".case-head-status").inner_text()
    assert "受理" in page.locator(".timeline").inner_text()
    page.screenshot(path=artifacts / "case-accepted-desktop.png", full_page=True)
