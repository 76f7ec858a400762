"""The dashboard pages: who may open them, what they show, the drill-down lists and the exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from laojian.cases.models import Status
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.reports.tests.factories import case, concluded, province_with_cities, statistician

pytestmark = pytest.mark.django_db

NOVEMBER = {"first": "2026-11-01", "last": "2026-11-30"}


def get(client, user, name: str, *args, lang: str = "en", **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), {**NOVEMBER, **params}, HTTP_ACCEPT_LANGUAGE=lang)


def test_the_leader_sees_the_figures_of_the_committee(client):
    c = CommitteeFactory()
    case(c)
    concluded(c, dt.date(2026, 10, 8), dt.date(2026, 11, 9), grade=7)
    response = get(client, statistician(c), "reports:dashboard")
    assert response.status_code == 200
    board = response.context["board"]
    assert (board.figures["flow"].get("received"), board.figures["flow"].get("concluded")) == (1, 1)
    assert response.context["within_limit"] == "100.0%"


def test_the_dashboard_speaks_chinese_by_default(client):
    c = CommitteeFactory()
    html = get(client, statistician(c), "reports:dashboard", lang="zh-hans").content.decode()
    assert "统计" in html and "鉴定周期" in html


def test_charts_come_from_our_own_host(client):
    html = get(client, statistician(CommitteeFactory()), "reports:dashboard").content.decode()
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert 'id="chart-data"' in html
    assert "http://" not in html.split("<main", 1)[1] and "https://" not in html.split("<main", 1)[1]


def test_an_expert_may_not_open_the_statistics(client):
    c = CommitteeFactory()
    assert get(client, UserFactory(committee=c, roles=["expert"]), "reports:dashboard").status_code == 403


def test_a_period_ending_before_it_starts_is_refused_with_a_message(client):
    response = get(client, statistician(CommitteeFactory()), "reports:dashboard", first="2026-11-30",
                   last="2026-11-01")
    assert response.status_code == 200
    assert "The end of the period is before its start." in response.content.decode()
    assert "board" not in response.context


def test_a_date_that_is_no_date_is_refused_with_a_message(client):
    response = get(client, statistician(CommitteeFactory()), "reports:dashboard", first="2026-13-45")
    assert response.status_code == 200
    assert "board" not in response.context and response.context["form"].errors["first"]


def test_a_city_cannot_ask_for_another_citys_figures(client):
    mine, other = CommitteeFactory(), CommitteeFactory()
    case(other)
    response = get(client, statistician(mine), "reports:dashboard", committee=other.pk)
    assert "board" not in response.context
    assert response.context["form"].errors["committee"]


def test_a_province_sees_its_cities_side_by_side_and_may_pick_one(client):
    province, (a, b) = province_with_cities(2)
    case(a)
    case(b)
    case(b)
    user = statistician(province)
    board = get(client, user, "reports:dashboard").context["board"]
    assert {c.pk: figs["flow"].get("received") for c, figs in board.committees} == {province.pk: 0, a.pk: 1, b.pk: 2}
    only_b = get(client, user, "reports:dashboard", committee=b.pk).context["board"]
    assert only_b.figures["flow"].get("received") == 2 and only_b.committees == []


def test_the_drill_down_list_has_as_many_cases_as_the_figure(client):
    c = CommitteeFactory()
    for _ in range(3):
        case(c, status=Status.SUBMITTED)
    case(c, status=Status.ACCEPTED)
    response = get(client, statistician(c), "reports:drill", "backlog", "submitted")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 3
    assert all(row["case"].status == Status.SUBMITTED for row in response.context["rows"])
    assert all(row["url"] for row in response.context["rows"])


def test_a_province_user_sees_city_cases_in_a_list_without_opening_them(client):
    province, (a,) = province_with_cities(1)
    worker_name = case(a).worker.name
    response = get(client, statistician(province), "reports:drill", "flow", "received")
    rows = response.context["rows"]
    assert len(rows) == 1 and rows[0]["url"] == ""
    assert worker_name not in response.content.decode()  # the name is masked


def test_an_unknown_figure_or_bucket_is_not_found(client):
    user = statistician(CommitteeFactory())
    assert get(client, user, "reports:drill", "nonsense", "x").status_code == 404
    assert get(client, user, "reports:drill", "flow", "nonsense").status_code == 404


def test_a_figures_data_downloads_as_excel(client):
    c = CommitteeFactory()
    concluded(c, dt.date(2026, 10, 8), dt.date(2026, 11, 9), grade=7)
    concluded(c, dt.date(2026, 10, 8), dt.date(2026, 11, 10), grade=7)
    concluded(c, dt.date(2026, 10, 8), dt.date(2026, 11, 11), grade=9)
    response = get(client, statistician(c), "reports:figure_xlsx", "grades")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (values["grade 7"], values["grade 9"], values["total"]) == (2, 1, 3)
