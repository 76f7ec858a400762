"""Resident ID numbers (GB 11643) and unified social credit codes (GB 32100)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from laojian.core.validators import (
    USCC_ALPHABET,
    build_credit_code,
    build_resident_id,
    mask_id_number,
    mask_name,
    normalize_credit_code,
    parse_resident_id,
)

GOOD_IDS = ["11010519491231002X", "360426199101010071"]
GOOD_CODES = ["91110000600037341L", "91350100M000100Y43"]


@pytest.mark.parametrize("number", GOOD_IDS)
def test_known_good_id_numbers_pass(number):
    assert parse_resident_id(number).number == number


def test_id_birth_date_and_sex_are_derived():
    parsed = parse_resident_id("11010519491231002X")
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.sex == "F"
    assert parse_resident_id("360426199101010071").sex == "M"


def test_lower_case_x_is_accepted_and_normalised():
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_full_width_digits_and_spaces_are_normalised():
    assert parse_resident_id("１１０１０５ 1949 1231 002X").number == "11010519491231002X"


def test_wrong_check_digit_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_resident_id("110105194912310021")
    assert exc.value.code == "id_check"


def test_impossible_birth_date_is_refused():
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(build_resident_id("110105", dt.date(1949, 1, 1), 2)[:10] + "0230" + "0021")
    assert exc.value.code == "id_birth_date"


def test_future_birth_date_is_refused():
    number = build_resident_id("110105", dt.date(2030, 1, 1), 2)
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(number, today=dt.date(2026, 11, 28))
    assert exc.value.code == "id_birth_date"


@pytest.mark.parametrize("number", ["11010519491231002", "1101051949123100211", "", "11010519491231002Y",
                                    "110105491231002"])  # the last: a 15-digit number of before 1999
def test_malformed_id_numbers_are_refused(number):
    with pytest.raises(ValidationError):
        parse_resident_id(number)


def test_error_message_does_not_repeat_the_number():
    with pytest.raises(ValidationError) as exc:
        parse_resident_id("110105194912310021")
    assert "110105194912310021" not in " ".join(exc.value.messages)


@given(
    birth=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2008, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
)
def test_built_id_numbers_always_validate(birth, seq):
    parsed = parse_resident_id(build_resident_id("371502", birth, seq))
    assert parsed.birth_date == birth
    assert parsed.sex == ("M" if seq % 2 else "F")


@given(
    birth=st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2008, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_caught(birth, seq, position, delta):
    number = build_resident_id("371502", birth, seq)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1:]
    with pytest.raises(ValidationError):
        parse_resident_id(changed)


@pytest.mark.parametrize("code", GOOD_CODES)
def test_known_good_credit_codes_pass(code):
    assert normalize_credit_code(code) == code


def test_credit_code_lower_case_is_normalised():
    assert normalize_credit_code("91350100m000100y43") == "91350100M000100Y43"


def test_credit_code_wrong_check_character_is_refused():
    with pytest.raises(ValidationError) as exc:
        normalize_credit_code("91110000600037341M")
    assert exc.value.code == "uscc_check"


@pytest.mark.parametrize("code", ["91110000600037341", "9111000060003734IL", "91110000O00037341L", ""])
def test_malformed_credit_codes_are_refused(code):
    with pytest.raises(ValidationError):
        normalize_credit_code(code)


def test_credit_code_may_start_with_a_letter():
    code = build_credit_code("Y1371500MA3C00001")
    assert normalize_credit_code(code) == code


@given(body=st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9), position=st.integers(0, 16),
       shift=st.integers(1, 30))
def test_any_single_credit_code_character_change_is_caught(body, position, shift):
    code = build_credit_code("91371500" + body)
    if position in range(2, 8):
        position = 9  # region digits are checked separately; change the body instead
    new_char = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + shift) % 31]
    changed = code[:position] + new_char + code[position + 1:]
    with pytest.raises(ValidationError):
        normalize_credit_code(changed)


def test_masks():
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
