"""Log injection (SEC-28): a line break in logged user text cannot forge another log line."""

import logging

from laojian.core.logsafe import OneLineFormatter
from laojian.core.tests.hostile import HOSTILE


def formatted(message: str, *args) -> str:
    record = logging.LogRecord("laojian.test", logging.INFO, __file__, 1, message, args, None)
    return OneLineFormatter("%(levelname)s %(message)s").format(record)


def test_a_crlf_in_user_text_stays_on_the_events_line():
    line = formatted("sign-in failed for %s", "王\r\nINFO forged event")
    assert line == "INFO sign-in failed for 王\\r\\nINFO forged event"


def test_every_hostile_string_is_logged_on_one_line():
    for text in HOSTILE:
        assert "\n" not in formatted("value %s", text) and "\r" not in formatted("value %s", text)


def test_a_traceback_keeps_its_lines():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("laojian.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = OneLineFormatter("%(message)s").format(record)
    assert text.startswith("failed\nTraceback")


def test_the_site_logs_through_the_one_line_formatter(settings):
    assert settings.LOGGING["formatters"]["plain"]["()"] == "laojian.core.logsafe.OneLineFormatter"
