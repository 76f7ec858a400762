"""The electronic seal: signed PDFs validate, and any change to their bytes shows."""

from __future__ import annotations

import datetime as dt
import stat

import pytest

from laojian.documents.pdf import Letter, render
from laojian.documents.signing import NullSigner, PadesSigner, certificate_fingerprint, get_signer, validate

COMMITTEE = "聊城市劳动能力鉴定委员会"


@pytest.fixture
def key_dir(settings, tmp_path):
    settings.LAOJIAN_SIGNING_KEY_DIR = tmp_path / "keys"
    settings.LAOJIAN_SIGNING_KEY_PASSWORD = ""
    return settings.LAOJIAN_SIGNING_KEY_DIR


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return render(Letter(committee_name=COMMITTEE, title="劳动能力鉴定结论书", number="聊劳鉴字〔2026〕第0001号",
                         issued_on=dt.date(2026, 11, 28), paragraphs=("经鉴定，伤残等级为九级。",)))


def sign(pdf: bytes) -> bytes:
    return PadesSigner().sign(pdf, committee_code="LC", committee_name=COMMITTEE)


def test_a_signed_pdf_validates_as_intact_with_the_committee_as_signer(key_dir, unsigned):
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)

    result = validate(sign(unsigned))

    assert result.signed
    assert result.intact
    assert result.signer == COMMITTEE
    assert result.signed_at is not None and result.signed_at >= before


def test_one_flipped_byte_inside_the_signed_content_breaks_it(key_dir, unsigned):
    signed = bytearray(sign(unsigned))
    position = len(unsigned) // 2  # inside the original document, which the signature covers
    signed[position] ^= 0x01

    result = validate(bytes(signed))

    assert result.signed
    assert not result.intact


def test_bytes_appended_after_the_signature_break_it(key_dir, unsigned):
    result = validate(sign(unsigned) + b"\n% appended after signing\n")

    assert result.signed
    assert not result.intact


def test_an_unsigned_pdf_is_not_signed(unsigned):
    assert validate(unsigned) == validate(b"")
    assert not validate(unsigned).signed
    assert not validate(unsigned).intact
    assert validate(unsigned).signer == ""


def test_a_damaged_file_is_an_answer_not_an_error():
    result = validate(b"%PDF-1.7\n this is not a PDF at all")

    assert (result.signed, result.intact, result.signed_at) == (False, False, None)


def test_the_key_is_created_once_with_mode_0600_and_reused(key_dir, unsigned):
    assert certificate_fingerprint("LC") == ""

    sign(unsigned)
    key_file = key_dir / "LC.p12"
    first = certificate_fingerprint("LC")
    created = key_file.stat().st_mtime_ns
    sign(unsigned)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.stat().st_mtime_ns == created
    assert certificate_fingerprint("LC") == first
    assert len(first) == 64 and int(first, 16) >= 0


def test_each_committee_has_its_own_key(key_dir, unsigned):
    sign(unsigned)
    PadesSigner().sign(unsigned, committee_code="SD", committee_name="山东省劳动能力鉴定委员会")

    assert certificate_fingerprint("LC") != certificate_fingerprint("SD")
    assert validate(PadesSigner().sign(unsigned, committee_code="SD", committee_name="x")).signer == \
        "山东省劳动能力鉴定委员会"


def test_a_password_encrypts_the_key_file(settings, key_dir, unsigned):
    settings.LAOJIAN_SIGNING_KEY_PASSWORD = "correct horse battery staple"

    signed = sign(unsigned)

    assert validate(signed).intact
    settings.LAOJIAN_SIGNING_KEY_PASSWORD = ""
    with pytest.raises(ValueError):
        certificate_fingerprint("LC")


def test_a_committee_code_cannot_name_a_path(key_dir, unsigned):
    with pytest.raises(ValueError):
        PadesSigner().sign(unsigned, committee_code="../etc/x", committee_name=COMMITTEE)


def test_the_null_signer_returns_the_bytes_unchanged(unsigned):
    assert NullSigner().sign(unsigned, committee_code="LC", committee_name=COMMITTEE) is unsigned


@pytest.mark.parametrize(("choice", "kind"), [("pades", PadesSigner), ("none", NullSigner)])
def test_get_signer_follows_the_setting(settings, choice, kind):
    settings.LAOJIAN_DOCUMENT_SIGNER = choice

    signer = get_signer()

    assert isinstance(signer, kind)
    assert signer.name == choice
