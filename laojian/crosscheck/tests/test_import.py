"""The partner import engine: files in, Parquet chunks and an import log out.

Files are real (written under tmp_path in the encodings partners use), runs go through the services
(``run_create`` then ``run_import``, as the task does), and what is stored is read back from the
Parquet store.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from laojian.core.errors import ConflictError, ValidationFailed
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.validators import build_resident_id
from laojian.crosscheck import partners, store
from laojian.crosscheck.models import ImportRun, Source

pytestmark = pytest.mark.django_db

D = dt.date
MAPPING = {"id_number": "身份证号", "person_name": "姓名", "hospital_code": "医疗机构编码",
           "hospital_name": "医疗机构名称", "service": "医疗类别", "admitted_on": "入院日期",
           "discharged_on": "出院日期", "diagnosis": "诊断", "icd10": "诊断编码", "record_number": "结算号"}
HEADERS = [*MAPPING.values(), "金额"]
ID_A = build_resident_id("371502", D(1980, 5, 17), 123)
ID_B = build_resident_id("371521", D(1975, 1, 2), 456)
ID_C = build_resident_id("371522", D(1990, 12, 31), 789)


def bad_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def row(number: str = ID_A, **values: str) -> dict[str, str]:
    base = {"身份证号": number, "姓名": "张三", "医疗机构编码": "H3715001", "医疗机构名称": "聊城市人民医院",
            "医疗类别": "住院", "入院日期": "2026-03-02", "出院日期": "2026-03-20", "诊断": "右手示指末节离断伤",
            "诊断编码": "S62.6", "结算号": "JS0001", "金额": "1234.50"}
    base.update(values)
    return base


def csv_bytes(rows: list[dict[str, str]], *, encoding: str = "utf-8", headers: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=headers or HEADERS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], headers: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers or HEADERS)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def liaison():
    return UserFactory(committee=CommitteeFactory(), roles=["liaison"])


@pytest.fixture
def source(liaison) -> Source:
    return Source.objects.create(committee=liaison.committee, kind="settlement", name="市医保局结算数据",
                                 mapping=MAPPING)


def receive(data: bytes, suffix: str = "") -> tuple[Path, str]:
    """The file as the upload handler leaves it: under incoming/, with its SHA-256."""
    path = partners.incoming_path()
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def create(source: Source, actor, data: bytes, name: str = "settlement.csv") -> ImportRun:
    path, sha = receive(data)
    return partners.run_create(source, path=path, file_name=name, sha256=sha, size=len(data), actor=actor)


def imported(source: Source, actor, data: bytes, name: str = "settlement.csv") -> ImportRun:
    return partners.run_import(create(source, actor, data, name).pk)


def stored(source: Source, runs: list[int] | None = None) -> pl.DataFrame:
    """What the matching engine would read (finished runs), in a stable order, without the ids."""
    run_ids = runs if runs is not None else partners.finished_run_ids(source.committee_id, source.kind)
    frame = store.records(source.committee_id, source.kind, run_ids).collect()
    return frame.drop("source_id", "run_id").sort("row_key")


# ENCODINGS AND FORMATS ---------------------------------------------------------------------------------

def test_a_gbk_csv_imports_with_its_chinese_intact(source, liaison):
    run = imported(source, liaison, csv_bytes([row(姓名="欧阳娜娜", 医疗机构名称="聊城市第二人民医院")], encoding="gbk"))

    assert (run.state, run.encoding, run.rows_added) == ("done", "gb18030", 1)
    assert stored(source).select("person_name", "hospital_name").row(0) == ("欧阳娜娜", "聊城市第二人民医院")


def test_a_gbk_file_that_begins_in_plain_ascii_is_still_read_as_gbk(liaison, monkeypatch):
    monkeypatch.setattr(partners, "HEAD_BYTES", 300)
    monkeypatch.setattr(partners, "CHUNK_ROWS", 2)
    plain = {"id_number": "sfzh", "hospital_name": "yymc", "admitted_on": "rysj", "record_number": "jsh",
             "person_name": "xm"}
    ascii_source = Source.objects.create(committee=liaison.committee, kind="settlement", name="拼音表头", mapping=plain)
    rows = [{"sfzh": ID_A, "yymc": "H1", "rysj": "2026-03-02", "jsh": str(i), "xm": "zhang"} for i in range(8)]
    rows.append({"sfzh": ID_B, "yymc": "聊城市人民医院", "rysj": "2026-03-02", "jsh": "9", "xm": "张三"})

    run = imported(ascii_source, liaison, csv_bytes(rows, encoding="gbk", headers=list(plain.values())))

    assert (run.state, run.encoding, run.rows_added, run.chunks_done) == ("done", "gb18030", 9, 5)
    assert stored(ascii_source).filter(pl.col("id_number") == ID_B)["person_name"].to_list() == ["张三"]


def test_a_utf8_csv_with_a_bom_reads_its_first_column(source, liaison):
    run = imported(source, liaison, codecs.BOM_UTF8 + csv_bytes([row()]))

    assert (run.state, run.encoding, run.rows_added) == ("done", "utf-8-sig", 1)
    assert stored(source)["id_number"].to_list() == [ID_A]


def test_an_excel_workbook_imports_with_its_date_cells(source, liaison):
    values = [ID_A, "张三", "H3715001", "聊城市人民医院", "住院", D(2026, 3, 2), D(2026, 3, 20),
              "右手示指末节离断伤", "S62.6", "JS0001", 1234.5]
    run = imported(source, liaison, xlsx_bytes([values]), name="settlement.xlsx")

    assert (run.state, run.rows_added) == ("done", 1)
    assert stored(source).select("admitted_on", "discharged_on").row(0) == (D(2026, 3, 2), D(2026, 3, 20))


def test_a_licensed_registry_imports_with_its_services_in_our_words(liaison):
    registry = Source.objects.create(committee=liaison.committee, kind="licensed", name="卫健委执业登记",
                                     mapping={"hospital_code": "机构代码", "hospital_name": "机构名称",
                                              "services": "诊疗科目", "valid_from": "发证日期"})
    data = csv_bytes([{"机构代码": "h3715001", "机构名称": "聊城市 人民医院", "诊疗科目": "住院、门诊；检查",
                       "发证日期": "2020/1/1"}], headers=["机构代码", "机构名称", "诊疗科目", "发证日期"])

    run = imported(registry, liaison, data)

    assert run.state == "done"
    assert stored(registry).select("hospital_code", "hospital_name", "services", "valid_from").row(0) == (
        "H3715001", "聊城市人民医院", "examination|inpatient|outpatient", D(2020, 1, 1))


# NORMALISATION ---------------------------------------------------------------------------------------

def test_dates_in_several_formats_are_read(source, liaison):
    formats = ["2026-03-02", "2026/3/2", "20260302", "2026年3月2日", "2026.3.2", "2026-03-02 08:30:00", "46083"]
    rows = [row(结算号=f"JS{i}", 入院日期=text, 出院日期="") for i, text in enumerate(formats)]

    run = imported(source, liaison, csv_bytes(rows))

    assert (run.rows_added, run.rows_rejected) == (len(formats), 0)
    assert stored(source)["admitted_on"].unique().to_list() == [D(2026, 3, 2)]


def test_a_bad_check_digit_is_kept_and_counted_as_a_warning(source, liaison):
    run = imported(source, liaison, csv_bytes([row(ID_A, 结算号="1"), row(bad_check(ID_B), 结算号="2")]))

    assert (run.rows_added, run.rows_flagged, run.rows_rejected) == (2, 1, 0)
    frame = stored(source).sort("record_number")
    assert frame.select("id_number", "id_valid").rows() == [(ID_A, True), (bad_check(ID_B), False)]


def test_id_numbers_are_upper_cased_and_cleaned(source, liaison):
    number = build_resident_id("371502", D(1980, 5, 17), 2)
    x_number = next(n for n in (build_resident_id("371502", D(1980, 5, 17), s) for s in range(200)) if n.endswith("X"))
    run = imported(source, liaison, csv_bytes([row(" " + x_number.lower(), 结算号="1"), row("'" + number, 结算号="2")]))

    assert (run.rows_added, run.rows_flagged) == (2, 0)
    assert sorted(stored(source)["id_number"].to_list()) == sorted([x_number, number])


def test_rows_without_an_id_or_a_usable_date_are_rejected_with_line_and_reason(source, liaison):
    rows = [row(结算号="1"), row("", 结算号="2"), row(入院日期="", 结算号="3"), row(入院日期="不详", 结算号="4"),
            row(入院日期="2026-03-20", 出院日期="2026-03-02", 结算号="5")]

    run = imported(source, liaison, csv_bytes(rows))

    assert (run.rows_done, run.rows_added, run.rows_rejected) == (5, 1, 4)
    assert run.rejects == [{"line": 3, "reason": "no_id"}, {"line": 4, "reason": "no_date"},
                           {"line": 5, "reason": "bad_date"}, {"line": 6, "reason": "discharge_before_admission"}]
    report = partners.report_path(run).read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[:2] for line in report[1:]] == [["3", "no_id"], ["4", "no_date"], ["5", "bad_date"],
                                                           ["6", "discharge_before_admission"]]
    assert "不详" in report[3]


def test_a_cell_of_blanks_counts_as_empty(source, liaison):
    run = imported(source, liaison, csv_bytes([row("   ", 结算号="1"), row(入院日期=" \u3000 ", 结算号="2")]))

    assert run.rejects == [{"line": 2, "reason": "no_id"}, {"line": 3, "reason": "no_date"}]


def test_only_the_first_rejects_are_kept_on_the_run_and_all_in_the_report(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "REJECTS_KEPT", 3)
    run = imported(source, liaison, csv_bytes([row("", 结算号=str(i)) for i in range(5)]))

    assert run.rows_rejected == 5
    assert [r["line"] for r in run.rejects] == [2, 3, 4]
    assert len(partners.report_path(run).read_text(encoding="utf-8-sig").splitlines()) == 1 + 5


# REFUSED FILES ---------------------------------------------------------------------------------------

def test_a_file_missing_mapped_columns_is_refused_with_their_names(source, liaison):
    headers = [h for h in HEADERS if h not in ("入院日期", "诊断编码")]
    data = csv_bytes([row()], headers=headers)
    path, sha = receive(data)

    with pytest.raises(ValidationFailed) as refused:
        partners.run_create(source, path=path, file_name="x.csv", sha256=sha, size=len(data), actor=liaison)

    assert refused.value.extra["missing"] == ["入院日期", "诊断编码"]
    assert "入院日期、诊断编码" in refused.value.message
    assert not path.exists()
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (codecs.BOM_UTF8 + b"\n", "empty"),
    (",".join(HEADERS).encode() + b"\n", "no_rows"),
    ("身份证号,姓名\n".encode("utf-16"), "encoding"),
    (b"\x81\x20\xff\xfe,\x80\x80\n\xff\xff\n", "encoding"),
])
def test_an_empty_header_only_or_undecodable_file_is_refused_with_a_reason(source, liaison, data, code):
    path, sha = receive(data)

    with pytest.raises(ValidationFailed) as refused:
        partners.run_create(source, path=path, file_name="x.csv", sha256=sha, size=len(data), actor=liaison)

    assert refused.value.code == code
    assert not ImportRun.objects.exists()
    assert not path.exists()


def test_a_bad_byte_deep_in_the_file_fails_the_run_and_stores_nothing(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "HEAD_BYTES", 600)  # the bad byte lies beyond what inspection reads
    monkeypatch.setattr(partners, "CHUNK_ROWS", 2)
    rows = [row(结算号=str(i)) for i in range(6)]
    data = csv_bytes(rows) + b"\xff\xfe not text\n"

    run = imported(source, liaison, data)

    assert run.state == "failed"
    assert "Line 8" in run.error
    assert (run.rows_added, run.chunks_done) == (0, 0)
    assert list(store.kind_dir(source.committee_id, "settlement").glob(f"run-{run.pk}-*")) == []


def test_a_line_with_more_values_than_columns_fails_the_run_with_its_line(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 2)
    lines = csv_bytes([row(结算号=str(i)) for i in range(5)]).decode().splitlines()
    lines[4] += ",多出来的值"

    run = imported(source, liaison, ("\n".join(lines) + "\n").encode())

    assert run.state == "failed"
    assert run.error.startswith("Line 5 has more values than the header line has columns.")
    assert (run.rows_added, run.chunks_done) == (0, 0)
    assert list(store.kind_dir(source.committee_id, "settlement").glob(f"run-{run.pk}-*")) == []


# DUPLICATES AND IDEMPOTENCE -----------------------------------------------------------------------------

def test_a_row_repeated_in_a_file_is_stored_once(source, liaison):
    run = imported(source, liaison, csv_bytes([row(), row(ID_B), row(" " + ID_A + " ")]))

    assert (run.rows_done, run.rows_added, run.rows_duplicate) == (3, 2, 1)
    assert stored(source).height == 2


def test_rows_stored_from_an_earlier_file_are_not_written_again(source, liaison):
    first = imported(source, liaison, csv_bytes([row(), row(ID_B)]), name="march.csv")
    second = imported(source, liaison, csv_bytes([row(ID_B), row(ID_C)]), name="april.csv")

    assert (first.rows_added, second.rows_added, second.rows_duplicate) == (2, 1, 1)
    assert sorted(stored(source)["id_number"].to_list()) == sorted([ID_A, ID_B, ID_C])
    assert store.records(source.committee_id, "settlement", [second.pk]).collect()["id_number"].to_list() == [ID_C]


def test_a_stored_key_is_the_sha256_of_the_stored_fields_as_keys_have_always_been(source, liaison):
    """Keys written by earlier versions of the engine (hashlib, row by row) must still match new ones."""
    imported(source, liaison, csv_bytes([row(), row(ID_B, 出院日期="", 诊断=""), row(bad_check(ID_C))]))

    frame = stored(source)

    def sha(values: dict[str, Any]) -> str:
        text = "\x1f".join("" if values[name] is None else str(values[name]) for name in partners.CARE_KEY)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    assert frame["row_key"].to_list() == [sha(values) for values in frame.to_dicts()]


def test_another_committees_records_do_not_count_as_duplicates(source, liaison):
    other = Source.objects.create(committee=CommitteeFactory(), kind="settlement", name="另一个", mapping=MAPPING)
    imported(other, None, csv_bytes([row()]))

    run = imported(source, liaison, csv_bytes([row()]))

    assert (run.rows_added, run.rows_duplicate) == (1, 0)


def test_the_same_file_twice_is_refused_and_adds_nothing(source, liaison):
    data = csv_bytes([row(), row(ID_B)])
    first = imported(source, liaison, data)
    before = stored(source)
    path, sha = receive(data)

    with pytest.raises(ConflictError) as refused:
        partners.run_create(source, path=path, file_name="again.csv", sha256=sha, size=len(data), actor=liaison)

    assert refused.value.code == "already_imported"
    assert f"#{first.pk}" in refused.value.message
    assert ImportRun.objects.count() == 1
    assert stored(source).equals(before)


# CRASHES, RESUMING, DISCARDING ------------------------------------------------------------------------

class Crash(Exception):
    pass


def ten_rows() -> bytes:
    """Ten rows, one repeated, one rejected, one with a bad check digit: every counter moves."""
    rows = [row(build_resident_id("371502", D(1980, 1, 1) + dt.timedelta(days=i), i), 结算号=str(i)) for i in range(8)]
    rows.insert(5, dict(rows[1]))
    rows.append(row("", 结算号="x"))
    rows[7]["身份证号"] = bad_check(rows[7]["身份证号"])
    return csv_bytes(rows)


COUNTS = ("state", "rows_done", "rows_added", "rows_duplicate", "rows_rejected", "rows_flagged", "chunks_done",
          "rejects")


@pytest.mark.parametrize("stage", ["written", "saved"])
def test_an_import_resumed_after_a_crash_ends_as_an_uninterrupted_one(source, liaison, monkeypatch, stage):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)  # four chunks
    other = Source.objects.create(committee=CommitteeFactory(), kind="settlement", name="对照", mapping=MAPPING)
    uninterrupted = imported(other, None, ten_rows())

    def crash(run_id: int, chunk: int, at: str) -> None:
        if chunk == 2 and at == stage:
            raise Crash
    monkeypatch.setattr(partners, "_checkpoint_hook", crash)
    run = create(source, liaison, ten_rows())
    with pytest.raises(Crash):
        partners.run_import(run.pk)
    run.refresh_from_db()
    assert (run.state, run.chunks_done) == ("failed", 2 if stage == "written" else 3)

    monkeypatch.setattr(partners, "_checkpoint_hook", lambda *args: None)
    partners.run_resume(run, actor=liaison)
    run = partners.run_import(run.pk)

    assert [getattr(run, name) for name in COUNTS] == [getattr(uninterrupted, name) for name in COUNTS]
    assert stored(source).equals(stored(other))
    assert partners.report_path(run).read_bytes() == partners.report_path(uninterrupted).read_bytes()


def test_a_crashed_import_is_not_read_until_it_finishes(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)

    def crash(run_id: int, chunk: int, at: str) -> None:
        if chunk == 1 and at == "saved":
            raise Crash
    monkeypatch.setattr(partners, "_checkpoint_hook", crash)
    run = create(source, liaison, ten_rows())
    with pytest.raises(Crash):
        partners.run_import(run.pk)

    assert ImportRun.objects.get(pk=run.pk).chunks_done == 2
    assert partners.finished_run_ids(source.committee_id, "settlement") == []
    assert stored(source).height == 0


def test_a_discarded_import_leaves_the_stored_records_as_they_were(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)
    earlier = imported(source, liaison, csv_bytes([row(), row(ID_B)]), name="march.csv")
    before = stored(source)

    def crash(run_id: int, chunk: int, at: str) -> None:
        if chunk == 2 and at == "saved":
            raise Crash
    monkeypatch.setattr(partners, "_checkpoint_hook", crash)
    run = create(source, liaison, ten_rows())
    with pytest.raises(Crash):
        partners.run_import(run.pk)
    run = partners.run_discard(ImportRun.objects.get(pk=run.pk), actor=liaison)

    assert (run.state, run.chunks_done, run.rows_added) == ("failed", 0, 0)
    assert list(store.kind_dir(source.committee_id, "settlement").glob(f"run-{run.pk}-*")) == []
    assert partners.finished_run_ids(source.committee_id, "settlement") == [earlier.pk]
    assert stored(source).equals(before)


def test_the_columns_cannot_be_mapped_anew_while_an_import_is_half_done(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "CHUNK_ROWS", 3)

    def crash(run_id: int, chunk: int, at: str) -> None:
        if chunk == 1 and at == "saved":
            raise Crash
    monkeypatch.setattr(partners, "_checkpoint_hook", crash)
    run = create(source, liaison, ten_rows())
    with pytest.raises(Crash):
        partners.run_import(run.pk)

    with pytest.raises(ConflictError) as refused:
        partners.source_map_columns(source, {**MAPPING, "person_name": "金额"}, actor=liaison, headers=HEADERS)

    assert refused.value.code == "import_unfinished"
    assert Source.objects.get(pk=source.pk).mapping == MAPPING


def test_a_failed_import_can_be_tried_again_with_the_same_file(source, liaison, monkeypatch):
    monkeypatch.setattr(partners, "HEAD_BYTES", 600)
    data = csv_bytes([row(结算号=str(i)) for i in range(6)]) + b"\xff\n"
    failed = imported(source, liaison, data)
    assert failed.state == "failed"

    again = create(source, liaison, data)

    assert (again.pk, again.state, again.error) == (failed.pk, "queued", "")


def test_the_task_imports_a_queued_run(source, liaison, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    run = create(source, liaison, csv_bytes([row()]))

    with django_capture_on_commit_callbacks(execute=True):
        partners.run_start(run, actor=liaison)

    run.refresh_from_db()
    assert (run.state, run.rows_added) == ("done", 1)


def test_importing_a_run_twice_does_nothing_the_second_time(source, liaison):
    run = imported(source, liaison, csv_bytes([row()]))
    again = partners.run_import(run.pk)

    assert (again.state, again.rows_added, again.finished_at) == ("done", 1, run.finished_at)


# THE CONSOLE -----------------------------------------------------------------------------------------

def test_the_command_imports_a_file_and_prints_the_report(source, liaison, tmp_path):
    file = tmp_path / "march.csv"
    file.write_bytes(csv_bytes([row(), row(""), row(bad_check(ID_B))]))
    out = io.StringIO()

    call_command("crosscheck", "import", str(file), "--source", str(source.pk), "--user", liaison.username, stdout=out,
                 stderr=io.StringIO())

    run = ImportRun.objects.get(source=source)
    assert (run.state, run.rows_added, run.rows_rejected, run.rows_flagged, run.started_by) == ("done", 2, 1, 1, liaison)
    text = out.getvalue()
    assert f"Import #{run.pk} of 市医保局结算数据 (march.csv): done" in text
    assert "line 3: no ID number" in text


def test_the_command_refuses_the_same_file_twice(source, tmp_path):
    file = tmp_path / "march.csv"
    file.write_bytes(csv_bytes([row()]))
    call_command("crosscheck", "import", str(file), "--source", str(source.pk), stdout=io.StringIO(),
                 stderr=io.StringIO())

    with pytest.raises(CommandError, match="already imported"):
        call_command("crosscheck", "import", str(file), "--source", str(source.pk), stdout=io.StringIO(),
                     stderr=io.StringIO())


def test_a_partners_formula_in_a_rejected_row_stays_text_in_the_report(source, liaison):
    run = imported(source, liaison, csv_bytes([row("", 结算号="=HYPERLINK(\"http://x.invalid\",\"点我\")")]))

    report = partners.report_path(run).read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in report
    assert ",=HYPERLINK(" not in report and ',"=HYPERLINK(' not in report
