"""The case pages: worklist, case page, workflow buttons, language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from laojian.cases import clocks
from laojian.cases.models import Case, CaseAssignment, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def committee():
    return CommitteeFactory(risk_warning_days=5)


@pytest.fixture
def clerk(committee):
    return UserFactory(roles=["clerk"], committee=committee)


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def make_case(committee, seq: int, **kwargs) -> Case:
    kwargs.setdefault("status", Status.SUBMITTED)
    return CaseFactory(
        committee=committee,
        year=2026,
        seq=seq,
        number=committee.format_case_number(2026, seq),
        **kwargs,
    )


# LOGIN ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url_name, args", [("cases:worklist", []), ("cases:detail", [1])])
def test_pages_redirect_anonymous_users_to_login(client, url_name, args):
    url = reverse(url_name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_home_redirects_to_worklist(clerk_client):
    response = clerk_client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:worklist")


def test_login_with_the_form_reaches_the_worklist(client, clerk):
    response = client.post(reverse("login"), {"username": clerk.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1] == (reverse("cases:worklist"), 302)
    assert response.context["user"] == clerk


def test_logout_is_a_post_and_ends_the_session(clerk_client):
    response = clerk_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert clerk_client.get(reverse("cases:worklist")).status_code == 302


# WORKLIST -------------------------------------------------------------------------------------------


def test_clerk_worklist_lists_open_cases_of_own_committee_with_days_left_and_masked_id(
    clerk_client, committee
):
    today = clocks.today()
    soon = make_case(
        committee, 1, next_due=today + dt.timedelta(days=3), completeness_due=today + dt.timedelta(days=3)
    )
    later = make_case(
        committee,
        2,
        status=Status.ACCEPTED,
        next_due=today + dt.timedelta(days=40),
        conclusion_due=today + dt.timedelta(days=40),
    )
    late = make_case(
        committee,
        3,
        status=Status.ACCEPTED,
        next_due=today - dt.timedelta(days=2),
        conclusion_due=today - dt.timedelta(days=2),
    )
    closed = make_case(committee, 4, status=Status.ARCHIVED)
    other = make_case(CommitteeFactory(), 5)

    response = clerk_client.get(reverse("cases:worklist"))

    assert response.status_code == 200
    assert [c.pk for c in response.context["cases"]] == [late.pk, soon.pk, later.pk]
    assert [(c.due.days_left, c.due.risk) for c in response.context["cases"]] == [
        (-2, "overdue"),
        (3, "at_risk"),
        (40, "ok"),
    ]
    html = response.content.decode()
    assert soon.number in html
    assert closed.number not in html
    assert other.number not in html
    assert "还剩 3 天" in html
    assert "已逾期 2 天" in html
    assert soon.worker.masked_id_number in html
    assert soon.worker.id_number not in html
    assert soon.worker.masked_id_number != soon.worker.id_number


def test_worklist_sorts_by_number_and_filters_by_status(clerk_client, committee):
    first = make_case(committee, 1)
    second = make_case(committee, 2, status=Status.ACCEPTED)
    third = make_case(committee, 3)

    response = clerk_client.get(reverse("cases:worklist"), {"sort": "-number"})
    assert [c.pk for c in response.context["cases"]] == [third.pk, second.pk, first.pk]

    response = clerk_client.get(reverse("cases:worklist"), {"sort": "number", "status": Status.ACCEPTED})
    assert [c.pk for c in response.context["cases"]] == [second.pk]


def test_worklist_htmx_request_gets_only_the_table(clerk_client, committee):
    case = make_case(committee, 1)
    response = clerk_client.get(reverse("cases:worklist"), {"sort": "number"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="worklist"')
    assert case.number in html
    assert "<html" not in html


def test_worklist_paginates_by_50(clerk_client, committee):
    for seq in range(1, 53):
        make_case(committee, seq)
    response = clerk_client.get(reverse("cases:worklist"), {"sort": "number", "page": 2})
    assert response.context["page"].paginator.count == 52
    assert [c.seq for c in response.context["cases"]] == [51, 52]


def _worklist_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("cases:worklist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_worklist_query_count_does_not_grow_with_cases(client, committee):
    today = clocks.today()
    small = UserFactory(roles=["clerk"], committee=committee)
    for seq in range(1, 6):
        make_case(committee, seq, next_due=today + dt.timedelta(days=seq))
    client.force_login(small)
    with_5 = _worklist_queries(client)

    big_committee = CommitteeFactory()
    big = UserFactory(roles=["clerk"], committee=big_committee)
    for seq in range(1, 41):
        make_case(big_committee, seq, next_due=today + dt.timedelta(days=seq))
    client.force_login(big)
    with_40 = _worklist_queries(client)

    assert with_5 == with_40


# CASE PAGE ------------------------------------------------------------------------------------------


def test_case_page_of_another_committee_is_404(client, committee):
    case = make_case(committee, 1)
    outsider = UserFactory(roles=["clerk"], committee=CommitteeFactory())
    client.force_login(outsider)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "此页面不存在，或您无权查看。" in html
    assert case.worker.name not in html


def test_expert_sees_only_cases_on_their_panel(client, committee):
    case = make_case(committee, 1, status=Status.SCHEDULED)
    outsider = UserFactory(roles=["expert"], committee=committee)
    panel_member = UserFactory(roles=["expert"], committee=committee)
    CaseAssignment.objects.create(case=case, user=panel_member, role=CaseAssignment.Role.EXPERT)

    client.force_login(outsider)
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404

    client.force_login(panel_member)
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    assert case.worker.name in response.content.decode()


def test_case_page_shows_parties_full_id_timeline_and_records_the_read(clerk_client, clerk, committee):
    case = make_case(committee, 1)
    TimelineEntry.objects.create(
        case=case,
        at=dt.datetime(2026, 11, 2, 1, 30, tzinfo=dt.UTC),
        actor=clerk,
        action="register",
        to_status=Status.SUBMITTED,
        note="窗口受理材料",
    )

    response = clerk_client.get(reverse("cases:detail", args=[case.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "办理过程" in html
    assert "窗口受理材料" in html
    assert "2026年11月2日 09:30" in html  # 01:30 UTC shown in Asia/Shanghai
    assert case.worker.id_number in html
    assert case.employer.name in html
    assert case.determination.number in html
    assert [t.name for t in response.context["actions"]] == [
        "request_correction",
        "accept",
        "reject",
        "withdraw",
    ]
    read = AuditEvent.objects.get(action="read_sensitive")
    assert (read.actor_id, read.object_id, read.after) == (
        clerk.pk,
        str(case.pk),
        {"fields": ["worker.id_number"]},
    )


def test_case_page_shows_clocks_with_basis(clerk_client, committee):
    today = clocks.today()
    case = make_case(committee, 1, status=Status.ACCEPTED, accepted_on=today, received_on=today)
    clocks.refresh(case)
    case.save()

    response = clerk_client.get(reverse("cases:detail", args=[case.pk]))

    completeness, conclusion = response.context["clocks"]
    assert (str(completeness.label), completeness.running, completeness.risk) == ("补正通知", False, None)
    assert str(conclusion.label) == "鉴定结论"
    assert (conclusion.date, conclusion.days_left, conclusion.risk) == (
        today + dt.timedelta(days=60),
        60,
        "ok",
    )
    assert conclusion.basis == f"自 {today.year}年{today.month}月{today.day}日 起 60 个自然日（受理申请之日）"


# TRANSITIONS ----------------------------------------------------------------------------------------


def test_accept_changes_status_and_redirects(clerk_client, committee):
    case = make_case(committee, 1)
    url = reverse("cases:transition", args=[case.pk, "accept"])

    response = clerk_client.post(url, {"version": case.version})

    assert response.status_code == 303
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    case.refresh_from_db()
    assert (case.status, case.version) == (Status.ACCEPTED, 2)
    page = clerk_client.get(response["Location"]).content.decode()
    assert "已受理" in page
    assert case.timeline.get().action == "accept"


def test_illegal_transition_shows_message_and_changes_nothing(clerk_client, committee):
    case = make_case(committee, 1)

    response = clerk_client.post(
        reverse("cases:transition", args=[case.pk, "deliver"]), {"version": case.version}, follow=True
    )

    assert response.redirect_chain == [(reverse("cases:detail", args=[case.pk]), 303)]
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert "记录送达" in messages[0]
    case.refresh_from_db()
    assert (case.status, case.version) == (Status.SUBMITTED, 1)
    assert not case.timeline.exists()


def test_stale_version_is_refused(clerk_client, committee):
    case = make_case(committee, 1, version=3)
    response = clerk_client.post(
        reverse("cases:transition", args=[case.pk, "accept"]), {"version": 2}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["有人同时修改了这个案件。请刷新页面后重试。"]
    case.refresh_from_db()
    assert (case.status, case.version) == (Status.SUBMITTED, 3)


def test_unknown_transition_name_is_a_message_not_an_error(clerk_client, committee):
    case = make_case(committee, 1)
    response = clerk_client.post(
        reverse("cases:transition", args=[case.pk, "teleport"]), {"version": 1}, follow=True
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["没有名为“teleport”的步骤。"]
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_note_required_step_without_note_is_refused(clerk_client, committee):
    case = make_case(committee, 1)
    response = clerk_client.post(
        reverse("cases:transition", args=[case.pk, "reject"]), {"version": 1, "note": "  "}, follow=True
    )
    assert len(list(response.context["messages"])) == 1
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_reschedule_passes_worker_request_and_shift(client, committee):
    case = make_case(committee, 1, status=Status.SCHEDULED, accepted_on=dt.date(2026, 11, 2))
    clerk = UserFactory(roles=["clerk"], committee=committee)
    client.force_login(clerk)
    response = client.post(
        reverse("cases:transition", args=[case.pk, "reschedule"]),
        {"version": 1, "note": "工人住院", "worker_requested": "on", "shift_days": "7"},
    )
    assert response.status_code == 303
    case.refresh_from_db()
    assert (case.status, case.reschedule_shift_days) == (Status.SCHEDULED, 7)


def test_transition_on_invisible_case_is_404(client, committee):
    case = make_case(committee, 1)
    client.force_login(UserFactory(roles=["clerk"], committee=CommitteeFactory()))
    response = client.post(reverse("cases:transition", args=[case.pk, "accept"]), {"version": 1})
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED


def test_transition_needs_post(clerk_client, committee):
    case = make_case(committee, 1)
    assert clerk_client.get(reverse("cases:transition", args=[case.pk, "accept"])).status_code == 405


# LANGUAGE -------------------------------------------------------------------------------------------


def test_default_language_is_chinese(client):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html


def test_language_switch_to_english(clerk_client, committee):
    make_case(committee, 1)
    response = clerk_client.post(
        reverse("set_language"), {"language": "en", "next": reverse("cases:worklist")}
    )
    assert response.status_code == 302
    html = clerk_client.get(reverse("cases:worklist")).content.decode()
    assert '<html lang="en">' in html
    assert "Worklist" in html
    assert "Next deadline" in html
    assert "待办案件" not in html


def test_worklist_query_count_is_the_same_whatever_clock_is_running(client, committee):
    """Every open status names a different next clock; none may be loaded row by row."""
    from laojian.cases.workflow import OPEN_STATES

    today = clocks.today()
    one_case = UserFactory(roles=["clerk"], committee=committee)
    make_case(committee, 1, status=Status.SUBMITTED, next_due=today, completeness_due=today)
    other = CommitteeFactory()
    many_cases = UserFactory(roles=["clerk"], committee=other)
    for seq, status in enumerate(sorted(OPEN_STATES) * 3, start=1):
        due = today + dt.timedelta(days=seq)
        make_case(other, seq, status=status, next_due=due, completeness_due=due, correction_due=due,
                  target_due=due, conclusion_due=due, delivery_due=due, reappraisal_window_ends=due)
    counts = []
    for user in (one_case, many_cases):
        client.force_login(user)
        client.get(reverse("cases:worklist"))  # the first request after sign-in also writes the session
        counts.append(_worklist_queries(client))
    assert counts[0] == counts[1]
