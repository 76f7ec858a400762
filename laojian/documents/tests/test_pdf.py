"""Rendering official letters: the text comes back out, the font is embedded, the layout rules hold."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from laojian.documents.pdf import DocumentFontMissing, Letter, chinese_date, render

COMMITTEE = "聊城市劳动能力鉴定委员会"
# 2,000 characters of real-looking basis text, with the punctuation the line breaker must handle.
SENTENCE = "经专家组依据《劳动能力鉴定 职工工伤与职业病致残等级》（GB/T 16180-2014）第5.9.2.3条检查，右手拇指指间关节功能丧失，"
LONG = (SENTENCE * 40)[:2000]


def tool(name: str) -> str:
    """The poppler tool's path; skips without it, but fails under CI, which must run these tests."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found: install poppler-utils (`bash tools/ensure-packages` does it as root)."
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext extracts it, with all whitespace removed."""
    source = tmp_path / "letter.pdf"
    source.write_bytes(pdf)
    out = subprocess.run([tool("pdftotext"), "-enc", "UTF-8", str(source), "-"], check=True,
                         capture_output=True, text=True).stdout
    return re.sub(r"\s", "", out)


def letter(**changes) -> Letter:
    fields = {
        "committee_name": COMMITTEE,
        "title": "劳动能力鉴定结论书",
        "number": "聊劳鉴字〔2026〕第0001号",
        "issued_on": dt.date(2026, 11, 28),
        "recipient": "张三：",
        "rows": (("姓名", "张三"), ("身份证号", "371502********1234"), ("伤残等级", "九级")),
        "paragraphs": ("根据《工伤保险条例》，现将鉴定结论通知如下。", "如对本结论不服，可在收到本结论书之日起十五日内申请再次鉴定。"),
    }
    fields.update(changes)
    return Letter(**fields)


def test_the_text_comes_back_from_pdftotext(tmp_path):
    text = pdftotext(render(letter(paragraphs=(LONG,))), tmp_path)

    for expected in ("劳动能力鉴定结论书", "聊劳鉴字〔2026〕第0001号", "张三：", "371502********1234",
                     COMMITTEE, "二〇二六年十一月二十八日"):
        assert expected in text
    body = re.sub(r"第\d+页共\d+页", "", text)  # the page numbers sit between the pages' text
    assert re.sub(r"\s", "", LONG) in body


def test_the_committee_name_is_printed_once_as_text_the_seal_is_outlines(tmp_path):
    text = pdftotext(render(letter()), tmp_path)

    assert text.count(COMMITTEE) == 1


def test_the_cjk_font_is_embedded_as_a_subset(tmp_path):
    source = tmp_path / "letter.pdf"
    source.write_bytes(render(letter()))
    out = subprocess.run([tool("pdffonts"), str(source)], check=True, capture_output=True, text=True).stdout

    rows = [line.split() for line in out.splitlines()[2:]]
    assert len(rows) == 1
    name, *_middle, emb, sub, uni, _obj, _gen = rows[0]
    assert name.endswith("+NotoSerifCJKSC")
    assert (emb, sub, uni) == ("yes", "yes", "yes")


def test_the_subset_holds_only_the_glyphs_the_letter_uses():
    short = render(letter(paragraphs=("一",)))
    long = render(letter(paragraphs=(LONG,)))

    # A few dozen glyphs against a few hundred: the embedded font grows with the text, not the face.
    assert len(short) < 60_000
    assert len(long) > len(short)


def test_a_long_letter_flows_onto_numbered_pages(tmp_path):
    pdf = render(letter(paragraphs=(LONG, LONG), footer="案件编号 LC-2026-0001"))

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    text = pdftotext(pdf, tmp_path)
    assert pages >= 4
    assert "第1页共" in text
    assert "第2页共" in text
    assert f"第{pages}页共{pages}页" in text
    assert text.count("案件编号LC-2026-0001") == pages


def test_a_copy_is_marked_on_every_page_and_in_the_metadata(tmp_path):
    pdf = render(letter(paragraphs=(LONG, LONG), copy=True))

    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        assert "副本" in page.extract_text()
    assert "副本" in reader.xmp_metadata.dc_title["x-default"]
    assert "副本" in pdftotext(pdf, tmp_path)


def test_an_original_is_not_marked_as_a_copy(tmp_path):
    assert "副本" not in pdftotext(render(letter()), tmp_path)


def test_the_metadata_names_the_letter_and_the_committee():
    meta = PdfReader(io.BytesIO(render(letter()))).xmp_metadata

    assert meta.dc_title["x-default"] == "劳动能力鉴定结论书"
    assert meta.dc_creator == [COMMITTEE]
    assert meta.xmp_creator_tool == "Laojian"


def test_a_letter_declares_pdf_a_2b_for_the_archive():
    """PDF/A-2b identification and an sRGB output intent (conformance itself is for a validator such as veraPDF)."""
    reader = PdfReader(io.BytesIO(render(letter())))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"<pdfaid:part>2</pdfaid:part>", xmp) and re.search(r"<pdfaid:conformance>B<", xmp)
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_the_verification_qr_code_links_to_the_url_and_shows_the_code(tmp_path):
    url = "https://laojian.example.cn/v/K7Q2M9"
    pdf = render(letter(verify_url=url, verify_code="K7Q2-M9"))

    reader = PdfReader(io.BytesIO(pdf))
    last = reader.pages[-1]
    uris = [annot.get_object()["/A"]["/URI"] for annot in last.get("/Annots", [])]
    assert uris == [url]
    assert "K7Q2-M9" in pdftotext(pdf, tmp_path)


def test_without_a_verification_url_there_is_no_link():
    reader = PdfReader(io.BytesIO(render(letter())))

    assert all("/Annots" not in page for page in reader.pages)


def test_rendering_is_deterministic_apart_from_the_dates():
    def without_dates(pdf: bytes) -> bytes:
        pdf = re.sub(rb"/CreationDate \(D:[^)]*\)", b"", pdf)
        pdf = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", b"", pdf)  # the XMP metadata's dates
        return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", pdf)

    assert without_dates(render(letter())) == without_dates(render(letter()))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 11, 28), "二〇二六年十一月二十八日"),
        (dt.date(2026, 10, 1), "二〇二六年十月一日"),
        (dt.date(2030, 1, 20), "二〇三〇年一月二十日"),
        (dt.date(2026, 12, 31), "二〇二六年十二月三十一日"),
        (dt.date(2027, 3, 10), "二〇二七年三月十日"),
        (dt.date(2026, 5, 15), "二〇二六年五月十五日"),
    ],
)
def test_chinese_date(day, expected):
    assert chinese_date(day) == expected


def test_a_missing_font_is_refused_naming_the_setting_and_the_package(settings, tmp_path):
    settings.LAOJIAN_DOCUMENT_FONT = str(tmp_path / "no-such-font.ttc")

    with pytest.raises(DocumentFontMissing) as caught:
        render(letter())

    assert "LAOJIAN_DOCUMENT_FONT" in caught.value.message
    assert "fonts-noto-cjk" in caught.value.message


def test_the_qr_code_reads_back_as_the_verification_address(tmp_path):
    """Decode the printed QR code from the page image, as a phone camera would."""
    import zxingcpp
    from PIL import Image

    url = "http://127.0.0.1:8000/v/ABCDEFGHJK/"
    source = tmp_path / "letter.pdf"
    source.write_bytes(render(letter(verify_url=url, verify_code="ABCDEFGHJK")))
    subprocess.run([tool("pdftoppm"), "-r", "150", "-png", "-singlefile", str(source), str(tmp_path / "page")],
                   check=True, capture_output=True)
    found = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert [code.text for code in found] == [url]
