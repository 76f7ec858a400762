"""The batch draw for a sitting: all or nothing, spreading across the batch, the per-day limit, the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts import services
from laojian.experts.models import Draw, DrawRules, Panel, PanelMember
from laojian.experts.tests.factories import ExpertFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 7)


def sitting(n_cases: int = 3, n_experts: int = 6):
    committee = CommitteeFactory()
    cases = [CaseFactory(committee=committee, status=Status.REVIEWED, number=f"测劳鉴〔2026〕{i:04d}号")
             for i in range(1, n_cases + 1)]
    clerk = UserFactory(committee=committee, roles=["clerk"])
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    experts = [ExpertFactory(committee=committee, specialties=[ortho]) for _ in range(n_experts)]
    return committee, cases, clerk, experts


def batch(cases, clerk, **kwargs):
    return services.panels_draw_batch([c.pk for c in cases], services.DrawRequest([2], sitting_date=DAY, **kwargs),
                                      actor=clerk)


def test_a_batch_draws_every_case_and_each_draw_verifies():
    _committee, cases, clerk, _experts = sitting()
    result = batch(cases, clerk)
    assert result.ok
    assert [p.case_id for p in result.panels] == [c.pk for c in cases]
    assert Panel.objects.count() == 3
    assert PanelMember.objects.count() == 9
    for d in Draw.objects.all():
        assert services.draw_verify(d.pk).ok
    assert [d.spec["batch"] for d in Draw.objects.order_by("id")] == [[1, 3], [2, 3], [3, 3]]
    event = AuditEvent.objects.get(action="draw.batch")
    assert event.after["case_ids"] == [c.pk for c in cases]
    assert event.after["date"] == "2026-12-07"


def test_experts_drawn_earlier_in_the_batch_count_as_recently_drawn():
    _committee, cases, clerk, _experts = sitting(n_cases=2)
    batch(cases, clerk)
    first, second = Draw.objects.order_by("id")
    first_ids = {p["expert"] for p in first.result}
    recent = {c[0]: c[3] for c in second.spec["candidates"]}
    assert {k for k, n in recent.items() if n == 1} == first_ids
    assert {k for k, n in recent.items() if n == 0} == set(recent) - first_ids
    assert all(c[4] == 500_000 for c in second.spec["candidates"] if c[0] in first_ids)


def test_an_expert_sits_on_at_most_the_configured_panels_per_day():
    committee, cases, clerk, experts = sitting(n_cases=2, n_experts=4)
    DrawRules.objects.create(committee=committee, max_panels_per_day=1)
    result = batch(cases, clerk)
    assert not result.ok
    assert [(f.case_id, f.code) for f in result.failures] == [(cases[1].pk, "draw_too_few")]
    assert result.failures[0].message == "Only 1 eligible experts remain after recusal; the panel needs 3."
    assert result.panels == []
    assert Panel.objects.count() == 0
    assert Draw.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="draw.").exists()


def test_the_day_limit_counts_panels_drawn_earlier_for_that_date():
    committee, cases, clerk, experts = sitting(n_cases=2, n_experts=4)
    DrawRules.objects.create(committee=committee, max_panels_per_day=1)
    services.panel_draw(cases[0].pk, services.DrawRequest([2], sitting_date=DAY), actor=clerk)
    with pytest.raises(ValidationFailed) as exc:
        services.panel_draw(cases[1].pk, services.DrawRequest([2], sitting_date=DAY), actor=clerk)
    assert exc.value.code == "draw_too_few"
    panel = services.panel_draw(cases[1].pk, services.DrawRequest([2], sitting_date=DAY + dt.timedelta(days=1)),
                                actor=clerk)
    assert panel.members.count() == 3
    ineligible = dict(Draw.objects.get(panel__case=cases[1]).spec["ineligible"])
    assert ineligible == {}


def test_the_spreading_limit_is_recorded_as_the_reason_in_the_draw():
    committee, cases, clerk, experts = sitting(n_cases=2, n_experts=6)
    DrawRules.objects.create(committee=committee, max_panels_per_day=1)
    assert batch(cases, clerk).ok
    first, second = Draw.objects.order_by("id")
    assert sorted(second.spec["ineligible"]) == sorted([e, "day_full"] for e in (p["expert"] for p in first.result))
    assert not {p["expert"] for p in first.result} & {p["expert"] for p in second.result}


def test_a_batch_with_a_bad_case_saves_nothing_and_reports_every_failure():
    committee, cases, clerk, _experts = sitting(n_cases=3)
    cases[1].status = Status.ACCEPTED
    cases[1].save(update_fields=["status"])
    other = CaseFactory(status=Status.REVIEWED)
    result = services.panels_draw_batch(
        [cases[0].pk, cases[1].pk, other.pk, cases[2].pk],
        {cases[0].pk: services.DrawRequest([2], sitting_date=DAY),
         cases[1].pk: services.DrawRequest([2], sitting_date=DAY),
         other.pk: services.DrawRequest([2], sitting_date=DAY)},
        actor=clerk)
    assert [(f.case_id, f.code) for f in result.failures] == [
        (cases[1].pk, "draw_wrong_state"), (other.pk, "not_found"), (cases[2].pk, "draw_no_category")]
    assert Panel.objects.count() == 0
    assert AuditEvent.objects.filter(action="draw.commit").count() == 0


def test_a_batch_refuses_two_dates_no_case_and_a_user_without_the_permission():
    _committee, cases, clerk, _experts = sitting(n_cases=2)
    with pytest.raises(ValidationFailed) as exc:
        services.panels_draw_batch([c.pk for c in cases], {
            cases[0].pk: services.DrawRequest([2], sitting_date=DAY),
            cases[1].pk: services.DrawRequest([2], sitting_date=DAY + dt.timedelta(days=1))}, actor=clerk)
    assert exc.value.message == "The cases of a batch are drawn for one appraisal date."
    with pytest.raises(ValidationFailed) as exc:
        services.panels_draw_batch([], services.DrawRequest([2]), actor=clerk)
    assert exc.value.code == "batch_no_case"
    reviewer = UserFactory(committee=clerk.committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        batch(cases, reviewer)
    assert Panel.objects.count() == 0


def test_the_batch_page_lists_reviewed_cases_draws_them_and_links_the_records(client):
    committee, cases, clerk, _experts = sitting(n_cases=2)
    accepted = CaseFactory(committee=committee, status=Status.ACCEPTED, number="测劳鉴〔2026〕0099号")
    client.force_login(clerk)
    page = client.get(reverse("experts:batch_draw")).content.decode()
    assert cases[0].number in page and cases[1].number in page
    assert accepted.number not in page
    response = client.post(reverse("experts:batch_draw"), {
        "sitting_date": "2026-12-07", "cases": [str(cases[0].pk), str(cases[1].pk)],
        f"category-{cases[0].pk}": "2", f"category-{cases[1].pk}": "2"})
    draws = list(Draw.objects.order_by("id"))
    assert response.status_code == 303
    assert response["Location"] == reverse("experts:batch_draw") + f"?draws={draws[0].pk},{draws[1].pk}"
    page = client.get(response["Location"]).content.decode()
    for d in draws:
        assert reverse("experts:draw_record", args=[d.pk]) in page
    record = client.get(reverse("experts:draw_record", args=[draws[1].pk])).content.decode()
    assert "鉴定场次批量抽取" in record
    assert {p.sitting_date for p in Panel.objects.all()} == {DAY}


def test_the_batch_page_shows_why_a_case_failed_and_draws_nothing(client):
    committee, cases, clerk, _experts = sitting(n_cases=2, n_experts=4)
    DrawRules.objects.create(committee=committee, max_panels_per_day=1)
    client.force_login(clerk)
    response = client.post(reverse("experts:batch_draw"), {
        "sitting_date": "2026-12-07", "cases": [str(c.pk) for c in cases]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "回避后只剩 1 名合格专家，专家组需要 3 名。" in page
    assert Panel.objects.count() == 0


def test_the_batch_page_is_404_for_an_auditor_and_ignores_another_committees_draw_ids(client):
    committee, cases, clerk, _experts = sitting(n_cases=1)
    auditor = UserFactory(committee=committee, roles=["auditor"])
    client.force_login(auditor)
    assert client.get(reverse("experts:batch_draw")).status_code == 404
    _c2, cases2, clerk2, _e2 = sitting(n_cases=1)
    batch(cases2, clerk2)
    foreign = Draw.objects.get()
    client.force_login(clerk)
    page = client.get(reverse("experts:batch_draw") + f"?draws={foreign.pk}").content.decode()
    assert reverse("experts:draw_record", args=[foreign.pk]) not in page
