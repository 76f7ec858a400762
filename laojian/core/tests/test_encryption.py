"""Encryption at rest (issue 10; SEC-55): the database holds no readable ID number or medical text.

The keys come from the environment; a raw dump of every table shows none of the plain values; the
blind index finds a worker by the full number; a key rotation re-seals every row, signed opinions
included, and the old key can then go.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from laojian.cases.models import InjuryDetermination, Worker
from laojian.cases.services import WorkerInput, worker_upsert
from laojian.cases.tests.factories import CaseFactory, WorkerFactory
from laojian.core import crypto, keyrotation
from laojian.core.fields import Encrypted, seal_columns
from laojian.core.models import AuditEvent
from laojian.crosscheck.tests.factories import ClaimedCareFactory
from laojian.grading.models import Finding
from laojian.grading.tests.factories import panel_case, signed_opinion

ID_NUMBER = "11010519491231002X"
INVENTORY = Path(django_settings.BASE_DIR).parent / "docs" / "data-inventory.md"


def raw_dump() -> list[str]:
    """Every text cell of every table of the database, read past the ORM."""
    qn = connection.ops.quote_name
    cells = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {qn(table)}")
            cells += [cell for row in cursor.fetchall() for cell in row if isinstance(cell, str)]
    return cells


def raw_value(model, pk: int, field: str) -> str:
    qn = connection.ops.quote_name
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn(column)} FROM {qn(model._meta.db_table)} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def set_raw(model, pk: int, field: str, value: str) -> None:
    qn = connection.ops.quote_name
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(model._meta.db_table)} SET {qn(column)} = %s WHERE id = %s", [value, pk])


# THE RAW ROW ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_raw_database_holds_no_readable_id_number_phone_or_diagnosis():
    case = CaseFactory(determination__worker__id_number=ID_NUMBER, determination__worker__phone="13912345678",
                       determination__diagnosis="右手示指末节离断伤", applicant_phone="13712345678")
    assert case.worker.id_number == ID_NUMBER
    dump = raw_dump()
    for plain in (ID_NUMBER, "002X", "13912345678", "13712345678", "右手示指末节离断伤"):
        assert not [cell for cell in dump if plain in cell], plain


@pytest.mark.django_db
def test_the_stored_value_is_sealed_with_the_current_key_and_reads_back_plain():
    worker = WorkerFactory(id_number=ID_NUMBER)
    stored = raw_value(Worker, worker.pk, "id_number")
    assert stored.startswith("enc1:dev:")
    assert Worker.objects.get(pk=worker.pk).id_number == ID_NUMBER


@pytest.mark.django_db
def test_the_expert_findings_are_sealed_even_once_signed():
    case, experts = panel_case()
    opinion = signed_opinion(case, experts[0])
    finding = opinion.findings.get()
    assert "残端" not in raw_value(Finding, finding.pk, "text")
    assert Finding.objects.get(pk=finding.pk).text == "右手示指末节缺失，残端愈合良好"


@pytest.mark.django_db
def test_the_diagnosis_of_claimed_care_is_sealed():
    care = ClaimedCareFactory(diagnosis="腰椎骨折")
    assert "腰椎" not in raw_value(care._meta.model, care.pk, "diagnosis")


@pytest.mark.django_db
def test_a_flags_evidence_is_sealed_as_one_json_value_and_survives_a_bulk_update():
    from laojian.crosscheck.models import Flag

    case = CaseFactory()
    evidence = {"partner": [{"hospital": "聊城市人民医院", "diagnosis": "股骨颈骨折"}], "partner_total": 1}
    flag = Flag.objects.create(case=case, committee=case.committee, rule=Flag.Rule.choices[0][0], fingerprint="f1",
                               evidence=evidence,
                               found_at=case.created_at, last_seen_at=case.created_at)
    assert "股骨颈" not in raw_value(Flag, flag.pk, "evidence")
    assert "partner" not in raw_value(Flag, flag.pk, "evidence")
    flag.evidence = {**evidence, "partner_total": 2}
    Flag.objects.bulk_update([flag], ["evidence"])
    assert Flag.objects.get(pk=flag.pk).evidence["partner_total"] == 2


@pytest.mark.django_db
def test_an_empty_value_stays_empty_so_blank_checks_still_work():
    worker = WorkerFactory(phone="")
    assert raw_value(Worker, worker.pk, "phone") == ""
    assert Worker.objects.filter(pk=worker.pk, phone="").exists()


@pytest.mark.django_db
def test_the_same_number_twice_gives_two_ciphertexts_but_one_index():
    first = crypto.encrypt(ID_NUMBER, "cases.worker.id_number")
    second = crypto.encrypt(ID_NUMBER, "cases.worker.id_number")
    assert first != second
    assert Worker.index_of(ID_NUMBER) == Worker.index_of(ID_NUMBER)
    assert Worker.index_of(ID_NUMBER) != Worker.index_of("110105194912310037")


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_column_does_not_open():
    worker = WorkerFactory(id_number=ID_NUMBER, phone="13912345678")
    set_raw(Worker, worker.pk, "phone", raw_value(Worker, worker.pk, "id_number"))
    with pytest.raises(crypto.DecryptionError, match="cases.worker.phone"):
        Worker.objects.get(pk=worker.pk)


@pytest.mark.django_db
def test_a_changed_ciphertext_is_detected():
    worker = WorkerFactory(id_number=ID_NUMBER)
    stored = raw_value(Worker, worker.pk, "id_number")
    set_raw(Worker, worker.pk, "id_number", stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB"))
    with pytest.raises(crypto.DecryptionError, match="does not open"):
        Worker.objects.get(pk=worker.pk)


@given(st.text(min_size=1, max_size=300))
def test_any_text_round_trips(plain):
    assert crypto.decrypt(crypto.encrypt(plain, "cases.injurydetermination.diagnosis"),
                          "cases.injurydetermination.diagnosis") == plain


# LOOKUP -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_worker_is_found_by_the_blind_index_of_the_full_number():
    worker = WorkerFactory(id_number=ID_NUMBER)
    assert Worker.objects.get(id_number_index=Worker.index_of(ID_NUMBER)) == worker


@pytest.mark.django_db
def test_registering_the_same_number_again_finds_the_same_worker():
    first = worker_upsert(WorkerInput(id_number=ID_NUMBER, name="张三"))
    again = worker_upsert(WorkerInput(id_number=ID_NUMBER.lower(), name="张三", phone="13912345678"))
    assert again.pk == first.pk
    assert Worker.objects.count() == 1
    assert Worker.objects.get().phone == "13912345678"


@pytest.mark.django_db
def test_searching_an_encrypted_field_fails_loudly_instead_of_finding_nothing():
    with pytest.raises(FieldError, match="blind index"):
        list(Worker.objects.filter(id_number=ID_NUMBER))
    with pytest.raises(FieldError):
        list(InjuryDetermination.objects.filter(diagnosis__icontains="骨折"))


# KEYS -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_value_sealed_with_a_key_no_longer_configured_says_which_key(settings):
    worker = WorkerFactory(id_number=ID_NUMBER)
    settings.LAOJIAN_FIELD_KEYS = f"k2:{crypto.new_key()}"
    with pytest.raises(crypto.DecryptionError, match="key dev"):
        Worker.objects.get(pk=worker.pk)


@pytest.mark.django_db
def test_rotation_reseals_every_row_with_the_new_key_and_the_old_key_can_go(settings, tmp_path):
    # the command re-seals stored files too: keep it off the shared data folder
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(tmp_path / "materials")}}}
    case = CaseFactory(determination__worker__id_number=ID_NUMBER, determination__diagnosis="右手示指末节离断伤")
    panel, experts = panel_case()
    opinion = signed_opinion(panel, experts[0])
    finding = opinion.findings.get()
    new = f"k2:{crypto.new_key()}"
    settings.LAOJIAN_FIELD_KEYS = f"{new},{settings.LAOJIAN_FIELD_KEYS}"

    call_command("rotate_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert crypto.key_id_of(raw_value(Worker, case.worker_id, "id_number")) == "k2"
    assert crypto.key_id_of(raw_value(Finding, finding.pk, "text")) == "k2"
    settings.LAOJIAN_FIELD_KEYS = new
    assert Worker.objects.get(pk=case.worker_id).id_number == ID_NUMBER
    assert InjuryDetermination.objects.get(pk=case.determination_id).diagnosis == "右手示指末节离断伤"
    assert Finding.objects.get(pk=finding.pk).text == "右手示指末节缺失，残端愈合良好"
    assert AuditEvent.objects.filter(action="keys.rotated").count() == 1


@pytest.mark.django_db
def test_signed_opinions_stay_immutable_after_a_rotation(settings):
    from django.db import DatabaseError, transaction

    panel, experts = panel_case()
    finding = signed_opinion(panel, experts[0]).findings.get()
    keyrotation.rotate()
    with pytest.raises(DatabaseError), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(body_part="左手")


@pytest.mark.django_db
def test_a_new_index_key_is_applied_by_the_rotation(settings):
    worker = WorkerFactory(id_number=ID_NUMBER)
    settings.LAOJIAN_INDEX_KEY = crypto.new_key()
    assert not Worker.objects.filter(id_number_index=Worker.index_of(ID_NUMBER)).exists()
    keyrotation.rotate()
    assert Worker.objects.get(id_number_index=Worker.index_of(ID_NUMBER)) == worker


@pytest.mark.django_db
def test_the_migration_seals_rows_written_in_plain_text():
    worker = WorkerFactory(id_number=ID_NUMBER, phone="13912345678")
    set_raw(Worker, worker.pk, "id_number", ID_NUMBER)
    set_raw(Worker, worker.pk, "phone", "13912345678")
    set_raw(Worker, worker.pk, "id_number_index", "stale")
    forward, _backward = seal_columns("cases", "Worker", "id_number", "phone", index="id_number_index")
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    forward(apps, editor)
    forward(apps, editor)  # a second run changes nothing
    assert ID_NUMBER not in raw_value(Worker, worker.pk, "id_number")
    loaded = Worker.objects.get(id_number_index=Worker.index_of(ID_NUMBER))
    assert (loaded.pk, loaded.phone) == (worker.pk, "13912345678")


def test_rotate_keys_prints_a_new_key_of_32_bytes(capsys):
    call_command("rotate_keys", "--new-key")
    key = capsys.readouterr().out.strip()
    assert crypto.parse_keys(f"k9:{key}", key).by_id["k9"] != b""


# THE INVENTORY ----------------------------------------------------------------------------------


def test_every_encrypted_field_is_in_the_data_inventory():
    text = INVENTORY.read_text(encoding="utf-8")
    listed = set(re.findall(r"`([a-z]+\.[a-z]+\.[a-z_]+)`", text))
    sealed = {f"{model._meta.label_lower}.{field.name}" for model in apps.get_models()
              for field in model._meta.concrete_fields if isinstance(field, Encrypted)}
    assert sealed, "no encrypted field found"
    assert sealed <= listed, sorted(sealed - listed)
