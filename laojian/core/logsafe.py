"""A log formatter that keeps one event on one line (SEC-28; issue 10, hostile input).

A user's text in a message (a name, a reason) cannot start a line of its own that a reader or a log
shipper would take for another event: CR, LF and the other line breaks are written as ``\\r``,
``\\n``, ``\\u2028``. Tracebacks, added by the formatter after the message, keep their lines.
"""

from __future__ import annotations

import logging

_ESCAPES = str.maketrans({"\r": "\\r", "\n": "\\n", "\x0b": "\\x0b", "\x0c": "\\x0c", "\x85": "\\x85",
                          "\u2028": "\\u2028", "\u2029": "\\u2029"})


def one_line(text: str) -> str:
    return text.translate(_ESCAPES)


class OneLineFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = one_line(record.message)
        return super().formatMessage(record)
