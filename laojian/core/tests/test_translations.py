"""The Simplified Chinese catalogue is complete and compiled.

Regenerate it with ``cd laojian && ../.venv/bin/laojian makemessages -l zh_Hans --no-obsolete``,
translate every entry, then ``../.venv/bin/laojian compilemessages``.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LOCALE_DIR / "django.po"
MO = LOCALE_DIR / "django.mo"


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int | None, str] = field(default_factory=dict)
    obsolete: bool = False


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: enough for the files makemessages writes."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            current, target = None, None
            continue
        if current is None:
            current = Entry(line=number)
            entries.append(current)
        if line.startswith("#~"):
            current.obsolete = True
        elif line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            current.msgctxt, target = ast.literal_eval(line[8:]), ("msgctxt", None)
        elif line.startswith("msgid_plural "):
            current.msgid_plural, target = ast.literal_eval(line[13:]), ("msgid_plural", None)
        elif line.startswith("msgid "):
            current.msgid, target = ast.literal_eval(line[6:]), ("msgid", None)
        elif line.startswith("msgstr["):
            index = int(line[7 : line.index("]")])
            current.msgstr[index] = ast.literal_eval(line[line.index("]") + 1 :].strip())
            target = ("msgstr", index)
        elif line.startswith("msgstr "):
            current.msgstr[None], target = ast.literal_eval(line[7:]), ("msgstr", None)
        elif line.startswith('"') and target is not None:
            text = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += text
            else:
                setattr(current, name, getattr(current, name) + text)
        else:
            raise AssertionError(f"{path.name}:{number}: cannot read {raw!r}")
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO)


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    header = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(header) == 1, "the catalogue has exactly one header"
    return [e for e in entries if e is not header[0]]


def test_catalogue_is_not_trivially_small(messages):
    assert len(messages) >= 300


def test_header_is_not_fuzzy_and_declares_chinese(entries):
    header = next(e for e in entries if e.msgid == "")
    assert "fuzzy" not in header.flags
    assert "Language: zh_Hans\n" in header.msgstr[None]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header.msgstr[None]


def test_every_entry_is_translated_and_not_fuzzy(messages):
    problems = [
        f"line {e.line}: {e.msgid!r}"
        for e in messages
        if "fuzzy" in e.flags
        or e.obsolete
        or not e.msgstr
        or any(not text.strip() for text in e.msgstr.values())
    ]
    assert problems == []


def test_placeholders_survive_translation(messages):
    """Every named placeholder, with its conversion (``%(n)d``, ``%(s).1f``, ``{year}``), is kept."""
    placeholder = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifeEgGxXcr]|\{\w+\}")

    def names(text: str) -> set[str]:
        return set(placeholder.findall(text))

    problems = [
        f"line {e.line}: {e.msgid!r} -> {text!r}"
        for e in messages
        for text in e.msgstr.values()
        if names(text) != names(e.msgid) | names(e.msgid_plural or "")
    ]
    assert problems == []


def test_compiled_catalogue_matches_the_po(messages):
    """The .mo holds exactly the .po's translations (someone edited the .po without compiling)."""
    with MO.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for e in messages:
        if e.msgid_plural is None:
            got = compiled.gettext(e.msgid) if e.msgctxt is None else compiled.pgettext(e.msgctxt, e.msgid)
            want = e.msgstr[None]
        else:
            got = (
                compiled.ngettext(e.msgid, e.msgid_plural, 1)
                if e.msgctxt is None
                else compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 1)
            )
            want = e.msgstr[0]
        if got != want:
            stale.append(e.msgid)
    assert stale == [], "run `laojian compilemessages` in laojian/"


@pytest.mark.parametrize(
    "msgid, chinese",
    [
        ("Worklist", "待办案件"),
        ("Accept", "受理"),
        ("Reject", "不予受理"),
        ("Send correction notice", "发出补正通知"),
        ("Timeline", "办理过程"),
        ("Sign in", "登录"),
    ],
)
def test_gettext_under_zh_hans_returns_chinese(msgid, chinese):
    with translation.override("zh-hans"):
        assert translation.gettext(msgid) == chinese
    with translation.override("en"):
        assert translation.gettext(msgid) == msgid


def test_plural_messages_work_under_zh_hans():
    with translation.override("zh-hans"):
        text = translation.ngettext("%(days)s day left", "%(days)s days left", 3) % {"days": 3}
    assert text == "还剩 3 天"


def test_model_choices_use_the_glossary():
    from laojian.cases.models import Mode, Status

    with translation.override("zh-hans"):
        assert [str(label) for label in Mode.labels] == ["现场鉴定", "鉴定门诊", "上门鉴定", "远程鉴定"]
        assert str(Status.REJECTED.label) == "不予受理"
        assert str(Status.ARCHIVED.label) == "已归档"
