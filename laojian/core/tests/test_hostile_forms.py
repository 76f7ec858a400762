"""Hostile input through every form of the site (issue 10; scenario 7 of §2.7 of the security reference).

Generated from the permission matrix (``laojian/core/permission_matrix.toml``) and its world
(``matrix_world``): every GET page of the matrix is opened as each role principal the matrix allows,
every ``<form method="post">`` in it is parsed, and every free-text field (input text/search/email/
tel/url/password-less, textarea) is filled with a string of the corpus (``hostile.HOSTILE``, rotated
across fields and rounds); hidden fields, selects (a valid option), radios, checkboxes keep what the
page gives, the matrix's ``data`` fills the rest, file inputs get a small PDF whose *file name* is
hostile. The form is posted to its action, a second round with other strings, and a third where the
fields the form refused are given back their matrix or default value (so the form can succeed).

Checked for every response: no 5xx; no markup of the corpus raw in an HTML body; no header carries a
line break or a ``Set-Cookie`` from the corpus. Round trip: each value sent carries a unique suffix
(``~h<n>``); after a successful POST (a redirect) the target page and the form's page are fetched,
and wherever a suffix appears, the whole value must appear there escaped and unchanged (line breaks
may be shown as ``<br>``). Values stored but not shown on those two pages are not checked here.

A form posted once is not posted again from another page (same action and field names). Forms that
cannot be posted from the world for a principled reason are in ``NOT_POSTED`` with the reason.
"""

from __future__ import annotations

# ruff: noqa: F811  (the world fixture is imported and requested by name)
import html
import logging
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, resolve, reverse

from laojian.core.tests import matrix_world
from laojian.core.tests.hostile import HOSTILE
from laojian.core.tests.matrix_world import ROLE_PRINCIPALS
from laojian.core.tests.test_permission_matrix import (  # noqa: F401, F811  (world is a fixture)
    MATRIX,
    _client,
    _entry,
    _kwargs,
    _route,
    expected,
    world,
)

FREE_TEXT = {"text", "search", "email", "tel", "url", ""}
RAW_MARKUP = ("<script>alert('xss')</script>", "<img src=x onerror=")
# Forms the world cannot post, with the reason (by the action's URL name).
NOT_POSTED: dict[str, str] = {
    "logout": "signs the principal out; its only field is the CSRF token (no free text)",
    "set_language": "its only input is a select of languages; the language cookie is checked elsewhere",
}
_counter = {"n": 0}
_posted: set[tuple[str, tuple[str, ...]]] = set()
STATS = {"forms": 0, "fields": 0, "posts": 0, "succeeded": 0, "shown": 0, "pages": 0}


# PARSING ------------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    enctype: str
    fields: list[dict] = field(default_factory=list)  # {"tag", "type", "name", "value", "options", ...}


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None
        self._button_taken = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = Form(a.get("action", ""), a.get("enctype", ""))
                self.forms.append(self._form)
                self._button_taken = False
            return
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                if not self._button_taken:
                    self._button_taken = True
                    self._form.fields.append({"tag": "button", "type": kind, "name": a["name"],
                                              "value": a.get("value", "")})
                return
            if kind == "reset":
                return
            self._form.fields.append({"tag": "input", "type": kind, "name": a["name"], "value": a.get("value", ""),
                                      "checked": "checked" in a})
        elif tag == "button" and a.get("type", "submit") == "submit" and not self._button_taken:
            self._button_taken = True
            if a.get("name"):
                self._form.fields.append({"tag": "button", "type": "submit", "name": a["name"],
                                          "value": a.get("value", "")})
        elif tag == "select" and a.get("name"):
            self._select = {"tag": "select", "type": "select", "name": a["name"], "options": [], "selected": [],
                            "multiple": "multiple" in a}
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
            if "selected" in a:
                self._select["selected"].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"tag": "textarea", "type": "textarea", "name": a["name"], "value": ""}
            self._form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


# CHECKS -------------------------------------------------------------------------------------------


def _renderings(value: str) -> set[str]:
    out = set()
    for text in (value, value.replace("\r\n", "\n"), value.strip()):
        for escaped in (html.escape(text), html.escape(text, quote=False)):
            out |= {escaped, escaped.replace("\n", "<br>"), escaped.replace("\r\n", "<br>"),
                    escaped.replace("\n", "<br>\n"), escaped.replace("\r\n", "<br>\n")}
    return out


def check_response(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    for name, value in response.items():
        assert "\r" not in value and "\n" not in value, f"{where}: header {name} carries a line break"
    assert "a=b" not in str(response.cookies), f"{where}: a cookie came from the input"
    if "html" in response.get("Content-Type", "") and not getattr(response, "streaming", False):
        body = response.content.decode(errors="replace")
        for raw in RAW_MARKUP:
            assert raw not in body, f"{where}: {raw!r} is in the page unescaped"


def check_shown(body: str, sent: dict[str, str], where: str) -> int:
    """Every sent value whose suffix appears in ``body`` appears there whole, escaped: the count shown."""
    shown = 0
    for value in sent.values():
        tag = value.rsplit("~", 1)[1]
        if f"~{tag}" not in body:
            continue
        assert any(r in body for r in _renderings(value)), (
            f"{where}: {value!r} is shown, but not as the same text: ...{_around(body, '~' + tag)}...")
        shown += 1
    return shown


def _around(body: str, needle: str) -> str:
    i = body.find(needle)
    return body[max(0, i - 120): i + 20]


# FILLING ------------------------------------------------------------------------------------------


def _next_hostile() -> str:
    _counter["n"] += 1
    return f"{HOSTILE[_counter['n'] % len(HOSTILE)]} ~h{_counter['n']}"


def _matrix_data(world, url_name: str) -> dict[str, str]:
    entry = _entry(url_name, "POST")
    return {k.format(**world.values): str(v).format(**world.values) for k, v in entry.get("data", {}).items()}


def fill(world, form: Form, url_name: str, *, keep: set[str]) -> tuple[dict, dict[str, str]]:
    """The POST data for one round: hostile text in the free-text fields (except ``keep``)."""
    given = _matrix_data(world, url_name)
    data: dict = {}
    sent: dict[str, str] = {}
    for f in form.fields:
        name, kind = f["name"], f["type"]
        if f["tag"] == "select":
            options = [o for o in f["options"] if o] or f["options"]
            choice = given.get(name) or (f["selected"] or options or [""])[0]
            data[name] = choice
        elif kind in ("checkbox", "radio"):
            if kind == "radio" and name not in data and (f["checked"] or name in given):
                data[name] = given.get(name, f["value"])
            elif kind == "checkbox" and f["checked"]:
                data.setdefault(name, [])
                if isinstance(data[name], list):
                    data[name].append(f["value"] or "on")
        elif kind == "file":
            data[name] = SimpleUploadedFile(_next_hostile().replace("/", "_") + ".pdf", matrix_world.PDF,
                                            content_type="application/pdf")
        elif f["tag"] == "textarea" or kind in FREE_TEXT:
            if name in keep:
                data[name] = given.get(name, f["value"])
            else:
                data[name] = sent[name] = _next_hostile()
        elif kind == "hidden" and name == "idempotency_key":
            data[name] = secrets.token_urlsafe(24)
        elif kind != "password":
            data[name] = given.get(name, f["value"]) if f["tag"] != "button" else f["value"]
        else:
            data[name] = given.get(name, "")
    for f in form.fields:  # a radio group none of whose buttons is checked: the first choice
        if f["type"] == "radio" and f["name"] not in data:
            data[f["name"]] = f["value"]
    return data, sent


def refused_fields(response) -> set[str]:
    """The HTML names of the fields a bound form in the response refused."""
    out: set[str] = set()
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            errors = getattr(value, "errors", None)
            if hasattr(value, "add_prefix") and isinstance(errors, dict):
                out |= {value.add_prefix(name) for name in errors if name != "__all__"}
    return out


# THE PAGES ----------------------------------------------------------------------------------------


def _get_pages() -> list[str]:
    return [name for name, entry in MATRIX["url"].items()
            if entry.get("method", "GET") == "GET" and not entry.get("untestable") and not entry.get("api")]


def _principals(url_name: str) -> list[str]:
    entry = _entry(url_name, "GET")
    return [p for p in ROLE_PRINCIPALS if expected(entry, p) in ("allow", "public")]


def _action_name(action: str) -> tuple[str | None, str]:
    path = urlsplit(action).path
    try:
        match = resolve(path)
    except Resolver404:
        return None, path
    return match.view_name, path


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", _get_pages())
def test_hostile_text_in_every_form_of_the_page(world, url_name, caplog):
    caplog.set_level(logging.DEBUG)
    route = _route(url_name)
    entry = _entry(url_name, "GET")
    page_url = reverse(url_name, kwargs=_kwargs(world, route, entry))
    if entry.get("query"):
        page_url += "?" + entry["query"]
    for principal in _principals(url_name):
        client = _client(world, principal)
        page = client.get(page_url)
        check_response(page, f"GET {page_url} as {principal}")
        if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
            continue
        STATS["pages"] += 1
        for form in forms_of(page.content.decode()):
            action_name, action_path = _action_name(urljoin(page_url, form.action or page_url))
            names = tuple(sorted(f["name"] for f in form.fields if f["name"] != "idempotency_key"))
            key = (action_name or action_path, names)
            if action_name in NOT_POSTED or key in _posted:
                continue
            _posted.add(key)
            _post_form(world, client, form, action_name, action_path, page_url, principal)
    logged = [r.getMessage() for r in caplog.records]
    for message in logged:
        assert "\nSet-Cookie" not in message and "\r\nSet-Cookie" not in message, f"a log line was injected: {message!r}"


def _post_form(world, client, form: Form, action_name: str | None, action_path: str, page_url: str,
               principal: str) -> None:
    assert action_name, f"{page_url}: a form posts to {action_path}, which is no URL of the site"
    STATS["forms"] += 1
    STATS["fields"] += sum(1 for f in form.fields if f["tag"] == "textarea" or f["type"] in FREE_TEXT)
    keep: set[str] = set()
    for _round in range(3):
        data, sent = fill(world, form, action_name, keep=keep)
        where = f"POST {action_path} (form of {page_url}) as {principal}, {sorted(sent)}"
        with transaction.atomic():
            response = client.post(action_path, data)
            STATS["posts"] += 1
            check_response(response, where)
            if response.status_code in (301, 302, 303) and sent:
                STATS["succeeded"] += 1
                target = urljoin(action_path, response["Location"])
                for url in dict.fromkeys((target, page_url)):
                    if urlsplit(url).netloc:
                        continue
                    shown = client.get(url)
                    check_response(shown, f"GET {url} after {where}")
                    if shown.status_code == 200 and not getattr(shown, "streaming", False):
                        STATS["shown"] += check_shown(shown.content.decode(errors="replace"), sent,
                                                      f"GET {url} after {where}")
            elif response.status_code < 300 and not response.get("Content-Type", "").startswith("application/"):
                if not getattr(response, "streaming", False):
                    check_shown(response.content.decode(errors="replace"), sent, where)
            transaction.set_rollback(True)
        refused = refused_fields(response) if response.status_code < 300 else set()
        if not refused - keep:
            if response.status_code in (301, 302, 303):
                continue
            if _round:
                break
        keep |= refused
