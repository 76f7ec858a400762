"""Identifier validators: resident ID numbers (GB 11643) and unified social credit codes (GB 32100).

Each validator normalises its input (full-width characters, spaces, lower case) and raises a
Django ``ValidationError`` with a message in the user's language and a stable ``code``.
The message never repeats the full number: it may end up in a log.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by S mod 11

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# A mainland mobile number (11 digits, 13x–19x), the only kind the SMS gateway reaches.
MOBILE = re.compile(r"^1[3-9]\d{9}$")
EARLIEST_BIRTH_YEAR = 1900


def _clean(value: str) -> str:
    """Full-width to half-width, drop spaces and hyphens, upper case."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def parse_resident_id(value: str, *, today: dt.date | None = None) -> ResidentId:
    """Validate an 18-character resident ID number and derive birth date and sex."""
    number = _clean(value)
    if len(number) != 18:
        raise ValidationError(
            _("A resident ID number has 18 characters; this one has %(count)d."),
            code="id_length",
            params={"count": len(number)},
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(
            _("A resident ID number is 17 digits followed by a digit or X."), code="id_characters"
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date in the ID number (characters 7 to 14) is not a real date."), code="id_birth_date"
        ) from None
    today = today or timezone.localdate()
    if birth > today or birth.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError(
            _("The birth date in the ID number (characters 7 to 14) is impossible."), code="id_birth_date"
        )
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's check character is wrong: please check the number was typed correctly."),
            code="id_check",
        )
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return ResidentId(number=number, birth_date=birth, sex=sex)


def normalize_resident_id(value: str) -> str:
    return parse_resident_id(value).number


def validate_resident_id(value: str) -> None:
    parse_resident_id(value)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """Validate a unified social credit code and return it upper-case without spaces."""
    code = _clean(value)
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(count)d."),
            code="uscc_length",
            params={"count": len(code)},
        )
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s (the letters I, O, S, V and Z are never used)."),
            code="uscc_characters",
            params={"chars": "、".join(bad)},
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _("Characters 3 to 8 of a unified social credit code are the region code and must be digits."),
            code="uscc_region",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("The credit code's check character is wrong: please check the code was typed correctly."),
            code="uscc_check",
        )
    return code


def validate_credit_code(value: str) -> None:
    normalize_credit_code(value)


def mask_id_number(number: str) -> str:
    """3701**********123X style: first 4 and last 4 visible."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """张*三 for display on public screens: first and last character kept."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def build_resident_id(region: str, birth_date: dt.date, sequence: int) -> str:
    """Compose a valid ID number (for demo data and tests): region code, birth date, 3-digit sequence."""
    first17 = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


def build_credit_code(first17: str) -> str:
    """Append the GB 32100 check character to 17 characters (for demo data and tests)."""
    return first17 + uscc_check_char(first17)
