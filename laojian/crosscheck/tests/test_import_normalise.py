"""The import's normalisers, as properties: dates in every accepted form, ID numbers and their check
against the validator the rest of Laojian uses. No database."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from laojian.core.validators import build_resident_id, parse_resident_id
from laojian.crosscheck import partners

TODAY = dt.date(2026, 11, 28)
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
