"""A leader runs a short collective discussion: convenes it from the form with a difficult case
preselected, opens it with everyone present, puts a conclusion to the vote, records the votes of
the members in the room and their own, closes the vote and reads the decision."""

from __future__ import annotations

import re

import pytest

from laojian.core.tests.factories import CommitteeFactory
from laojian.grading import catalogue
from laojian.grading.models import Conclusion
from laojian.review.models import AgendaItem, Discussion, Motion
from laojian.review.tests.factories import NINE, PASSWORD, diverged_case, leader, member


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_leader_convenes_opens_and_decides_a_case(live_server, page, artifacts, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a dozen users sign in or sign
    catalogue.ensure_shipped_edition()  # a transactional test may start from a flushed database
    committee = CommitteeFactory(name="聊城市劳动能力鉴定委员会", short_name="聊城", case_number_prefix="聊劳鉴",
                                 discussion_quorum=3)
    chair = leader(committee, username="leader1", display_name="赵主任")
    people = [member(committee, display_name="钱委员"), member(committee, display_name="孙委员")]
    case, _panel = diverged_case(committee)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "leader1")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(lambda url: "/login/" not in url)

    # Convene, with the case preselected as the difficult queue links it.
    page.goto(f"{live_server.url}/review/discussions/new/?cases={case.pk}")
    assert page.is_checked(f"input[name=cases][value='{case.pk}']")
    page.fill("#id_held_on", "2026-12-01")
    page.fill("#id_place", "委员会第一会议室")
    for person in people:
        page.check(f"input[name=members][value='{person.pk}']")
    page.click("form.convene-form button[type=submit]")
    page.wait_for_url(re.compile(r"/review/discussions/\d+/$"))
    discussion = Discussion.objects.get()
    assert discussion.convened_by == chair
    item = AgendaItem.objects.get(discussion=discussion)

    # Open: everyone is marked present by default.
    page.click("form.open-form button[type=submit]")
    page.locator(".discussion-state-open").wait_for()
    assert page.locator(f"#item-{item.pk} .compare-table tr.differs").count() == 2  # grade and clauses

    # A conclusion is put to the vote.
    prefix = f"m{item.pk}"
    page.check(f"input[name='{prefix}-decision'][value='conclude']")
    page.fill(f"#id_{prefix}-clauses", NINE)
    page.select_option(f"#id_{prefix}-grade", "9")
    page.fill(f"#id_{prefix}-basis", "经集体讨论，依据查体及影像资料评定")
    page.click(f"#item-{item.pk} form.motion-form button[type=submit]")
    motion_box = page.locator(f"#item-{item.pk} .motion")
    motion_box.wait_for()
    motion = Motion.objects.get(item=item)

    # The chair records the votes of the members in the room, then their own (HTMX swaps the motion).
    for person in people:
        row = page.locator(f"#motion-{motion.pk} tr", has_text=person.display_name)
        row.locator("button[value=for]").click()
        page.locator(f"#motion-{motion.pk} tr", has_text=person.display_name).locator(".vote-for").wait_for()
    page.locator(f"#motion-{motion.pk} .my-vote button[value=for]").click()
    page.locator(f"#motion-{motion.pk} tr", has_text="赵主任").locator(".vote-for").wait_for()
    page.screenshot(path=artifacts / "discussion-votes.png", full_page=True)

    page.click(f"#motion-{motion.pk} form.close-vote button[type=submit]")
    page.locator(f"#item-{item.pk} .decision").wait_for()

    motion.refresh_from_db()
    assert motion.result == Motion.Result.PASSED
    assert NINE in page.locator(f"#item-{item.pk} .decision").inner_text()
    conclusion = Conclusion.objects.get(case=case)
    assert (conclusion.source, conclusion.grade) == (Conclusion.Source.DISCUSSION, 9)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "discussion-decided-390.png", full_page=True)
