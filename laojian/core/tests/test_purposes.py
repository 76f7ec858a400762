"""SEC-60: every way personal data leaves the system names its purpose and legal basis."""

from __future__ import annotations

import re

import pytest

from laojian.core import purposes
from laojian.core.purposes import PURPOSES, LegalBasis
from laojian.core.tests.test_permission_matrix import MATRIX

# URL names that send a file or a copy of data out of the system.
SENDS_DATA = re.compile(r"(export|download|xlsx|_pdf|package|reprint)")


def sending_urls() -> list[str]:
    return sorted(name for name in MATRIX["url"] if SENDS_DATA.search(name.split(":")[-1]))


def test_there_are_sending_urls_to_check():
    assert len(sending_urls()) >= 15


@pytest.mark.parametrize("name", sending_urls())
def test_every_url_that_sends_data_out_names_a_known_purpose(name):
    purpose = MATRIX["url"][name].get("purpose")
    assert purpose in PURPOSES, f"{name}: add purpose = \"…\" (one of {sorted(PURPOSES)}) to its matrix entry"


def test_a_purpose_named_in_the_matrix_exists():
    named = {entry["purpose"] for entry in MATRIX["url"].values() if "purpose" in entry}
    assert named <= set(PURPOSES)


def test_each_purpose_says_its_legal_basis_and_source():
    for purpose in PURPOSES.values():
        assert purpose.legal_basis in LegalBasis.values and len(purpose.source) > 5, purpose.code


def test_each_consent_based_purpose_has_a_text_to_read_out():
    consent_based = {p.code for p in PURPOSES.values() if p.legal_basis == LegalBasis.CONSENT}
    assert consent_based == set(purposes.CONSENT_TEXTS) == {"remote_recording"}
    version, text = purposes.consent_text("remote_recording")
    assert re.fullmatch(r"\d{4}-\d{2}", version) and len(str(text)) > 50


def test_no_url_sends_data_on_consent():
    """Consent-based processing is checked by its service (sittings.records), never a bare download."""
    assert not [name for name, entry in MATRIX["url"].items()
                if PURPOSES.get(entry.get("purpose", ""), PURPOSES["appraisal"]).legal_basis == LegalBasis.CONSENT]


def test_a_statutory_purpose_needs_no_consent():
    purposes.require_consent("appraisal", consent=None, actor=None, obj=None, committee=None)  # no error


def test_an_unknown_purpose_is_an_error():
    with pytest.raises(KeyError):
        purposes.get("marketing")
