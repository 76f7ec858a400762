"""ICD-10 chapters and body regions, in Python and as the Polars expressions the engine uses."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from laojian.crosscheck import matching


@pytest.mark.parametrize(("code", "chapter"), [
    ("A09", "I"), ("B99", "I"), ("C50.9", "II"), ("D48", "II"), ("D50", "III"), ("E11.9", "IV"), ("F32", "V"),
    ("G40", "VI"), ("H25", "VII"), ("H60", "VIII"), ("I21.0", "IX"), ("J18", "X"), ("K35", "XI"), ("L03", "XII"),
    ("M17.1", "XIII"), ("N18", "XIV"), ("O80", "XV"), ("P07", "XVI"), ("Q65", "XVII"), ("R10", "XVIII"),
    ("S62.6", "XIX"), ("T20", "XIX"), ("U07.1", "XXII"), ("V43", "XX"), ("W19", "XX"), ("Z96.6", "XXI"),
    ("s62.6", "XIX"), ("", None), ("62.1", None),
])
def test_the_chapter_comes_from_the_letter_and_number(code, chapter):
    assert matching.icd10_chapter(code) == chapter


@pytest.mark.parametrize(("code", "region"), [
    ("S62.6", "wrist_hand"), ("S82.1", "knee_lower_leg"), ("S06.0", "head"), ("T21", "burns"),
    ("M17.1", "knee_lower_leg"), ("M51.2", "abdomen_back_pelvis"), ("I21.0", "chapter:IX"), ("xx", None),
])
def test_the_region_of_an_injury_is_its_body_region(code, region):
    assert matching.icd10_region(code) == region


@pytest.mark.parametrize(("typed", "stored"), [("s62.6", "S62.6"), ("S626", "S62.6"), (" S 62.6 ", "S62.6"),
                                               ("S82.201", "S82.201")])
def test_codes_are_normalised(typed, stored):
    assert matching.normalize_icd10(typed) == stored


codes = st.one_of(
    st.from_regex(r"[A-Za-z][0-9]{2}(\.[0-9]{1,3})?", fullmatch=True),
    st.text(max_size=6),
    st.none(),
)


@given(st.lists(codes, min_size=1, max_size=30))
def test_the_table_the_engine_joins_gives_each_code_its_chapter_and_region(values):
    table = matching.icd10_table(pl.Series(values, dtype=pl.String))
    rows = {row["code"]: (row["chapter"], row["region"]) for row in table.to_dicts()}
    assert set(rows) == {v for v in values if v is not None}
    assert all(rows[v] == (matching.icd10_chapter(v), matching.icd10_region(v)) for v in rows)
