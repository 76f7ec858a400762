"""Official letters as A4 PDF: layout after GB/T 9704 (title, number, red rule, body, committee, date, seal).

Pure: no models, no database. The documents app builds a ``Letter`` and stores what ``render`` returns.

Why the font is handled here and not by fpdf2 alone: Noto Serif CJK is a 20 MB collection of CFF
outlines, and fontTools needs ~0.15 s to parse it and ~1 ms per glyph to subset CFF, on every
document. So the collection is opened once per process, each glyph a document needs is converted
once to a TrueType outline (quadratic, within one font unit of the original) and kept, and each
document gets a small TrueType font made of exactly its own characters. fpdf2 then embeds and
subsets that small font as usual, through its public ``add_font``.
"""

from __future__ import annotations

import datetime
import io
import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import segno
from django.conf import settings
from django.utils.translation import gettext as _
from fontTools import ttLib
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.basePen import BasePen
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import PathPaintRule

from laojian.core.errors import ApplicationError

__all__ = ("DocumentFontMissing", "Letter", "chinese_date", "render")

# fontTools reports every subset it makes at INFO; one document is not news.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Letter:
    """Everything printed on one official letter; the documents app fills it from a template."""

    committee_name: str
    title: str
    number: str
    issued_on: datetime.date
    paragraphs: tuple[str, ...]
    recipient: str = ""
    rows: tuple[tuple[str, str], ...] = ()
    verify_url: str = ""
    verify_code: str = ""
    copy: bool = False
    footer: str = ""


class DocumentFontMissing(ApplicationError):
    """The CJK font is not installed: documents cannot be rendered with their text embedded."""

    code = "document_font_missing"


# PAGE LAYOUT (mm, after GB/T 9704-2012: 156 x 225 mm text area, 3号 body, 2号 title) --------------
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT, TOP, BOTTOM = 28.0, 26.0, 37.0, 35.0
TEXT_W = PAGE_W - LEFT - RIGHT
BODY_PT, TITLE_PT, SMALL_PT, SEAL_PT = 16.0, 22.0, 10.5, 9.0
BODY_LH, TITLE_LH, SMALL_LH = 9.6, 12.0, 5.0
PT = 25.4 / 72  # mm per point
RED = (200, 16, 16)
SEAL_R = 20.0  # a committee's seal is 40-42 mm across
QR_SIZE = 24.0
INDENT = "\u3000\u3000"  # the customary two-character first-line indent, as text so that it copies too

# Chinese line breaking: never start a line with closing punctuation (it hangs into the margin
# instead), never end one with opening punctuation, keep Latin words and numbers whole (unless longer than a line).
NO_LINE_START = frozenset("，。、；：？！）》」』〕】〗”’·…—％,.;:?!)]}%")
NO_LINE_END = frozenset("（《「『〔【〖“‘([{")
# Printed on every letter whatever the committee's language setting: the letter itself is Chinese.
VERIFY_HINT = "扫描二维码或访问以下网址，核验本文书真伪："
VERIFY_LABEL = "验证码："
ALWAYS_CHARS = "0123456789 第页共副本（）：" + "\u3000"

CN_DIGITS = "〇一二三四五六七八九"


def _latin(ch: str) -> bool:
    """Part of a Latin word or number (GB/T, 16180-2014, 5.9.2.3), which a line break must not split."""
    return ch.isascii() and ch.isprintable() and not ch.isspace()


def wrap_text(text: str, width: float, measure: Callable[[str], float], *, first_width: float | None = None,
              trim_spaces: bool = False) -> list[str]:
    """Lines of at most ``width`` (in ``measure``'s unit; the first line ``first_width`` when given):
    closing punctuation never starts a line (it may hang past the width), opening punctuation never
    ends one, Latin words and numbers stay whole. ``trim_spaces`` drops a space where a line breaks."""
    lines: list[str] = []
    for part in text.split("\n"):
        line: list[str] = []
        used = 0.0
        avail = first_width if first_width is not None and not lines else width
        for ch in part:
            w = measure(ch)
            if line and used + w > avail + 0.01 and ch not in NO_LINE_START:
                carry: list[str] = []
                while line and line[-1] in NO_LINE_END:
                    carry.insert(0, line.pop())
                if _latin(ch):
                    start = len(line)
                    while start > 0 and _latin(line[start - 1]):
                        start -= 1
                    if start > 0:
                        carry = line[start:] + carry
                        del line[start:]
                lines.append("".join(line).rstrip(" ") if trim_spaces else "".join(line))
                line, used, avail = carry, measure("".join(carry)), width
                if trim_spaces and ch == " " and not line:
                    continue
            line.append(ch)
            used += w
        lines.append("".join(line))
    return lines


def chinese_date(day: datetime.date) -> str:
    """二〇二六年十一月二十八日: the form official documents print their date in."""
    year = "".join(CN_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_cn_number(day.month)}月{_cn_number(day.day)}日"


def _cn_number(n: int) -> str:
    """1–31 in Chinese numerals: 十, 十一, 二十, 三十一."""
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")
    return head + (CN_DIGITS[units] if units else "")


# FONT ----------------------------------------------------------------------------------------------

class _Converted(NamedTuple):
    """One glyph as TrueType: the outline (for drawing) and its compiled bytes (for embedding)."""

    glyph: Glyph
    data: bytes
    advance: int
    lsb: int
    box: tuple[int, int, int, int] | None  # None: no outline (a space)
    points: int
    contours: int


class FontSource:
    """One face of the installed collection, opened once, with its glyphs converted on first use."""

    def __init__(self, path: str, index: int):
        try:
            self.font = ttLib.TTFont(path, fontNumber=index, lazy=True, recalcTimestamp=False)
            self.cmap: dict[int, str] = self.font.getBestCmap()
            self.glyph_set = self.font.getGlyphSet()
            self.hmtx = self.font["hmtx"].metrics
        except (OSError, ttLib.TTLibError, KeyError, IndexError) as exc:
            raise DocumentFontMissing(_font_message(path)) from exc
        self.head = self.font["head"]
        self.hhea = self.font["hhea"]
        self.os2 = self.font["OS/2"]
        self.post = self.font["post"]
        self.names = {rec: self.font["name"].getDebugName(rec) or "" for rec in (0, 1, 2, 3, 4, 5, 6, 13, 14)}
        self.units_per_em = self.head.unitsPerEm
        self.lock = threading.Lock()  # fontTools' lazy tables read from one shared file handle
        self.glyphs: dict[str, _Converted] = {}
        self.advances: dict[str, float] = {}  # character -> advance in em, for line breaking

    def advance(self, ch: str) -> float:
        """Advance width of ``ch`` in em (0 for a character the face lacks: it prints nothing)."""
        width = self.advances.get(ch)
        if width is None:
            name = self.cmap.get(ord(ch))
            width = self.advances[ch] = self.hmtx[name][0] / self.units_per_em if name else 0.0
        return width

    def ensure(self, names: Iterable[str]) -> None:
        """Convert the glyphs not yet converted; each glyph is converted once per process."""
        todo = [n for n in names if n not in self.glyphs]
        if not todo:
            return
        with self.lock:
            for name in todo:
                if name in self.glyphs:
                    continue
                pen = TTGlyphPen(None)
                self.glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
                glyph = pen.glyph()
                glyph.recalcBounds(None)
                contours = max(glyph.numberOfContours, 0)
                box = (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax) if contours else None
                self.glyphs[name] = _Converted(
                    glyph=glyph, data=glyph.compile(None), advance=self.hmtx[name][0],
                    lsb=box[0] if box else 0, box=box,
                    points=len(glyph.coordinates) if contours else 0, contours=contours,
                )

    def document_font(self, chars: Iterable[str]) -> bytes:
        """A TrueType font with .notdef and exactly these characters (those the face has).

        Assembled from the converted glyphs' compiled bytes with every derived value (bounding
        boxes, extents, maxima) computed here, so neither this save nor fpdf2's subset has to
        decompile and recompile each outline again.
        """
        cmap = {ord(c): self.cmap[ord(c)] for c in set(chars) if ord(c) in self.cmap}
        names = [".notdef", *sorted(set(cmap.values()) - {".notdef"})]
        self.ensure(names)
        conv = [self.glyphs[n] for n in names]
        boxes = [c.box for c in conv if c.box] or [(0, 0, 0, 0)]
        inked = [c for c in conv if c.box] or conv[:1]
        fb = FontBuilder(self.units_per_em, isTTF=True)
        fb.font.recalcBBoxes = False
        fb.setupGlyphOrder(names)
        fb.setupCharacterMap(cmap)
        glyf = ttLib.newTable("glyf")
        glyf.glyphOrder = names
        glyf.glyphs = {n: Glyph(c.data) for n, c in zip(names, conv, strict=True)}
        fb.font["glyf"] = glyf
        fb.font["loca"] = ttLib.newTable("loca")
        maxp = fb.font["maxp"]
        maxp.maxPoints = max(c.points for c in conv)
        maxp.maxContours = max(c.contours for c in conv)
        fb.setupHorizontalMetrics({n: (c.advance, c.lsb) for n, c in zip(names, conv, strict=True)})
        fb.setupHorizontalHeader(
            ascent=self.hhea.ascent, descent=self.hhea.descent, lineGap=self.hhea.lineGap,
            advanceWidthMax=max(c.advance for c in conv),
            minLeftSideBearing=min(c.lsb for c in inked),
            minRightSideBearing=min(c.advance - c.box[2] for c in inked) if inked[0].box else 0,
            xMaxExtent=max(c.box[2] for c in inked) if inked[0].box else 0,
        )
        os2 = self.os2
        fb.setupOS2(
            usWeightClass=os2.usWeightClass, usWidthClass=os2.usWidthClass, fsType=os2.fsType,
            sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
            sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent,
            sxHeight=getattr(os2, "sxHeight", 0), sCapHeight=getattr(os2, "sCapHeight", 0),
            yStrikeoutSize=os2.yStrikeoutSize, yStrikeoutPosition=os2.yStrikeoutPosition,
            achVendID=os2.achVendID, ulUnicodeRange1=os2.ulUnicodeRange1, ulUnicodeRange2=os2.ulUnicodeRange2,
            ulCodePageRange1=os2.ulCodePageRange1,
            xAvgCharWidth=round(sum(c.advance for c in conv if c.advance) / max(1, sum(1 for c in conv if c.advance))),
            usFirstCharIndex=min(min(cmap, default=0), 0xFFFF), usLastCharIndex=min(max(cmap, default=0), 0xFFFF),
        )
        fb.setupPost(keepGlyphNames=False, underlinePosition=self.post.underlinePosition,
                     underlineThickness=self.post.underlineThickness)
        n = self.names
        fb.setupNameTable({
            "copyright": n[0], "familyName": n[1], "styleName": n[2], "uniqueFontIdentifier": n[3],
            "fullName": n[4], "version": n[5], "psName": n[6], "licenseDescription": n[13],
            "licenseInfoURL": n[14],
        }, mac=False)
        fb.updateHead(created=self.head.created, modified=self.head.modified,
                      fontRevision=self.head.fontRevision,
                      xMin=min(b[0] for b in boxes), yMin=min(b[1] for b in boxes),
                      xMax=max(b[2] for b in boxes), yMax=max(b[3] for b in boxes))
        out = io.BytesIO()
        fb.save(out)
        return out.getvalue()


_sources: dict[tuple[str, int], FontSource] = {}
_sources_lock = threading.Lock()


def _font_message(path: str) -> str:
    return _(
        "The document font {path} (setting LAOJIAN_DOCUMENT_FONT) is missing or unreadable: "
        "install the Debian package fonts-noto-cjk, or point LAOJIAN_DOCUMENT_FONT and "
        "LAOJIAN_DOCUMENT_FONT_INDEX at a CJK font."
    ).format(path=path)


def font_source() -> FontSource:
    """The configured face, parsed once per process (and again only if the setting changes)."""
    path = str(settings.LAOJIAN_DOCUMENT_FONT)
    index = int(settings.LAOJIAN_DOCUMENT_FONT_INDEX)
    if not os.path.isfile(path):
        raise DocumentFontMissing(_font_message(path))
    key = (path, index)
    source = _sources.get(key)
    if source is None:
        with _sources_lock:
            source = _sources.get(key) or FontSource(path, index)
            _sources[key] = source
    return source


# RENDERING ---------------------------------------------------------------------------------------

def render(letter: Letter) -> bytes:
    """The letter as an A4 PDF with its own font subset embedded; identical input gives identical
    bytes except for the creation date (and the file ID derived from it)."""
    source = font_source()
    qr = segno.make(letter.verify_url, error="m") if letter.verify_url else None
    with tempfile.TemporaryDirectory(prefix="laojian-pdf-") as tmp:
        font_path = os.path.join(tmp, "document.ttf")
        with open(font_path, "wb") as f:
            f.write(source.document_font(_all_text(letter)))
        layout = _Layout(letter, font_path, source)
        layout.draw(qr)
        return bytes(layout.pdf.output())


def _all_text(letter: Letter) -> str:
    """Every character the letter can print, so the document's font has all of them."""
    parts = [letter.committee_name, letter.title, letter.number, letter.recipient, letter.footer,
             letter.verify_url, letter.verify_code, chinese_date(letter.issued_on), ALWAYS_CHARS,
             VERIFY_HINT, VERIFY_LABEL,
             *letter.paragraphs]
    parts.extend(label + value for label, value in letter.rows)
    return "".join(parts)


class FontedPages:
    """The text primitives of a layout on an ``FPDF`` with the committee's face registered as
    "laojian": ``pdf``, ``source`` (a ``FontSource``) and the current ``size`` are set by the layout."""

    pdf: FPDF
    source: FontSource
    size: float
    trim_spaces = False  # drop a space where a line breaks

    def _font(self, size: float) -> None:
        if size != self.size:
            self.pdf.set_font("laojian", size=size)
            self.size = size

    def _width(self, text: str) -> float:
        advance = self.source.advance
        return sum(advance(ch) for ch in text) * self.size * PT

    def _wrap(self, text: str, width: float, first_width: float | None = None) -> list[str]:
        """Break into lines of at most ``width`` mm (closing punctuation may hang past it)."""
        return wrap_text(text, width, self._width, first_width=first_width, trim_spaces=self.trim_spaces)


class _Layout(FontedPages):
    """Draws one letter: lines are broken here (Chinese rules), fpdf2 only places text and shapes."""

    def __init__(self, letter: Letter, font_path: str, source: FontSource):
        self.letter = letter
        self.source = source
        pdf = FPDF(orientation="P", unit="mm", format="A4", enforce_compliance="PDF/A-2B")
        pdf.set_auto_page_break(False)
        pdf.set_margins(LEFT, TOP, RIGHT)
        pdf.add_font("laojian", fname=font_path)
        # The document font's bounding boxes and maxima are exact already (see document_font):
        # spare fpdf2's subset from recomputing them, which means recompiling every outline.
        ttfont = getattr(pdf.fonts.get("laojian"), "ttfont", None)
        if ttfont is not None:
            ttfont.recalcBBoxes = False
        title = letter.title + ("（副本）" if letter.copy else "")
        pdf.set_title(title)
        pdf.set_author(letter.committee_name)
        pdf.set_subject(letter.number)
        pdf.set_creator("Laojian")
        pdf.set_lang("zh-CN")
        if letter.copy:
            pdf.set_keywords("副本")
        self.pdf = pdf
        self.size = 0.0
        self.y = TOP
        self._new_page()

    # primitives ---------------------------------------------------------------------------------
    def _new_page(self) -> None:
        self.pdf.add_page()
        self.y = TOP

    def _line(self, text: str, x: float, height: float, *, advance: bool = True) -> None:
        """One line of text in a box of ``height`` at self.y; a new page first when it does not fit."""
        if self.y + height > PAGE_H - BOTTOM + 0.01:
            self._new_page()
        if text:
            self.pdf.text(x, self.y + height / 2 + 0.36 * self.size * PT, text)
        if advance:
            self.y += height

    def _centred(self, text: str, size: float, height: float) -> None:
        self._font(size)
        for line in self._wrap(text, TEXT_W):
            self._line(line, LEFT + (TEXT_W - self._width(line)) / 2, height)

    # the letter ---------------------------------------------------------------------------------
    def draw(self, qr: segno.QRCode | None) -> None:
        letter, pdf = self.letter, self.pdf
        self._centred(letter.title, TITLE_PT, TITLE_LH)
        self.y += 3
        if letter.number:
            self._centred(letter.number, BODY_PT, BODY_LH)
        pdf.set_draw_color(*RED)
        pdf.set_line_width(0.5)
        pdf.line(LEFT, self.y + 2, PAGE_W - RIGHT, self.y + 2)
        self.y += 8
        self._font(BODY_PT)
        if letter.recipient:
            for line in self._wrap(letter.recipient, TEXT_W):
                self._line(line, LEFT, BODY_LH)
        if letter.rows:
            self._table(letter.rows)
        for paragraph in letter.paragraphs:
            for line in self._wrap(INDENT + paragraph.strip(), TEXT_W):
                self._line(line, LEFT, BODY_LH)
        self._signature()
        if qr is not None:
            self._verification(qr)
        self._page_furniture()

    def _table(self, rows: tuple[tuple[str, str], ...]) -> None:
        """Label/value rows in a ruled two-column table; a row never splits across pages."""
        pdf = self.pdf
        self._font(BODY_PT)
        label_w = max(self._width(label) for label, _v in rows) + 2 * BODY_PT * PT
        label_w = min(label_w, TEXT_W / 2)
        value_w = TEXT_W - label_w
        row_lh = BODY_LH - 1.2
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.25)
        self.y += 1
        for label, value in rows:
            labels = self._wrap(label, label_w - 4)
            values = self._wrap(value, value_w - 4)
            height = max(len(labels), len(values)) * row_lh + 2
            if self.y + height > PAGE_H - BOTTOM:
                self._new_page()
            top = self.y
            pdf.rect(LEFT, top, label_w, height)
            pdf.rect(LEFT + label_w, top, value_w, height)
            for i, line in enumerate(labels):
                self.y = top + 1 + i * row_lh
                self._line(line, LEFT + 2, row_lh, advance=False)
            for i, line in enumerate(values):
                self.y = top + 1 + i * row_lh
                self._line(line, LEFT + label_w + 2, row_lh, advance=False)
            self.y = top + height
        self.y += 4

    def _signature(self) -> None:
        """Committee and date, right-aligned four characters in, with the seal over them."""
        letter = self.letter
        self._font(BODY_PT)
        em = BODY_PT * PT
        date = chinese_date(letter.issued_on)
        date_right = PAGE_W - RIGHT - 4 * em
        date_w = self._width(date)
        centre_x = date_right - date_w / 2
        names = self._wrap(letter.committee_name, TEXT_W - 4 * em)
        block = (len(names) + 1) * BODY_LH
        # The seal must not cover body text: its top stays below the last line.
        centre_y = self.y + SEAL_R + 2
        top = centre_y - block / 2
        if centre_y + max(SEAL_R, block / 2) > PAGE_H - BOTTOM:
            self._new_page()
            centre_y = self.y + SEAL_R + 2
            top = centre_y - block / 2
        self.y = top
        for line in names:
            x = min(centre_x - self._width(line) / 2, PAGE_W - RIGHT - self._width(line))
            self._line(line, x, BODY_LH)
        self._line(date, date_right - date_w, BODY_LH)
        self._seal(centre_x, centre_y)
        self.y = max(self.y, centre_y + SEAL_R) + 4

    def _seal(self, cx: float, cy: float) -> None:
        """The seal area: a red ring with the committee's name along its upper arc and a star."""
        pdf, name = self.pdf, self.letter.committee_name.replace("\n", "")
        pdf.set_draw_color(*RED)
        pdf.set_fill_color(*RED)
        pdf.set_text_color(*RED)
        pdf.set_line_width(0.9)
        pdf.circle(cx, cy, SEAL_R)
        star = [(cx + r * math.sin(math.radians(36 * i)), cy - r * math.cos(math.radians(36 * i)))
                for i, r in zip(range(10), [5.5, 2.2] * 5, strict=True)]
        pdf.polygon(star, style="F")
        if name:
            # Drawn as outlines, like a real seal's image: the name is already in the text once, and
            # seal lettering mixed into the text would garble what search and copy-paste see.
            size = SEAL_PT if len(name) <= 16 else SEAL_PT * 16 / len(name)
            radius = SEAL_R - 1.2 - size * PT
            span = min(240.0, 18.0 * len(name))
            step = span / max(len(name) - 1, 1)
            path = PaintedPath()
            path.style.fill_color = "#{:02x}{:02x}{:02x}".format(*RED)
            path.style.stroke_color = None
            path.style.paint_rule = PathPaintRule.FILL_NONZERO
            for i, ch in enumerate(name):
                angle = -span / 2 + i * step if len(name) > 1 else 0.0
                px = cx + radius * math.sin(math.radians(angle))
                py = cy - radius * math.cos(math.radians(angle))
                self._outline(path, ch, px, py, angle, size)
            pdf.draw_path(path, copy=False)
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(0, 0, 0)

    def _outline(self, path: PaintedPath, ch: str, px: float, py: float, angle: float, size: float) -> None:
        """Add the glyph of ``ch``, centred on (px, py) and turned ``angle`` degrees clockwise."""
        source = self.source
        glyph_name = source.cmap.get(ord(ch))
        if glyph_name is None:
            return
        source.ensure([glyph_name])
        glyph, advance = source.glyphs[glyph_name].glyph, source.glyphs[glyph_name].advance
        k = size * PT / source.units_per_em
        sin, cos = math.sin(math.radians(angle)), math.cos(math.radians(angle))
        shift_x, shift_y = advance * k / 2, 0.36 * size * PT

        def place(point: tuple[float, float]) -> tuple[float, float]:
            lx, ly = point[0] * k - shift_x, shift_y - point[1] * k
            return px + lx * cos - ly * sin, py + lx * sin + ly * cos

        glyph.draw(_PathPen(path, place), None)

    def _verification(self, qr: segno.QRCode) -> None:
        """The QR code at the foot of the last page, clickable, with the short code beside it."""
        pdf, letter = self.pdf, self.letter
        top = PAGE_H - BOTTOM - QR_SIZE
        if self.y > top - 2:
            self._new_page()
        matrix = qr.matrix
        module = QR_SIZE / len(matrix)
        pdf.set_fill_color(0, 0, 0)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):
                if row[c]:
                    start = c
                    while c < len(row) and row[c]:
                        c += 1
                    pdf.rect(LEFT + start * module, top + r * module, (c - start) * module, module, style="F")
                else:
                    c += 1
        pdf.link(LEFT, top, QR_SIZE, QR_SIZE, letter.verify_url)
        x = LEFT + QR_SIZE + 4
        width = TEXT_W - QR_SIZE - 4
        self.y = top + 1
        self._font(SMALL_PT)
        lines = self._wrap(VERIFY_HINT, width)
        lines += self._wrap(letter.verify_url, width)
        for line in lines:
            self._line(line, x, SMALL_LH)
        if letter.verify_code:
            self._font(BODY_PT)
            self.y += 1
            self._line(VERIFY_LABEL + letter.verify_code, x, BODY_LH)

    def _page_furniture(self) -> None:
        """Footer, page number and the copy mark, drawn on every page once the page count is known."""
        pdf, letter = self.pdf, self.letter
        total = pdf.page
        for n in range(1, total + 1):
            pdf.page = n
            self._font(SMALL_PT)
            pdf.set_text_color(80, 80, 80)
            baseline = PAGE_H - BOTTOM + 10
            page_text = f"第 {n} 页 共 {total} 页"
            if letter.footer:
                footer = self._wrap(letter.footer, TEXT_W * 0.65)[0]
                pdf.text(LEFT, baseline, footer)
                pdf.text(PAGE_W - RIGHT - self._width(page_text), baseline, page_text)
            else:
                pdf.text(LEFT + (TEXT_W - self._width(page_text)) / 2, baseline, page_text)
            pdf.set_text_color(0, 0, 0)
            if letter.copy:
                self._copy_mark()

    def _copy_mark(self) -> None:
        pdf = self.pdf
        self._font(18)
        w = self._width("副本") + 6
        x, y = PAGE_W - RIGHT - w, 14.0
        pdf.set_draw_color(*RED)
        pdf.set_text_color(*RED)
        pdf.set_line_width(0.6)
        pdf.rect(x, y, w, 11)
        pdf.text(x + 3, y + 5.5 + 0.36 * 18 * PT, "副本")
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(0, 0, 0)



class _PathPen(BasePen):
    """A fontTools pen that adds a glyph's contours to an fpdf2 path, through ``place``."""

    def __init__(self, path: PaintedPath, place):
        super().__init__(None)
        self.path, self.place = path, place

    def _moveTo(self, pt):
        self.path.move_to(*self.place(pt))

    def _lineTo(self, pt):
        self.path.line_to(*self.place(pt))

    def _curveToOne(self, pt1, pt2, pt3):
        self.path.curve_to(*self.place(pt1), *self.place(pt2), *self.place(pt3))

    def _qCurveToOne(self, pt1, pt2):
        self.path.quadratic_curve_to(*self.place(pt1), *self.place(pt2))

    def _closePath(self):
        self.path.close()
