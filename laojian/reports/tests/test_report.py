"""The monthly and annual report and the dashboard's workbook: hand-counted values in every format,
the same bytes every time, and the pages' refusals (another committee, a bad period)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from laojian.cases.models import Mode
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.documents.tests.test_pdf import pdftotext
from laojian.reports import report, selectors
from laojian.reports.tests.factories import at, case, concluded, november, province_with_cities, statistician
from laojian.reports.workbook import MAX_TITLE, dashboard_workbook, sheet_title
from laojian.sittings.models import Appointment
from laojian.sittings.tests.factories import SittingFactory

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)
STAMP = dt.datetime.combine(dt.date(2026, 11, 30), dt.time())  # naive: openpyxl keeps UTC-less dates
SHEETS_EN = [
    "Summary", "Applications and conclusions", "Open cases by step", "Appraisal modes", "Statutory limit",
    "Service target", "Deadline warnings", "Disability grades", "Care dependency levels",
    "Leave and rehab periods", "Cross-check flags", "Provincial re-appraisals", "Cycle time bands",
    "Expert workload", "Cycle time by mode", "Cycle time by case type",
]


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def november_of(committee):
    """Three applications received in November 2026, two of them concluded, both examined at one sitting.

    - A: received 3 Nov, still waiting (submitted);
    - B: received Mon 2 Nov, concluded Fri 20 Nov (14 working days, 18 calendar days), grade 9, in time;
    - C: received Thu 5 Nov, concluded Fri 27 Nov (16 working days, 22 calendar days), grade 10, after its
      statutory limit (due 20 Nov).
    """
    case(committee, received=dt.date(2026, 11, 3))
    b = concluded(committee, dt.date(2026, 11, 2), dt.date(2026, 11, 20), grade=9)
    c = concluded(committee, dt.date(2026, 11, 5), dt.date(2026, 11, 27), grade=10, due=dt.date(2026, 11, 20))
    sitting = SittingFactory(committee=committee, date=dt.date(2026, 11, 12))
    clerk = UserFactory(committee=committee)
    for done in (b, c):
        Appointment.objects.create(case=done, committee=committee, mode=Mode.SITTING, state=Appointment.State.EXAMINED,
                                   starts_at=at(dt.date(2026, 11, 12)), ends_at=at(dt.date(2026, 11, 12), 11),
                                   place="鉴定中心", created_by=clerk, sitting=sitting)


def rows(ws, first: int = 3) -> list[tuple]:
    return [tuple(r) for r in ws.iter_rows(min_row=first, values_only=True)]


# THE WORKBOOK -----------------------------------------------------------------------------------

def test_the_workbook_has_one_sheet_per_table_with_the_hand_counted_figures(english):
    c = CommitteeFactory()
    november_of(c)
    wb = load_workbook(io.BytesIO(dashboard_workbook(selectors.dashboard(november(c)))))
    assert wb.sheetnames == SHEETS_EN
    flow = wb["Applications and conclusions"]
    assert flow["A1"].value == "Applications and conclusions"
    assert [cell.value for cell in flow[2]] == ["Item", "How many"]
    assert all(cell.font.b for cell in flow[2])
    assert flow.freeze_panes == "A3"
    assert rows(flow)[:3] == [("applications received", 3), ("accepted", 2), ("concluded", 2)]
    grades = {r[0]: r[1:] for r in rows(wb["Disability grades"])}
    assert grades["grade 9"] == (1, 0.5) and grades["grade 10"] == (1, 0.5) and grades["grade 1"] == (0, 0.0)
    assert grades["Total"] == (2, 1.0)
    assert wb["Disability grades"]["C3"].number_format == "0.0%"
    assert wb["Disability grades"]["B3"].number_format == "#,##0"
    limits = rows(wb["Statutory limit"])
    assert [r[1] for r in limits] == [1, 1, 0, 2]
    by_mode = {r[0]: r[1:] for r in rows(wb["Cycle time by mode"])}
    assert by_mode["sitting"] == (2, 14, 16, 18, 22, 0)
    assert by_mode["clinic"] == (0, None, None, None, None, 0)
    assert by_mode["All cases concluded"] == (2, 14, 16, 18, 22, 0)
    modes = dict(rows(wb["Appraisal modes"]))
    assert modes == {"sitting": 2, "clinic": 0, "home visit": 0, "remote": 0}
    assert wb["Applications and conclusions"].column_dimensions["A"].width >= len("applications received")


def test_the_summary_sheet_names_the_committee_and_the_period_and_gives_the_key_figures(english):
    c = CommitteeFactory(name="聊城市劳动能力鉴定委员会")
    november_of(c)
    ws = load_workbook(io.BytesIO(dashboard_workbook(selectors.dashboard(november(c)))))["Summary"]
    values = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    assert values["Committee"] == "聊城市劳动能力鉴定委员会"
    assert values["Reporting period"] == "2026-11-01 to 2026-11-30"
    assert (values["Applications received"], values["Applications accepted"], values["Conclusions made"]) == (3, 2, 2)
    assert (values["Sittings held"], values["Person-times appraised"]) == (1, 2)
    assert values["Median cycle time (working days)"] == 14
    assert values["Rate concluded within the statutory limit"] == 0.5
    assert values["Cases open when the report was made"] == 3  # concluded, not yet delivered, is open
    assert values["Disability grades"] == "Grades concluded"  # the table of contents


def test_the_same_period_gives_the_same_bytes_dated_the_period_end(english):
    c = CommitteeFactory()
    november_of(c)
    first = dashboard_workbook(selectors.dashboard(november(c)))
    again = dashboard_workbook(selectors.dashboard(november(c)))
    assert first == again
    props = load_workbook(io.BytesIO(first)).properties
    assert (props.creator, props.created, props.modified) == ("Laojian", STAMP, STAMP)
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 30, 0, 0, 0)}


def test_a_committee_name_that_looks_like_a_formula_stays_text(english):
    c = CommitteeFactory(name='=HYPERLINK("http://evil.example","点我")')
    november_of(c)
    ws = load_workbook(io.BytesIO(dashboard_workbook(selectors.dashboard(november(c)))))["Summary"]
    cell = next(r[1] for r in ws.iter_rows(min_row=2) if r[0].value == "Committee")
    assert (cell.data_type, cell.value) == ("s", '=HYPERLINK("http://evil.example","点我")')


def test_a_province_gets_its_committees_side_by_side(english):
    province, (a, b) = province_with_cities(2)
    november_of(a)
    case(b, received=dt.date(2026, 11, 9))
    wb = load_workbook(io.BytesIO(dashboard_workbook(selectors.dashboard(november(province, a, b)))))
    assert wb.sheetnames[-1] == "By committee"
    table = {r[0]: r[1:] for r in rows(wb["By committee"])}
    # received, accepted, concluded, within, after, rate, open now, overdue now, due soon
    assert table[a.name] == (3, 2, 2, 1, 1, 0.5, 3, 0, 0)
    assert table[b.name] == (1, 0, 0, 0, 0, None, 1, 0, 0)
    assert table[province.name] == (0, 0, 0, 0, 0, None, 0, 0, 0)
    assert table["Total"] == (4, 2, 2, 1, 1, 0.5, 4, 0, 0)


def test_sheet_titles_are_valid_in_chinese_too():
    with translation.override("zh-hans"):
        c = CommitteeFactory()
        wb = load_workbook(io.BytesIO(dashboard_workbook(selectors.dashboard(november(c)))))
    assert len(wb.sheetnames) == len(SHEETS_EN)
    for name in wb.sheetnames:
        assert len(name) <= MAX_TITLE and not set(name) & set("[]:*?/\\")


def test_a_sheet_title_is_cleaned_shortened_and_made_unique():
    used: set[str] = set()
    first = sheet_title("Re-appraisals [province]: upheld/changed? * 2026", used)
    assert first == "Re-appraisals  province   uphel"
    assert len(first) == MAX_TITLE
    assert sheet_title("Re-appraisals [province]: upheld/changed? * 2026", used) == "Re-appraisals  province   u (2)"
    assert sheet_title("'quoted'", used) == "quoted"


# THE REPORT -------------------------------------------------------------------------------------

def test_the_summary_is_written_from_the_figures(english):
    c = CommitteeFactory()
    november_of(c)
    made = report.period_report((c.pk,), report.parse_period("month", "2026-11", dt.date(2026, 12, 7)))
    assert made.title == "Labour-capacity appraisal: monthly report for 2026, month 11"
    assert made.paragraphs == (
        "In this period the committee received 3 applications for appraisal, accepted 2 and made 2 "
        "conclusions; it held 1 sittings and appraised 2 person-times (sitting 2, clinic 0, home visit 0, remote 0).",
        "Of the 2 cases concluded, the median time from application to conclusion was 14 working days "
        "(18 calendar days); nine in ten were concluded within 16 working days.",
        "50.0% were concluded within the statutory limit (1 of 2 conclusions).",
        "When the report was made, 3 cases were open, 0 of them overdue.",
    )


def test_the_pdf_carries_the_summary_numbers_and_is_the_same_every_time(english, tmp_path):
    c = CommitteeFactory(name="聊城市劳动能力鉴定委员会")
    november_of(c)
    period = report.parse_period("month", "2026-11", dt.date(2026, 12, 7))
    pdf = report.report_as_pdf(report.period_report((c.pk,), period))
    assert pdf == report.report_as_pdf(report.period_report((c.pk,), period))
    text = pdftotext(pdf, tmp_path)
    assert "聊城市劳动能力鉴定委员会" in text
    assert "received3applicationsforappraisal,accepted2andmade2conclusions;itheld1sittingsandappraised2" in text
    assert "medianmedian" not in text
    assert "was14workingdays(18calendardays)" in text
    assert "50.0%wereconcludedwithinthestatutorylimit" in text
    assert "Gradesconcluded" in text and "Timefromapplicationtoconclusion,byappraisalmode" in text
    assert "Noneinthisperiod." in text  # no expert sat on a panel: the workload table is empty
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata  # PDF/A: the dates are in the XMP metadata only
    end_of_period = dt.datetime(2026, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert xmp.xmp_create_date.replace(tzinfo=dt.UTC) == end_of_period  # pypdf gives naive UTC
    assert xmp.xmp_modify_date == xmp.xmp_create_date
    assert xmp.xmp_creator_tool == "Laojian"
    assert b"2026-11-30T00:00:00+08:00" in pdf


def test_the_rate_within_the_limit_is_the_dashboards_a_conclusion_without_limit_counts_in_the_whole(english):
    from laojian.cases.models import Case
    from laojian.reports.tables import key_figures

    c = CommitteeFactory()
    november_of(c)
    no_limit = concluded(c, dt.date(2026, 11, 2), dt.date(2026, 11, 6))
    Case.objects.filter(pk=no_limit.pk).update(conclusion_due=None)
    figures = key_figures(selectors.dashboard(november(c)))
    assert (figures.within_limit, figures.limit_total) == (1, 3)
    assert figures.within_limit_rate == pytest.approx(1 / 3)


def test_the_annual_report_covers_the_year_and_a_running_year_stops_today():
    assert report.parse_period("year", "2025", dt.date(2026, 12, 7)) == report.Period(
        "year", dt.date(2025, 1, 1), dt.date(2025, 12, 31), "2025")
    assert report.parse_period("year", "2026", dt.date(2026, 12, 7)) == report.Period(
        "year", dt.date(2026, 1, 1), dt.date(2026, 12, 7), "2026", running=True)
    assert report.parse_period("month", "2026-2", dt.date(2026, 12, 7)).last == dt.date(2026, 2, 28)


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("month", "2026-13", "Give the month as year and month, for example 2026-12."),
    ("month", "November", "Give the month as year and month, for example 2026-12."),
    ("month", "2027-01", "That period has not begun yet."),
    ("year", "26", "Give the year in four digits, for example 2026."),
    ("year", "1999", "Reports start with the year 2000."),
    ("week", "2026", "Choose a monthly or an annual report."),
])
def test_a_bad_period_says_what_is_wrong(english, kind, value, message):
    with pytest.raises(report.BadPeriod) as caught:
        report.parse_period(kind, value, dt.date(2026, 12, 7))
    assert caught.value.message == message


# THE PAGES --------------------------------------------------------------------------------------

def get(client, user, name: str, lang: str = "en", **params):
    client.force_login(user)
    return client.get(reverse(name), params, HTTP_ACCEPT_LANGUAGE=lang)


def test_the_page_shows_the_summary_and_links_to_both_files(client):
    c = CommitteeFactory()
    november_of(c)
    response = get(client, statistician(c), "reports:report", kind="month", period="2026-11")
    assert response.status_code == 200
    html = response.content.decode()
    assert "received 3 applications for appraisal" in html
    assert f'{reverse("reports:report_pdf")}?kind=month&amp;period=2026-11' in html
    assert f'{reverse("reports:report_xlsx")}?kind=month&amp;period=2026-11' in html


def test_the_page_offers_last_month_by_default(client):
    response = get(client, statistician(CommitteeFactory()), "reports:report")
    assert response.status_code == 200
    assert response.context["form"]["kind"].value() == "month"
    assert "report" not in response.context


def test_the_downloads_are_named_after_the_period_and_the_committee(client):
    c = CommitteeFactory(short_name="聊城")
    november_of(c)
    user = statistician(c)
    pdf = get(client, user, "reports:report_pdf", lang="zh-hans", kind="month", period="2026-11")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    xlsx = get(client, user, "reports:report_xlsx", kind="year", period="2026", committee=str(c.pk))
    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"] == ("attachment; filename*=utf-8''%E8%81%8A%E5%9F%8E-2026-annual-report.xlsx")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb["Summary"]["A1"].value == "Labour-capacity appraisal: annual report for the year 2026"


def test_a_city_user_cannot_have_another_committees_report(client):
    mine, other = CommitteeFactory(), CommitteeFactory()
    user = statistician(mine)
    for name in ("reports:report", "reports:report_pdf", "reports:report_xlsx"):
        assert get(client, user, name, kind="month", period="2026-11", committee=str(other.pk)).status_code == 404
        assert get(client, user, name, kind="month", period="2026-11", committee="x").status_code == 404


def test_a_province_user_may_have_a_city_committees_report(client):
    province, (city, _other) = province_with_cities(2)
    november_of(city)
    response = get(client, statistician(province), "reports:report_xlsx", kind="month", period="2026-11",
                   committee=str(city.pk))
    assert response.status_code == 200
    summary = load_workbook(io.BytesIO(response.content))["Summary"]
    assert next(r[1] for r in summary.iter_rows(min_row=2, values_only=True) if r[0] == "Committee") == city.name


def test_without_the_permission_the_report_is_refused(client):
    expert = UserFactory(committee=CommitteeFactory(), roles=["expert"])
    assert get(client, expert, "reports:report_pdf", kind="month", period="2026-11").status_code == 403


@pytest.mark.parametrize("name", ["reports:report", "reports:report_pdf", "reports:report_xlsx"])
def test_a_bad_period_is_the_form_again_with_the_error(client, name):
    response = get(client, statistician(CommitteeFactory()), name, kind="month", period="2026-13")
    assert response.status_code == 400
    assert response.context["form"].errors["period"][0].startswith("Give the month as year and month, for example")
    assert "Give the month as year and month" in response.content.decode()


def test_a_future_period_is_refused_in_chinese_by_default(client):
    year = timezone.localdate().year + 1
    response = get(client, statistician(CommitteeFactory()), "reports:report_pdf", lang="zh-hans", kind="year",
                   period=str(year))
    assert response.status_code == 400
    assert response.context["form"].errors["period"]


def test_a_download_without_a_period_says_what_is_missing(client):
    response = get(client, statistician(CommitteeFactory()), "reports:report_xlsx")
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"kind", "period"}


def test_without_the_document_font_the_pdf_is_refused_with_the_reason(client, settings, tmp_path):
    settings.LAOJIAN_DOCUMENT_FONT = str(tmp_path / "missing.ttc")
    response = get(client, statistician(CommitteeFactory()), "reports:report_pdf", kind="month", period="2026-11")
    assert response.status_code == 503
    assert "LAOJIAN_DOCUMENT_FONT" in response.context["error"]
