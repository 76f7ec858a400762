"""The monthly or annual report as an A4 PDF: heading, summary paragraphs, then ruled tables.

Drawn with fpdf2 like the official letters, and with their font machinery
(``documents.pdf``): the installed CJK face is opened once per process and each document embeds a
small TrueType font of exactly its own characters. Lines are broken here, by the Chinese rules.

Deterministic: the creation date (document info and XMP metadata, and so the file ID) is the fixed
date the caller passes, never "now": the same report gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from laojian.documents.pdf import FontedPages, FontSource, font_source
from laojian.reports.tables import COUNT, DAYS, SHARE, Table

PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 18.0, 18.0, 18.0, 20.0
TEXT_W = PAGE_W - LEFT - RIGHT
PT = 25.4 / 72
TITLE_PT, BODY_PT, HEAD_PT, CELL_PT, SMALL_PT = 17.0, 11.0, 12.5, 9.0, 8.0
TITLE_LH, BODY_LH, HEAD_LH, CELL_LH, SMALL_LH = 9.0, 6.6, 8.0, 4.6, 4.2
CELL_PAD = 1.5
NUMBER_W_MAX, FIRST_W_MIN = 24.0, 40.0
HEADER_GREY = (231, 236, 242)
INDENT = "\u3000\u3000"
ALWAYS_CHARS = "0123456789.%–-/ " + INDENT


@dataclass(frozen=True)
class Document:
    title: str
    committees: tuple[str, ...]
    period: str
    paragraphs: tuple[str, ...]
    tables: tuple[Table, ...]
    created: dt.datetime  # naive: local time (Asia/Shanghai)


def cell_text(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == SHARE:
        return f"{value * 100:.1f}%"
    if kind in (COUNT, DAYS):
        return str(value)
    return str(value)


def page_label(n: int, total: int) -> str:
    return _("Page %(n)s of %(total)s") % {"n": n, "total": total}


def _all_text(doc: Document) -> str:
    parts = [doc.title, doc.period, ALWAYS_CHARS, page_label(0, 0), _("None in this period."), *doc.committees,
             *doc.paragraphs]
    for table in doc.tables:
        parts += [table.title, table.note, *(c.label for c in table.columns)]
        for row in (*table.rows, *((table.total,) if table.total else ())):
            parts += [cell_text(v, c.kind) for v, c in zip(row, table.columns, strict=False)]
    return "".join(parts)


def _xmp(doc: Document, created: dt.datetime) -> str:
    """PDF/A-2B metadata with fixed dates (fpdf2's own XMP stamps the modification time as now)."""
    stamp = created.isoformat(timespec="seconds")
    return "\n".join([
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="fpdf2">',
        '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
        '    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
        '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
        f'    <rdf:Description rdf:about="" xmp:CreatorTool="Laojian" xmp:CreateDate="{stamp}"',
        f'        xmp:ModifyDate="{stamp}" xmp:MetadataDate="{stamp}">',
        "      <pdfaid:part>2</pdfaid:part>",
        "      <pdfaid:conformance>B</pdfaid:conformance>",
        f'      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(doc.title)}</rdf:li></rdf:Alt></dc:title>',
        "      <dc:creator><rdf:Seq>"
        + "".join(f"<rdf:li>{escape(name)}</rdf:li>" for name in doc.committees)
        + "</rdf:Seq></dc:creator>",
        "    </rdf:Description>",
        "  </rdf:RDF>",
        "</x:xmpmeta>",
    ])


def render(doc: Document) -> bytes:
    """The report as PDF bytes; raises ``documents.pdf.DocumentFontMissing`` without the CJK font."""
    source = font_source()
    with tempfile.TemporaryDirectory(prefix="laojian-report-") as tmp:
        font_path = os.path.join(tmp, "report.ttf")
        with open(font_path, "wb") as f:
            f.write(source.document_font(_all_text(doc)))
        layout = _Layout(doc, font_path, source)
        layout.draw()
        return bytes(layout.pdf.output())


class _Layout(FontedPages):
    trim_spaces = True  # a table cell never starts with the space its line broke at

    def __init__(self, doc: Document, font_path: str, source: FontSource):
        self.doc, self.source = doc, source
        created = timezone.make_aware(doc.created) if timezone.is_naive(doc.created) else doc.created
        pdf = FPDF(orientation="P", unit="mm", format="A4", enforce_compliance="PDF/A-2B")
        pdf.set_auto_page_break(False)
        pdf.set_margins(LEFT, TOP, RIGHT)
        pdf.add_font("laojian", fname=font_path)
        ttfont = getattr(pdf.fonts.get("laojian"), "ttfont", None)
        if ttfont is not None:
            ttfont.recalcBBoxes = False
        pdf.set_title(doc.title)
        pdf.set_author("、".join(doc.committees))
        pdf.set_creator("Laojian")
        pdf.set_lang("zh-CN")
        pdf.set_creation_date(created)
        pdf.set_xmp_metadata(_xmp(doc, created))
        self.pdf = pdf
        self.size = 0.0
        self.y = TOP
        self.pdf.add_page()

    # primitives ---------------------------------------------------------------------------------

    def _room(self, height: float) -> bool:
        return self.y + height <= PAGE_H - BOTTOM + 0.01

    def _new_page(self) -> None:
        self.pdf.add_page()
        self.y = TOP

    def _text(self, text: str, x: float, height: float) -> None:
        if text:
            self.pdf.text(x, self.y + height / 2 + 0.36 * self.size * PT, text)

    def _lines(self, text: str, size: float, height: float, *, x: float = LEFT, width: float = TEXT_W,
               centred: bool = False) -> None:
        self._font(size)
        for line in self._wrap(text, width):
            if not self._room(height):
                self._new_page()
            dx = (width - self._width(line)) / 2 if centred else 0.0
            self._text(line, x + dx, height)
            self.y += height

    # the report ---------------------------------------------------------------------------------
    def draw(self) -> None:
        doc, pdf = self.doc, self.pdf
        self._lines(doc.title, TITLE_PT, TITLE_LH, centred=True)
        self.y += 1
        for name in doc.committees:
            self._lines(name, BODY_PT, BODY_LH, centred=True)
        self._lines(doc.period, BODY_PT, BODY_LH, centred=True)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.4)
        pdf.line(LEFT, self.y + 1.5, PAGE_W - RIGHT, self.y + 1.5)
        self.y += 5
        for paragraph in doc.paragraphs:
            self._lines(INDENT + paragraph, BODY_PT, BODY_LH)
            self.y += 1
        for table in doc.tables:
            self._table(table)
        self._page_numbers()

    def _column_widths(self, table: Table) -> list[float]:
        numbers = len(table.columns) - 1
        number_w = min(NUMBER_W_MAX, (TEXT_W - FIRST_W_MIN) / max(numbers, 1))
        return [TEXT_W - number_w * numbers] + [number_w] * numbers

    def _row_lines(self, cells: Sequence[str], widths: Sequence[float]) -> list[list[str]]:
        self._font(CELL_PT)
        return [self._wrap(text, w - 2 * CELL_PAD) for text, w in zip(cells, widths, strict=True)]

    def _row(self, cells: list[list[str]], widths: Sequence[float], *, header: bool = False,
             numeric_from: int = 1) -> None:
        pdf = self.pdf
        height = max(len(c) for c in cells) * CELL_LH + 2 * CELL_PAD - 1
        x = LEFT
        pdf.set_line_width(0.2)
        pdf.set_fill_color(*HEADER_GREY)
        for i, (lines, w) in enumerate(zip(cells, widths, strict=True)):
            pdf.rect(x, self.y, w, height, style="DF" if header else "D")
            for n, line in enumerate(lines):
                top = self.y + CELL_PAD - 0.5 + n * CELL_LH
                right = i >= numeric_from and not header
                tx = x + w - CELL_PAD - self._width(line) if right else x + CELL_PAD
                pdf.text(tx, top + CELL_LH / 2 + 0.36 * self.size * PT, line)
            x += w
        self.y += height

    @staticmethod
    def _height(cells: list[list[str]]) -> float:
        return max(len(c) for c in cells) * CELL_LH + 2 * CELL_PAD - 1

    def _table(self, table: Table) -> None:
        widths = self._column_widths(table)
        header = self._row_lines([c.label for c in table.columns], widths)
        body = [self._row_lines([cell_text(v, c.kind) for v, c in zip(row, table.columns, strict=False)], widths)
                for row in table.rows]
        if table.total is not None:
            body.append(self._row_lines([cell_text(v, c.kind) for v, c in zip(table.total, table.columns,
                                                                                strict=False)], widths))
        first = self._height(body[0]) if body else 0.0
        self.y += 3
        if not self._room(HEAD_LH + self._height(header) + first):
            self._new_page()
        self._lines(table.title, HEAD_PT, HEAD_LH)
        if table.note:
            self.pdf.set_text_color(90, 90, 90)
            self._lines(table.note, SMALL_PT, SMALL_LH)
            self.pdf.set_text_color(0, 0, 0)
            self.y += 0.5
        if not body:
            self._lines(_("None in this period."), CELL_PT, CELL_LH + 1)
            return
        self._font(CELL_PT)
        self._row(header, widths, header=True)
        for cells in body:
            if not self._room(self._height(cells)):
                self._new_page()
                self._font(CELL_PT)
                self._row(header, widths, header=True)
            self._font(CELL_PT)
            self._row(cells, widths)

    def _page_numbers(self) -> None:
        pdf = self.pdf
        total = pdf.page
        for n in range(1, total + 1):
            pdf.page = n
            self._font(SMALL_PT)
            pdf.set_text_color(80, 80, 80)
            text = page_label(n, total)
            pdf.text(LEFT + (TEXT_W - self._width(text)) / 2, PAGE_H - BOTTOM + 10, text)
            pdf.set_text_color(0, 0, 0)
