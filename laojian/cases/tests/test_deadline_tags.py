"""Deadline badges say their meaning in words, in the user's language."""

import datetime as dt

from django.utils import translation

from laojian.cases.templatetags.deadlines import days_left_text, due_summary, risk_badge
from laojian.cases.views import Due


def test_risk_badges_are_in_chinese_by_default():
    with translation.override("zh-hans"):
        assert "已逾期" in risk_badge("overdue")
        assert "即将到期" in risk_badge("at_risk")
        assert "正常" in risk_badge("ok")


def test_unknown_risk_draws_nothing():
    assert risk_badge(None) == ""


def test_days_left_in_english():
    with translation.override("en"):
        assert days_left_text(Due(date=dt.date(2026, 12, 1), days_left=3, risk="at_risk")) == "3 days left"
        assert days_left_text(Due(date=dt.date(2026, 12, 1), days_left=0, risk="at_risk")) == "due today"
        assert days_left_text(Due(date=dt.date(2026, 12, 1), days_left=-1, risk="overdue")) == "1 day overdue"


def test_a_case_with_no_running_deadline_says_so():
    with translation.override("en"):
        assert "no deadline running" in due_summary(Due(date=None, days_left=None, risk=None))
