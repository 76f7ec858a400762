"""Expert calibration: each expert's latest signed opinions against the approved conclusions, by
category, the experts for the training plan, the committee scope and the pages.

Every expected number below is counted by hand from the rows the test creates."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import factory
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, include, path, reverse
from django.utils import timezone

import laojian.urls as project_urls
from laojian.cases.models import CaseType, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.models import Committee
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts.models import Panel
from laojian.experts.tests.factories import ExpertFactory
from laojian.grading import services as grading_services
from laojian.grading.models import Conclusion, Edition, Opinion
from laojian.grading.rules import CareLevel
from laojian.grading.tests.factories import leader, panel_case, signed_opinion
from laojian.reports import calibration, calibration_views
from laojian.reports.calibration import Tally


def _project_routes_calibration() -> bool:
    try:
        reverse("reports:calibration", urlconf=project_urls)
    except NoReverseMatch:
        return False
    return True


# Until reports/urls.py includes calibration_views.urlpatterns, mount them here next to the other
# reports pages (the first "reports" namespace in the list is the one reverse() uses).
urlpatterns = list(project_urls.urlpatterns)
if not _project_routes_calibration():
    from laojian.reports import urls as reports_urls

    urlpatterns.insert(0, path("reports/", include(
        ([*reports_urls.urlpatterns, *calibration_views.urlpatterns], "reports"))))

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
SHANGHAI = timezone.get_default_timezone()
IN_PERIOD = dt.datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)


# FACTORIES ----------------------------------------------------------------------------------------

def _edition() -> Edition:
    return Edition.objects.get(current=True)


class ConcludedCaseFactory(CaseFactory):
    """A concluded initial appraisal; ``categories`` records its first panel, ``conclusion`` its
    approved conclusion (a dict of Conclusion fields, or None for no conclusion)."""

    class Meta:
        skip_postgeneration_save = True

    status = Status.CONCLUDED
    number = factory.Sequence(lambda n: f"测劳鉴〔2026〕{n:04d}号")

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            Panel.objects.create(case=self, committee=self.committee, size=3, categories=list(extracted),
                                 sitting_date=dt.date(2026, 5, 1), created_by=UserFactory(committee=self.committee))


def conclude(case, grade: int | None, *, care: str = CareLevel.NONE, at: dt.datetime = IN_PERIOD,
             state: str = Conclusion.State.APPROVED) -> Conclusion:
    return Conclusion.objects.create(case=case, committee=case.committee, state=state, edition=_edition(),
                                     grade=grade, care_level=care, approved_at=at)


def opine(case, expert, grade: int | None, *, care: str = CareLevel.NONE, version: int = 1, supersedes=None,
          state: str = Opinion.State.SIGNED, second: bool = False) -> Opinion:
    return Opinion.objects.create(case=case, author=expert.user, edition=_edition(), grade=grade, care_level=care,
                                  version=version, supersedes=supersedes, state=state, second_opinion=second)


def compared(expert, expert_grade: int | None, conclusion_grade: int | None, *, categories=(2,),
             care: str = CareLevel.NONE, conclusion_care: str = CareLevel.NONE, at: dt.datetime = IN_PERIOD):
    """One case of the expert's committee, the expert's signed opinion on it and the approved conclusion."""
    case = ConcludedCaseFactory(committee=expert.committee, categories=categories)
    conclude(case, conclusion_grade, care=conclusion_care, at=at)
    opine(case, expert, expert_grade, care=care)
    return case


def row_of(report, expert):
    rows = [r for r in report.rows if r.expert.pk == expert.pk]
    assert len(rows) == 1
    return rows[0]


def category(row, number):
    return next(c for c in row.categories if c.category == number)


def report_for(*experts, **kwargs):
    ids = sorted({e.committee_id for e in experts})
    return calibration.calibration(ids, FIRST, LAST, **kwargs)


# THE MEASURES -------------------------------------------------------------------------------------

def test_three_opinions_counted_by_hand():
    expert = ExpertFactory()
    compared(expert, 5, 5)
    compared(expert, 5, 6, care=CareLevel.PARTIAL)
    compared(expert, 7, 7)

    tally = row_of(report_for(expert), expert).tally

    assert tally == Tally(compared=3, difference_sum=-1, absolute_sum=1, matching=2, care_matching=2)
    assert tally.match_share == Fraction(2, 3)
    assert tally.mean_difference == Fraction(-1, 3)
    assert tally.mean_absolute_difference == Fraction(1, 3)
    assert tally.care_share == Fraction(2, 3)
    assert tally.match_percent == pytest.approx(200 / 3)


def test_opinions_signed_and_a_conclusion_approved_through_the_services_are_compared():
    case, users = panel_case()
    experts = [ExpertFactory(committee=case.committee, user=user) for user in users]
    for user in users:
        signed_opinion(case, user, ["5.7.2(47)"])  # grade 7
    grading_services.conclusion_approve(case.pk, actor=leader(case))
    today = timezone.localdate()

    report = calibration.calibration([case.committee_id], today - dt.timedelta(days=1), today)

    assert {r.expert.pk: r.tally for r in report.rows} == {e.pk: Tally(1, 0, 0, 1, 1) for e in experts}


def test_a_lenient_expert_has_a_positive_mean_difference():
    expert = ExpertFactory()
    compared(expert, 9, 7)
    compared(expert, 8, 8)

    tally = row_of(report_for(expert), expert).tally

    assert (tally.difference_sum, tally.absolute_sum, tally.mean_difference) == (2, 2, Fraction(1))


def test_no_disability_grade_counts_as_one_step_beyond_grade_ten():
    expert = ExpertFactory()
    compared(expert, None, 10)  # +1
    compared(expert, 9, None)  # -2
    compared(expert, None, None)  # a match

    tally = row_of(report_for(expert), expert).tally

    assert (tally.compared, tally.difference_sum, tally.absolute_sum, tally.matching) == (3, -1, 3, 1)


def test_only_the_latest_signed_version_counts_and_a_correction_in_progress_keeps_it():
    expert = ExpertFactory()
    case = ConcludedCaseFactory(committee=expert.committee, categories=[2])
    conclude(case, 5)
    v1 = opine(case, expert, 3)
    v2 = opine(case, expert, 5, version=2, supersedes=v1)
    opine(case, expert, 1, version=3, supersedes=v2, state=Opinion.State.DRAFT)

    tally = row_of(report_for(expert), expert).tally

    assert tally == Tally(compared=1, difference_sum=0, absolute_sum=0, matching=1, care_matching=1)


def test_unsigned_drafts_are_not_counted():
    committee = CommitteeFactory()
    drafting, signing = ExpertFactory(committee=committee), ExpertFactory(committee=committee)
    case = ConcludedCaseFactory(committee=committee, categories=[2])
    conclude(case, 5)
    opine(case, drafting, 2, state=Opinion.State.DRAFT)
    opine(case, signing, 5)

    report = report_for(drafting, signing)

    assert [r.expert.pk for r in report.rows] == [signing.pk]


def test_second_opinions_count_like_first_panel_opinions():
    expert = ExpertFactory()
    case = ConcludedCaseFactory(committee=expert.committee, categories=[2])
    conclude(case, 6)
    opine(case, expert, 4, second=True)

    tally = row_of(report_for(expert), expert).tally

    assert (tally.compared, tally.difference_sum) == (1, -2)


def test_draft_conclusions_period_cases_and_other_periods_are_left_out():
    expert = ExpertFactory()
    compared(expert, 5, 5)
    draft = ConcludedCaseFactory(committee=expert.committee, categories=[2])
    conclude(draft, 6, state=Conclusion.State.DRAFT, at=None)
    opine(draft, expert, 5)
    leave = ConcludedCaseFactory(committee=expert.committee, categories=[2], case_type=CaseType.LEAVE_CONFIRMATION)
    conclude(leave, None)
    opine(leave, expert, None)
    compared(expert, 1, 9, at=dt.datetime(2025, 12, 31, 12, 0, tzinfo=SHANGHAI))

    tally = row_of(report_for(expert), expert).tally

    assert (tally.compared, tally.matching) == (1, 1)


def test_the_period_is_counted_in_asia_shanghai():
    expert = ExpertFactory()
    compared(expert, 5, 5, at=dt.datetime(2026, 5, 31, 23, 30, tzinfo=SHANGHAI))  # 15:30 UTC on 31 May
    compared(expert, 5, 8, at=dt.datetime(2026, 6, 1, 0, 10, tzinfo=SHANGHAI))  # 16:10 UTC on 31 May

    may = calibration.calibration([expert.committee_id], dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    june = calibration.calibration([expert.committee_id], dt.date(2026, 6, 1), dt.date(2026, 6, 30))

    assert row_of(may, expert).tally == Tally(1, 0, 0, 1, 1)
    assert row_of(june, expert).tally == Tally(1, -3, 3, 0, 1)


def test_the_default_period_is_the_last_twelve_months():
    assert calibration.default_period(dt.date(2026, 12, 7)) == (dt.date(2025, 12, 8), dt.date(2026, 12, 7))
    assert calibration.default_period(dt.date(2028, 2, 29)) == (dt.date(2027, 3, 1), dt.date(2028, 2, 29))


def test_by_category_a_multi_category_case_counts_in_each():
    expert = ExpertFactory()
    compared(expert, 5, 5, categories=[2])
    compared(expert, 5, 6, categories=[2, 4])
    compared(expert, 3, 5, categories=[4])
    compared(expert, 8, 8, categories=None)  # no first panel recorded

    row = row_of(report_for(expert), expert)

    assert [c.category for c in row.categories] == [2, 4, None]
    assert category(row, 2).tally == Tally(2, -1, 1, 1, 2)
    assert category(row, 4).tally == Tally(2, -3, 3, 0, 2)
    assert category(row, None).tally == Tally(1, 0, 0, 1, 1)
    assert row.tally == Tally(4, -3, 3, 2, 4)  # the case in two categories once


# THE TRAINING PLAN --------------------------------------------------------------------------------

def test_experts_who_diverge_persistently_are_listed_for_training():
    committee = CommitteeFactory()
    on_the_line = ExpertFactory(committee=committee, name="甲")  # 3 of 5 match (60 %), mean |d| 2/5
    for expert_grade, conclusion_grade in [(5, 5), (6, 6), (7, 7), (5, 6), (8, 7)]:
        compared(on_the_line, expert_grade, conclusion_grade)
    rarely_matching = ExpertFactory(committee=committee, name="乙")  # 2 of 5 match (40 %), mean |d| 3/5
    for expert_grade, conclusion_grade in [(5, 5), (6, 6), (6, 7), (5, 6), (8, 7)]:
        compared(rarely_matching, expert_grade, conclusion_grade)
    far_off = ExpertFactory(committee=committee, name="丙")  # 4 of 5 match (80 %), mean |d| 5/5
    for expert_grade, conclusion_grade in [(5, 5), (6, 6), (7, 7), (8, 8), (2, 7)]:
        compared(far_off, expert_grade, conclusion_grade)
    too_few = ExpertFactory(committee=committee, name="丁")  # 0 of 4 match, but only 4 opinions
    for expert_grade, conclusion_grade in [(3, 5), (3, 5), (3, 5), (3, 5)]:
        compared(too_few, expert_grade, conclusion_grade)

    report = calibration.calibration([committee.pk], FIRST, LAST)

    assert [r.expert.name for r in report.training] == ["丙", "乙"]  # the furthest off first
    assert row_of(report, on_the_line).tally == Tally(5, 0, 2, 3, 5)
    assert not row_of(report, on_the_line).for_training
    assert row_of(report, far_off).tally.mean_absolute_difference == 1
    assert sorted(r.expert.name for r in calibration.calibration([committee.pk], FIRST, LAST, minimum=4).training) \
        == ["丁", "丙", "乙"]


def test_an_expert_diverging_in_one_category_only_is_listed_with_that_category():
    expert = ExpertFactory()
    for _ in range(5):
        compared(expert, 7, 7, categories=[2])
    for expert_grade in (5, 5, 4, 4, 4):  # 2 of 5 match in category 3
        compared(expert, expert_grade, 5, categories=[3])

    row = row_of(report_for(expert), expert)

    assert row.tally == Tally(10, -3, 3, 7, 10)  # 70 % overall, mean |d| 3/10: fine overall
    assert not row.diverges
    assert [c.category for c in row.diverging_categories] == [3]
    assert report_for(expert).training == [row]


def test_the_report_is_two_queries_however_many_opinions(django_assert_num_queries):
    committee = CommitteeFactory()
    for name in ("甲", "乙"):
        expert = ExpertFactory(committee=committee, name=name)
        for expert_grade in (5, 6, 7):
            compared(expert, expert_grade, 6, categories=[2, 3])

    with django_assert_num_queries(2):  # the GROUP BY, then the experts
        report = calibration.calibration([committee.pk], FIRST, LAST)
        assert [r.tally.compared for r in report.rows] == [3, 3]


def test_the_thresholds():
    assert not Tally(5, 0, 2, 3, 5).diverges()  # exactly 60 % matching
    assert Tally(5, 0, 3, 2, 5).diverges()  # 40 %
    assert Tally(5, 0, 5, 4, 5).diverges()  # mean |d| exactly 1
    assert not Tally(4, 0, 4, 0, 4).diverges()  # too few
    assert Tally(4, 0, 4, 0, 4).diverges(minimum=4)


# ONE EXPERT ---------------------------------------------------------------------------------------

def test_one_experts_categories_and_cases_most_recent_first():
    expert = ExpertFactory()
    older = compared(expert, 5, 6, categories=[2], at=dt.datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI))
    newer = compared(expert, 7, 7, categories=[2, 3], care=CareLevel.PARTIAL,
                     at=dt.datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI))
    other = ExpertFactory(committee=expert.committee)
    compared(other, 1, 9)

    detail = calibration.expert_calibration(expert, FIRST, LAST)

    assert detail.tally == Tally(2, -1, 1, 1, 1)
    assert [(c.category, c.tally.compared) for c in detail.categories] == [(2, 2), (3, 1)]
    assert [(c.case_id, c.grade, c.conclusion_grade, c.difference, c.categories, c.care_matches)
            for c in detail.cases] == [(newer.pk, 7, 7, 0, (2, 3), False), (older.pk, 5, 6, -1, (2,), True)]
    assert not detail.cases_cut
    assert len(calibration.expert_calibration(expert, FIRST, LAST, limit=1).cases) == 1


# SCOPE --------------------------------------------------------------------------------------------

@pytest.fixture
def province():
    """A province with two city committees, an expert of each, and one compared opinion each."""
    province = CommitteeFactory(level=Committee.Level.PROVINCE)
    city_a = CommitteeFactory(province=province)
    city_b = CommitteeFactory(province=province)
    expert_a = ExpertFactory(committee=city_a, name="城甲专家")
    expert_b = ExpertFactory(committee=city_b, name="城乙专家")
    case_a = compared(expert_a, 5, 6)
    compared(expert_b, 7, 7)
    return {"province": province, "a": city_a, "b": city_b, "expert_a": expert_a, "expert_b": expert_b,
            "case_a": case_a}


def _permitted(committee, *codenames):
    user = UserFactory(committee=committee)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="reports", codename__in=codenames))
    return user


def staff(committee):
    return _permitted(committee, "view_statistics", "view_calibration")


def _page(client, user, url, language="en"):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client.get(url, {"first": "2026-01-01", "last": "2026-12-31"})


def test_a_city_user_sees_only_their_committees_experts(client, province):
    response = _page(client, staff(province["a"]), reverse("reports:calibration"))

    assert response.status_code == 200
    assert [r.expert.pk for r in response.context["report"].rows] == [province["expert_a"].pk]
    assert "城甲专家" in response.text
    assert "城乙专家" not in response.text


def test_a_city_user_cannot_open_another_citys_expert(client, province):
    response = _page(client, staff(province["a"]), reverse("reports:calibration_expert",
                                                           args=[province["expert_b"].pk]))

    assert response.status_code == 404


def test_a_province_user_sees_the_experts_of_both_cities(client, province):
    response = _page(client, staff(province["province"]), reverse("reports:calibration"))

    assert response.status_code == 200
    rows = response.context["report"].rows
    assert {r.expert.pk: r.tally.compared for r in rows} == {province["expert_a"].pk: 1, province["expert_b"].pk: 1}
    assert "城甲专家" in response.text and "城乙专家" in response.text


def test_a_province_user_can_narrow_to_one_city(client, province):
    user = staff(province["province"])
    client.force_login(user)
    response = client.get(reverse("reports:calibration"), {"first": "2026-01-01", "last": "2026-12-31",
                                                           "committee": province["b"].pk})

    assert [r.expert.pk for r in response.context["report"].rows] == [province["expert_b"].pk]


# THE PAGES ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_page_renders_in_both_languages(client, province, language):
    response = _page(client, staff(province["a"]), reverse("reports:calibration"), language)

    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert response.context["first"] == FIRST and response.context["last"] == LAST
    expert_url = reverse("reports:calibration_expert", args=[province["expert_a"].pk])
    assert expert_url in response.text
    assert "<script" not in response.text.split("<main", 1)[1]
    assert ("专家" if language == "zh-hans" else "Expert") in response.text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_expert_page_renders_and_links_the_cases(client, province, language):
    response = _page(client, staff(province["a"]),
                     reverse("reports:calibration_expert", args=[province["expert_a"].pk]), language)

    assert response.status_code == 200
    assert response.context["detail"].tally == Tally(1, -1, 1, 0, 1)
    assert reverse("cases:detail", args=[province["case_a"].pk]) in response.text
    assert province["case_a"].number in response.text


def test_the_period_defaults_to_the_last_twelve_months(client, province):
    client.force_login(staff(province["a"]))
    response = client.get(reverse("reports:calibration"))

    today = timezone.localdate()
    assert (response.context["first"], response.context["last"]) == calibration.default_period(today)


def test_without_the_calibration_permission_the_pages_are_refused(client, province):
    statistics_only = _permitted(province["a"], "view_statistics")
    nobody = UserFactory(committee=province["a"])
    for user in (statistics_only, nobody):
        client.force_login(user)
        assert client.get(reverse("reports:calibration")).status_code == 403
        assert client.get(reverse("reports:calibration_expert",
                                  args=[province["expert_a"].pk])).status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("reports:calibration"))

    assert response.status_code == 302
    assert "next=" in response["Location"]
