"""Hostile input through every text field of the push API (issue 10, §2.7 scenario 7).

Each corpus string goes into every free-text field of a record; the push answers 200 (stored, or
the record rejected with its reason) or 400, never a server error, and what is stored is the
literal text, read back from the partner store.
"""

from __future__ import annotations

import pytest

from laojian.core.tests.hostile import HOSTILE
from laojian.crosscheck import partners, store
from laojian.crosscheck.models import Source
from laojian.crosscheck.tests.test_api import ID_A, api, push, record, source, token  # noqa: F401

pytestmark = pytest.mark.django_db

TEXT_FIELDS = ("person_name", "hospital_name", "service", "record_number")


def without_blanks(text: str) -> str:
    """As compared: codes and services are kept in one case, names without blanks."""
    return "".join(text.split()).casefold()


def stored_rows(of: Source) -> list[dict]:
    runs = partners.finished_run_ids(of.committee_id, "settlement")
    return store.records(of.committee_id, "settlement", runs).collect().to_dicts()


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_every_hostile_string_in_a_text_field_is_stored_as_literal_text(api, source, token, field):  # noqa: F811
    # Names lose their blanks and codes their case (partners' cleaning); every other character,
    # markup, quotes, formulas and look-alikes included, is kept as it came: the text is data.
    records = [record(**{field: text, "person_name": "张三" if field != "person_name" else text,
                         "record_number": f"H{n}" if field != "record_number" else text})
               for n, text in enumerate(HOSTILE)]
    response = push(api, source, {"records": records}, token)
    assert response.status_code == 200, response.content
    assert response.json()["rejects"] == []
    kept = [row[field] for row in stored_rows(source)]
    assert sorted(map(without_blanks, kept)) == sorted(map(without_blanks, HOSTILE))


def test_a_hostile_id_number_is_rejected_with_a_reason_not_a_server_error(api, source, token):  # noqa: F811
    response = push(api, source, {"records": [record(text) for text in HOSTILE]}, token)
    assert response.status_code in (200, 400)
    assert response.status_code < 500
