"""The sitting day in a browser: the desk signs a worker in, the room calls the number, and the
waiting-room screen (open on a wall, not signed in) shows it without being reloaded."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from laojian.core.validators import mask_name
from laojian.sittings.tests.test_day import day_sitting, to_today

PASSWORD = "correct horse battery staple"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_desk_signs_in_and_the_screen_shows_the_called_number(live_server, page, chromium, artifacts):
    sitting, groups, clerk, experts, booked = day_sitting(2)
    to_today(sitting)
    appointment = booked[0][1]
    worker = appointment.case.worker

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", clerk.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{live_server.url}/cases/")

    # The desk finds the worker by name (HTMX swaps the rows in place) and signs them in.
    page.goto(f"{live_server.url}/sittings/{sitting.pk}/desk/")
    expect(page.locator(".desk-row")).to_have_count(2)
    page.fill("#desk-q", worker.name)
    expect(page.locator(".desk-row")).to_have_count(1)
    form = page.locator(f"#sign-in-{appointment.pk}")
    form.locator("input[name$=id_number]").fill(worker.id_number)
    form.locator("input[type=checkbox]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#queue-number")).to_have_text("1")
    page.screenshot(path=artifacts / "sitting-desk.png", full_page=True)

    # The wall screen, in its own browser context: nobody signed in.
    wall = chromium.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    try:
        screen = wall.new_page()
        screen.set_default_timeout(15_000)
        screen.goto(f"{live_server.url}/sittings/screen/{sitting.screen_token}/")
        current = screen.locator(".screen-room").first.locator(".screen-current")
        expect(current).to_have_text("—")
        expect(screen.locator(".screen-next")).to_contain_text(mask_name(worker.name))
        loads = []
        screen.on("load", lambda: loads.append(1))

        # The room calls the next number.
        page.goto(f"{live_server.url}/sittings/rooms/{groups[0].pk}/")
        page.click("#call-next")
        expect(page.locator("#room-current")).to_have_text("1")

        # Within a polling interval or two the screen shows it, without a reload.
        expect(current.locator(".screen-number")).to_have_text("1", timeout=15_000)
        expect(current.locator(".screen-name")).to_have_text(mask_name(worker.name))
        assert worker.name not in screen.content()
        assert loads == []
        screen.screenshot(path=artifacts / "sitting-screen.png", full_page=True)
    finally:
        wall.close()
