"""An expert signs in, opens the grading page of a case on their panel, writes an opinion with a
clause found through the editor's search, signs it with the password and reads it back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from laojian.cases.models import Status
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.grading import catalogue
from laojian.grading.models import Opinion
from laojian.grading.tests.factories import PASSWORD, panel_case


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_expert_writes_and_signs_an_opinion(live_server, page, artifacts):
    catalogue.ensure_shipped_edition()  # a transactional test may start from a flushed database
    committee = CommitteeFactory(name="聊城市劳动能力鉴定委员会", short_name="聊城", case_number_prefix="聊劳鉴")
    case, (expert, *_others) = panel_case(committee=committee, status=Status.EXAMINED, year=2026, seq=7,
                                          number="聊劳鉴〔2026〕0007号")
    expert.username, expert.display_name = "expert1", "李专家"
    expert.save(update_fields=["username", "display_name"])
    UserFactory(username="clerk1", roles=["clerk"], committee=committee)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "expert1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(f"{live_server.url}/grading/cases/{case.pk}/")
    assert case.number in page.locator("h1").inner_text()
    page.click(f"form[action='/grading/cases/{case.pk}/opinion/'] button[type=submit]")
    page.wait_for_url("**/grading/opinions/*/edit/")
    opinion = Opinion.objects.get(case=case, author=expert)

    page.fill("#id_findings-0-body_part", "右手")
    page.fill("#id_findings-0-text", "右拇指末节缺失，残端愈合良好")
    page.fill("#id_items-0-injury", "右拇指末节缺失")
    page.fill("#clause-lookup-q", "拇指 末节")
    use = page.locator("#clause-lookup-results button").first
    use.wait_for()
    number = use.locator(".mono").inner_text().strip()
    use.focus()
    page.keyboard.press("Enter")  # the helper is usable from the keyboard
    page.wait_for_function(f"document.querySelector('#id_items-0-clause').value === {number!r}")
    page.locator("#combine-preview .preview-grade").wait_for()
    # The picked clause box takes the focus when HTMX settles the swap: let that happen before typing on.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_items-0-clause'")
    page.wait_for_load_state("networkidle")
    page.fill("#id_basis", "依据查体及影像资料，参照标准条款评定")
    assert page.input_value("#id_items-0-clause") == number
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "opinion-editor-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.fill("#id_password", PASSWORD)
    page.wait_for_load_state("networkidle")  # the clause pick and the preview have settled
    page.click("button[name=sign]")
    try:  # signing checks the password (a deliberately slow hash): allow for a loaded machine
        page.wait_for_url(re.compile(rf"/grading/opinions/{opinion.pk}/$"), wait_until="domcontentloaded",
                          timeout=45_000)
    except PlaywrightTimeout:
        page.screenshot(path=artifacts / "opinion-sign-failed.png", full_page=True)
        errors = page.locator(".messages, .errorlist, .alert").all_inner_texts()
        pytest.fail(f"signing did not reach the opinion page: {page.url} {errors}")

    opinion.refresh_from_db()
    assert opinion.state == Opinion.State.SIGNED
    assert [i.clause.number for i in opinion.items.all()] == [number]
    assert opinion.signature in page.locator(".signature").inner_text()
    assert number in page.locator(".items-table").inner_text()
    page.screenshot(path=artifacts / "opinion-signed-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "opinion-signed-390.png", full_page=True)
