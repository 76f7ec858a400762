"""Spreadsheets we hand out never run what a user or a partner typed."""

from __future__ import annotations

import io

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from laojian.core import exports

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", '=HYPERLINK("http://x.invalid","点我")']


def test_each_formula_start_is_quoted_in_a_csv_cell():
    assert [exports.csv_safe(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]


@given(st.text().filter(lambda t: not t.startswith(exports.FORMULA_START)))
def test_other_text_is_left_as_it_is(text):
    assert exports.csv_safe(text) == text


def test_numbers_and_empty_values_are_left_as_they_are():
    assert [exports.csv_safe(v) for v in (-5, 0, None, "")] == [-5, 0, None, ""]


def test_a_polars_frame_is_quoted_the_same_way_in_its_text_columns_only():
    frame = pl.DataFrame({"text": [*HOSTILE, "正常"], "n": list(range(len(HOSTILE) + 1))})
    safe = exports.csv_safe_columns(frame)
    assert safe["text"].to_list() == [exports.csv_safe(v) for v in [*HOSTILE, "正常"]]
    assert safe["n"].to_list() == frame["n"].to_list()


def test_an_xlsx_text_cell_starting_with_equals_is_stored_as_text_and_reads_back_unchanged():
    wb = Workbook()
    exports.xlsx_append(wb.active, ["编号", *HOSTILE, 3])
    buffer = io.BytesIO()
    wb.save(buffer)
    cells = list(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=False))[0]
    assert [c.value for c in cells] == ["编号", *HOSTILE, 3]
    assert all(c.data_type != "f" for c in cells)


def test_a_write_only_xlsx_sheet_keeps_formula_text_as_text_too():
    wb = Workbook(write_only=True)
    exports.xlsx_append(wb.create_sheet(), ["编号", *HOSTILE, 3])
    buffer = io.BytesIO()
    wb.save(buffer)
    cells = list(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows(values_only=False))[0]
    assert [c.value for c in cells] == ["编号", *HOSTILE, 3]
    assert all(c.data_type != "f" for c in cells)
