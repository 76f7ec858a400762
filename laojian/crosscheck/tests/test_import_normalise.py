"""The import's normalisers, as properties: dates in every accepted form, ID numbers and their check
against the validator the rest of Laojian uses, and the row key. No database."""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from laojian.core.validators import build_resident_id, parse_resident_id
from laojian.crosscheck import partners

TODAY = dt.date(2026, 11, 28)
# The key of the row in test_a_known_row_keeps_its_key, as the engine has stored it since the first import.
KNOWN_KEY = "7e2ff414ddd812327f865f0e286b9632"
dates = st.dates(min_value=partners.EARLIEST_DATE, max_value=partners.LATEST_DATE)
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
regions = st.sampled_from(["110105", "371502", "371581", "440305", "650102"])
sequences = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(build_resident_id, regions, births, sequences)


def written(date: dt.date, form: int) -> str:
    return [f"{date:%Y-%m-%d}", f"{date.year}/{date.month}/{date.day}", f"{date:%Y%m%d}",
            f"{date.year}年{date.month}月{date.day}日", f"{date.year}.{date.month}.{date.day}",
            f"{date:%Y-%m-%d} 08:30:00", f"{date:%Y/%m/%d}T00:00", f" {date.year} 年 {date.month} 月 {date.day} 日 ",
            f"{date:%Y-%m-%d}".translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))][form]


@given(dates, st.integers(min_value=0, max_value=8))
def test_a_date_in_any_accepted_form_reads_back(date, form):
    assert partners.parse_dates([written(date, form)]) == [date]


@given(st.dates(min_value=dt.date(1927, 5, 19), max_value=dt.date(2173, 10, 14)).filter(
    lambda d: d <= partners.LATEST_DATE))
def test_an_excel_serial_number_reads_as_its_date(date):
    serial = (date - partners.EXCEL_EPOCH).days
    assert partners.parse_dates([str(serial), f"{serial}.0"]) == [date, date]


@given(st.text(max_size=30))
def test_any_text_gives_a_date_in_range_or_nothing(text):
    [parsed] = partners.parse_dates([text])
    assert parsed is None or partners.EARLIEST_DATE <= parsed <= partners.LATEST_DATE


@given(dates)
def test_day_first_dates_are_not_guessed(date):
    assert partners.parse_dates([f"{date.day:02d}/{date.month:02d}/{date.year}"]) == [None]


@given(valid_ids)
def test_a_valid_id_number_is_valid(number):
    assert partners.normalise_id_numbers([number], today=TODAY) == [(number, True)]


@given(valid_ids, st.sampled_from(["{}", "{} ", " {}", "'{}", '="{}"', "{}\t"]), st.booleans())
def test_an_id_number_as_spreadsheets_write_it_is_cleaned(number, form, lower):
    text = form.format(number.lower() if lower else number)
    assert partners.normalise_id_numbers([text], today=TODAY) == [(number, True)]


@given(valid_ids, st.sampled_from("0123456789X"))
def test_a_wrong_check_character_makes_it_invalid_but_keeps_it(number, check):
    changed = number[:17] + check
    assert partners.normalise_id_numbers([changed], today=TODAY) == [(changed, changed == number)]


def _validator_says(text: str) -> bool:
    try:
        parse_resident_id(text, today=TODAY)
    except ValidationError:
        return False
    return True


id_like = st.one_of(
    valid_ids,
    st.text(alphabet="0123456789Xx -１２３", min_size=0, max_size=20),
    st.builds(lambda n, i, c: n[:i] + c + n[i + 1:], valid_ids, st.integers(0, 17), st.sampled_from("0123456789")),
)


@given(id_like)
def test_the_engine_agrees_with_the_validator(text):
    [(number, valid)] = partners.normalise_id_numbers([text], today=TODAY)
    assert valid == _validator_says(text)
    if valid:
        assert number == parse_resident_id(text, today=TODAY).number


# THE ROW KEY -----------------------------------------------------------------------------------------

texts = st.one_of(st.none(), st.text(max_size=40))
care_rows = st.fixed_dictionaries({name: texts for name in partners.CARE_KEY if not name.endswith("_on")} | {
    "admitted_on": dates, "discharged_on": st.one_of(st.none(), dates)})


def _hashlib_key(values: dict) -> str:
    """The row key as it was first defined: SHA-256 in Python of the unit-separated fields."""
    text = "\x1f".join("" if values[name] is None else str(values[name]) for name in partners.CARE_KEY)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@given(st.lists(care_rows, min_size=1, max_size=5))
def test_a_row_key_is_the_sha256_of_its_fields_as_keys_were_always_computed(rows):
    frame = pl.DataFrame(rows, schema={name: pl.Date if name.endswith("_on") else pl.String
                                       for name in partners.CARE_KEY})

    keys = partners.row_keys(frame, "settlement")

    assert keys["row_key"].to_list() == [_hashlib_key(values) for values in rows]
    assert [f"{hi:016x}{lo:016x}" for hi, lo in keys.select("hi", "lo").rows()] == keys["row_key"].to_list()


def test_a_known_row_keeps_its_key():
    """A key stored by an earlier version of the engine (and of Polars) must come out the same."""
    frame = pl.DataFrame({"id_number": ["371502198005170123"], "person_name": ["张三"], "hospital_code": ["H3715001"],
                          "hospital_name": ["聊城市人民医院"], "service": ["inpatient"],
                          "admitted_on": [dt.date(2026, 3, 2)], "discharged_on": [None], "diagnosis": [None],
                          "icd10": ["S62.6"], "record_number": ["JS0001"]},
                         schema_overrides={"discharged_on": pl.Date, "diagnosis": pl.String})

    assert partners.row_keys(frame, "settlement")["row_key"].to_list() == [KNOWN_KEY]


# THE KEY INDEX ---------------------------------------------------------------------------------------

# Few distinct values, so that keys share their first half (hi) and runs hold repeats.
halves = st.tuples(st.integers(0, 4), st.integers(0, 4))


def _halves(keys: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(keys, schema={"hi": pl.UInt64, "lo": pl.UInt64}, orient="row")


@given(st.lists(st.lists(halves, max_size=8), max_size=6), st.lists(halves, max_size=10))
def test_the_key_index_finds_exactly_the_keys_added(added, asked):
    index = partners.KeyIndex()
    for chunk in added:
        index.add(_halves(chunk))

    found = index.contains(_halves(asked)).to_list()

    stored = {key for chunk in added for key in chunk}
    assert found == [key in stored for key in asked]
