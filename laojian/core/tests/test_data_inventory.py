"""The data inventory names every model field that holds personal data (SEC-58, SEC-66).

What counts as personal, explicitly:

1. every encrypted field (``Encrypted*``, ``laojian/core/fields.py``): checked by
   ``test_encryption.py::test_every_encrypted_field_is_in_the_data_inventory``, not repeated here;
2. every field of a ``laojian`` model whose name matches :data:`PERSONAL` (a name, phone, ID
   number, address, birth date, sex, diagnosis, findings, recipient, ...), unless
   :data:`NOT_PERSONAL` gives the reason it is not personal data.

Each must appear in docs/data-inventory.md as `app.model.field`. A new field of that kind fails
this test until the inventory (and docs/pia/README.md) say how it is protected and kept.
"""

from __future__ import annotations

import re

from django.apps import apps

from laojian.core.fields import Encrypted
from laojian.core.tests.test_encryption import INVENTORY

PERSONAL = re.compile(
    r"(^|_)(name|names|phone|mobile|id_number|id_card|address|birth_date|birthday|sex|gender|ethnicity|"
    r"diagnosis|diagnoses|findings|email|recipient|contact|requester|family|ip_address|county)(_|$)"
)

# Fields whose names look personal but hold no personal information, and why.
NOT_PERSONAL: dict[str, str] = {
    "core.committee.name": "an appraisal committee (a public body)",
    "core.committee.short_name": "an appraisal committee (a public body)",
    "core.calendarday.name": "a public holiday's name",
    "cases.employer.name": "the employer, a legal person (用人单位); its contact person is listed",
    "cases.employer.address": "the employer's business address",
    "cases.materialtype.name": "a checklist item (e.g. 诊断证明)",
    "experts.hospital.name": "a hospital",
    "experts.specialty.name": "a medical specialty",
    "grading.leaveperiod.name": "a catalogue entry (an injury type and its months)",
    "documents.template.recipient": "a template's address line with placeholders, no values",
    "crosscheck.claimedcare.hospital_name": "a hospital",
    "crosscheck.flag.hospital_name": "a hospital",
    "crosscheck.source.name": "a data-sharing partner (a government department)",
    "crosscheck.importrun.file_name": "the partner's export file name",
    "sittings.venue.name": "an appraisal venue",
    "sittings.venue.address": "an appraisal venue's address",
    "sittings.room.name": "a room of a venue",
}


def inventory_names() -> set[str]:
    return set(re.findall(r"`([a-z]+\.[a-z]+\.[a-z_]+)`", INVENTORY.read_text(encoding="utf-8")))


def personal_fields() -> set[str]:
    """Fields of the laojian models that count as personal by name (encrypted ones are checked elsewhere)."""
    return {f"{model._meta.label_lower}.{field.name}" for model in apps.get_models()
            if model.__module__.startswith("laojian.")
            for field in model._meta.concrete_fields
            if PERSONAL.search(field.name) and not isinstance(field, Encrypted)}


def test_every_field_with_a_personal_name_is_in_the_data_inventory():
    found = personal_fields()
    assert "cases.worker.name" in found, "the name patterns found nothing"
    missing = found - inventory_names() - set(NOT_PERSONAL)
    assert not missing, f"add these to docs/data-inventory.md (or to NOT_PERSONAL with a reason): {sorted(missing)}"


def test_the_allow_list_names_only_fields_that_exist():
    assert set(NOT_PERSONAL) <= personal_fields(), sorted(set(NOT_PERSONAL) - personal_fields())


def test_an_allowed_field_is_not_also_claimed_personal_in_the_inventory():
    assert not set(NOT_PERSONAL) & inventory_names(), sorted(set(NOT_PERSONAL) & inventory_names())
