"""The authorisation tests generated from ``laojian/core/permission_matrix.toml`` (issue 10; SEC-01, SEC-02, SEC-04).

Every URL pattern of the project is requested as every principal of the matrix (anonymous, each role
that signs in, a clerk-and-leader of another committee, an expert of the committee on no panel, an
applicant of another case) and
the response is checked against the outcome the matrix gives:

``allow``  reached: not 401/403/404/405, no redirect to a sign-in page, no server error. A POST-only
           view gets an empty POST (the test client does not check CSRF); a 400, a form shown again
           or a redirect back is "allowed and validated".
``deny``   403 or 404; on a page about one object it must also be the answer to a request for an
           object that does not exist (so the denial tells nothing about the object).
``hide``   404, the same as for an object that does not exist (the object is outside the user's scope);
           for a case the denial is logged.
``login``  a redirect to a sign-in page (an API answers 401 or 403).

A URL pattern the matrix does not name fails ``test_every_url_is_in_the_matrix``; a matrix entry that
names no URL fails ``test_matrix_names_only_existing_urls``.
"""

from __future__ import annotations

import logging
import re
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from laojian.core.errors import PermissionDeniedError
from laojian.core.roles import ROLES
from laojian.core.tests import matrix_world
from laojian.core.tests.matrix_world import PRINCIPALS, ROLE_PRINCIPALS

MATRIX_PATH = Path(__file__).resolve().parents[1] / "permission_matrix.toml"
MATRIX = tomllib.loads(MATRIX_PATH.read_text(encoding="utf-8"))
OUTCOMES = {"allow", "deny", "hide", "login", "public"}
MISSING_INT = 987654321
MISSING_STR = "no-such-object-0000000000000000"


# THE URL PATTERNS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str | None  # namespace:name, or None for an unnamed pattern
    route: str  # the full pattern text
    kwargs: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            route = prefix + str(p.pattern)
            kwargs = tuple(a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route))
            yield Route(name, route, kwargs)


ROUTES = list(_walk(get_resolver().url_patterns))


def _prefix_rule(route: Route) -> dict[str, Any] | None:
    for rule in MATRIX.get("prefix", []):
        if route.route.startswith(rule["route"]):
            return rule
    return None


# THE MATRIX ---------------------------------------------------------------------------------------


def _roles_with(perms: list[str]) -> set[str]:
    return {code for code, role in ROLES.items() if role.sign_in and any(p in role.permissions for p in perms)}


def _expand(names: list[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        if name == "*":
            out |= set(ROLE_PRINCIPALS)
        elif name.startswith("@"):
            out |= _expand(MATRIX["groups"][name[1:]])
        else:
            out.add(name)
    return out


def allowed_roles(entry: dict[str, Any]) -> set[str]:
    perms = entry.get("perm", [])
    return _expand(entry.get("allow", [])) | _roles_with([perms] if isinstance(perms, str) else perms)


# The roles an outsider holds (in another committee, or without the object in their scope).
STANDS_FOR = {"other_committee": {"clerk", "leader"}, "unassigned_expert": {"expert"}, "other_applicant": {"applicant"}}


def expected(entry: dict[str, Any], principal: str) -> str:
    """The outcome the matrix gives ``principal`` on the URL of ``entry`` (or of its ``post`` part)."""
    if principal in entry.get("expect", {}):
        return entry["expect"][principal]
    if "everyone" in entry:
        return entry["everyone"]
    if entry.get("public"):
        return "public"
    if principal == "anonymous":
        return MATRIX["defaults"]["anonymous"]
    allowed = allowed_roles(entry)
    if principal in ROLE_PRINCIPALS:
        return "allow" if principal in allowed else "deny"
    # Outsiders stand for the roles they hold: where those may act, an object of committee A (or a
    # case not on their panel) is hidden from them; where those may not, it is a denial as for them.
    if allowed & STANDS_FOR[principal]:
        return "hide" if entry.get("object") else "allow"
    return "deny"


def in_scope(kind: str, principal: str) -> bool:
    """Whether ``principal`` may know that the object exists (may see it, or what it belongs to)."""
    return principal in _expand(MATRIX["objects"][kind].get("scope", ["@committee_staff"]))


# PROBES --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One request of the generated test: a URL, a method, a principal and the outcome expected."""

    url_name: str
    method: str
    principal: str
    outcome: str

    @property
    def id(self) -> str:
        return f"{self.url_name}-{self.method}-{self.principal}"


def _entry(url_name: str, method: str) -> dict[str, Any]:
    """The matrix entry for one method: a GET-and-POST view has its POST rules in ``post``."""
    entry = MATRIX["url"][url_name]
    if method == "POST" and "post" in entry:
        return {**{k: v for k, v in entry.items() if k not in ("post", "perm", "allow", "expect")}, **entry["post"],
                "method": "POST"}
    return entry


def _probes() -> list[Probe]:
    out = []
    for route in ROUTES:
        entry = MATRIX["url"].get(route.name) if route.name else None
        if entry is None or entry.get("untestable"):
            continue
        methods = [entry.get("method", "GET")] + (["POST"] if "post" in entry else [])
        for method in methods:
            for principal in PRINCIPALS:
                out.append(Probe(route.name, method, principal, expected(_entry(route.name, method), principal)))
    return out


PROBES = _probes()
ADMIN_ROUTES = [r for r in ROUTES if _prefix_rule(r) and r.name and not r.kwargs
                and r.name not in ("admin:login", "admin:logout")]


# THE WORLD ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the world once for the module, inside a transaction rolled back at the end (so nothing
    leaks into other modules); each test runs in a savepoint inside it. Files go to a temporary
    folder, documents are not signed."""
    folder = tmp_path_factory.mktemp("matrix")
    from django.conf import settings

    storages = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                   "OPTIONS": {"location": str(folder / "materials")}}}
    with override_settings(STORAGES=storages, DATA_DIR=folder, LAOJIAN_SIGNING_KEY_DIR=folder / "keys",
                           LAOJIAN_DOCUMENT_SIGNER="none", LAOJIAN_RATE_LIMITS={}), django_db_blocker.unblock():
        with transaction.atomic():
            built = matrix_world.build()
            for principal, user in built.users.items():
                if user is not None:
                    client = Client()
                    client.force_login(user)
                    client.get(reverse("account"))  # the session gets its marks once, not in every test
                    built.sessions[principal] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
            transaction.set_rollback(True)


def _client(world, principal: str) -> Client:
    """A client signed in as ``principal`` (a fresh one per test: signing out in one test must not
    sign the principal out of the next; the session row itself is rolled back with the test)."""
    from django.conf import settings

    client = Client(raise_request_exception=False)
    if principal in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[principal]
    return client


def _kwargs(world, route: Route, entry: dict[str, Any], *, missing: bool = False) -> dict[str, Any]:
    given = dict(world.objects[entry["object"]]) if entry.get("object") else {}
    if missing:
        given = {k: (MISSING_INT if isinstance(v, int) else MISSING_STR) for k, v in given.items()}
    given.update(entry.get("kwargs", {}))
    lacking = [k for k in route.kwargs if k not in given]
    assert not lacking, f"{route.name}: the matrix gives no value for {lacking} (object {entry.get('object')!r})"
    return {k: given[k] for k in route.kwargs}


@contextmanager
def _refusals():
    """Collect the PermissionDeniedError a service raises during a request: some views answer a refused
    POST with a message and a redirect back (303) instead of a 403; the refusal is what counts."""
    seen: list[PermissionDeniedError] = []
    original = PermissionDeniedError.__init__

    def init(self, *args, **kwargs):
        seen.append(self)
        original(self, *args, **kwargs)

    PermissionDeniedError.__init__ = init
    try:
        yield seen
    finally:
        PermissionDeniedError.__init__ = original


def _data(world, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's POST data: ``{name}`` takes a value of the world; "@file" is a small PDF upload."""
    data = {}
    for key, value in entry.get("data", {}).items():
        key = key.format(**world.values)
        if value == "@file":
            data[key] = SimpleUploadedFile("matrix.pdf", matrix_world.PDF, content_type="application/pdf")
        else:
            data[key] = str(value).format(**world.values)
    return data


def _request(world, client: Client, entry: dict[str, Any], url: str):
    query = entry.get("query", "")
    if entry.get("method", "GET") == "POST":
        return client.post(url + (f"?{query}" if query else ""), _data(world, entry))
    return client.get(url + (f"?{query}" if query else ""))


SIGN_IN_PATHS = ("/login/", "/portal/sign-in/", "/admin/login/")


def _to_sign_in(response) -> bool:
    return response.status_code in (301, 302, 303) and response.get("Location", "").split("?")[0] in SIGN_IN_PATHS


def _route(name: str) -> Route:
    return next(r for r in ROUTES if r.name == name)


@pytest.mark.django_db
@pytest.mark.parametrize("case", PROBES, ids=lambda c: c.id)
def test_url_as_principal(world, case: Probe, caplog):
    entry = _entry(case.url_name, case.method)
    route = _route(case.url_name)
    client = _client(world, case.principal)
    url = reverse(case.url_name, kwargs=_kwargs(world, route, entry))
    caplog.set_level(logging.INFO, logger="laojian.access")
    with _refusals() as refused:
        response = _request(world, client, entry, url)
    status = response.status_code
    notes = [str(m) for m in getattr(response.wsgi_request, "_messages", [])]
    where = f"{case.method} {url} as {case.principal}: {status} {response.get('Location', '')} {notes}"
    assert status < 500, where
    denied = status in (403, 404)
    kind = entry.get("object")
    soft = bool(entry.get("validates_first")) and status in (200, 302, 303, 400, 422)
    if case.outcome == "public":
        assert status < 400, f"expected a public page; {where}"
        if kind and case.principal == "anonymous":  # a public page with a key: a wrong key is a 404
            missing = _request(world, client, entry, reverse(case.url_name, kwargs=_kwargs(world, route, entry,
                                                                                            missing=True)))
            assert missing.status_code == 404, f"{where}: a wrong key gives {missing.status_code}"
    elif case.outcome == "allow":
        assert not denied and status not in (401, 405) and not _to_sign_in(response), f"expected allow; {where}"
        assert not refused, f"expected allow; the service refused: {refused[0].message}; {where}"
    elif case.outcome == "login":
        if entry.get("api"):
            assert status in (401, 403), f"expected 401/403; {where}"
        else:
            assert _to_sign_in(response), f"expected a redirect to sign in; {where}"
    elif case.outcome == "deny":
        assert denied or soft or (refused and status in (200, 302, 303, 400, 409, 422)), f"expected deny; {where}"
    else:
        assert status == 404, f"expected hide (404); {where}"
    if denied and case.principal != "anonymous":  # every refusal, whatever the object (core.middleware)
        assert [r for r in caplog.records if r.name == "laojian.access.refused"], f"the refusal was not logged: {where}"
    if case.outcome in ("deny", "hide") and kind and (denied or soft) and not in_scope(kind, case.principal):
        logged = [r for r in caplog.records if r.name == "laojian.access" and "denied" in r.getMessage()]
        missing_url = reverse(case.url_name, kwargs=_kwargs(world, route, entry, missing=True))
        missing = _request(world, client, entry, missing_url)
        assert missing.status_code == status, (
            f"a denial must look like a missing object: {where}, but {missing_url} gives {missing.status_code}")
        if case.outcome == "hide" and denied and entry.get("logged", kind in MATRIX["defaults"]["logged"]):
            assert logged, f"the denial was not logged: {where}"


# COVERAGE -----------------------------------------------------------------------------------------


def test_every_url_is_in_the_matrix():
    """A URL pattern the matrix does not cover (by name, or by a prefix rule) fails (SEC-02)."""
    uncovered = [r.route for r in ROUTES if not _prefix_rule(r) and (r.name is None or r.name not in MATRIX["url"])]
    assert not uncovered, f"URL patterns missing from {MATRIX_PATH.name}: {uncovered}"


def test_matrix_names_only_existing_urls():
    names = {r.name for r in ROUTES}
    stale = sorted(set(MATRIX["url"]) - names)
    assert not stale, f"{MATRIX_PATH.name} names URLs that do not exist: {stale}"


def test_matrix_is_well_formed():
    known = set(PRINCIPALS)
    for name, entry in MATRIX["url"].items():
        assert entry.get("action"), f"{name}: say which action the URL is"
        assert set(entry.get("expect", {})) <= known, name
        assert set(entry.get("expect", {}).values()) <= OUTCOMES, name
        assert entry.get("everyone", "allow") in OUTCOMES, name
        assert _expand(entry.get("allow", [])) <= set(ROLE_PRINCIPALS), name
        if entry.get("object"):
            assert entry["object"] in MATRIX["objects"], f"{name}: unknown object kind {entry['object']!r}"
        if "post" in entry:
            assert entry.get("method", "GET") == "GET", f"{name}: a POST part belongs to a GET-and-POST view"
            assert set(entry["post"]) <= {"perm", "allow", "expect", "kwargs", "query", "data", "validates_first"}, name
        if entry.get("validates_first"):
            assert len(entry["validates_first"]) > 10, f"{name}: say why an empty POST cannot show the denial"
        if entry.get("untestable"):
            assert len(entry["untestable"]) > 10, f"{name}: say why it cannot be tested"
        for perm in [entry["perm"]] if isinstance(entry.get("perm"), str) else entry.get("perm", []):
            assert any(perm in r.permissions for r in ROLES.values()), f"{name}: no role holds {perm}"


# THE ADMIN (one rule by prefix) -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("principal", PRINCIPALS)
def test_admin_is_for_staff_only(world, principal):
    """Every admin page without arguments: a sign-in redirect for those who are not staff; staff reach
    it or get 403 for a model their role does not manage (Django's own admin permissions)."""
    rule = next(r for r in MATRIX["prefix"] if r["route"] == "admin/")
    user = world.users[principal]
    client = _client(world, principal)
    staff = bool(user and user.is_staff)
    assert staff == (principal in rule["staff"]), f"{principal}: is_staff={staff}, the matrix says otherwise"
    for route in ADMIN_ROUTES:
        response = client.get(reverse(route.name))
        where = f"{route.route} as {principal}: {response.status_code}"
        assert response.status_code < 500, where
        if staff:
            assert not _to_sign_in(response), where
        else:
            assert _to_sign_in(response) or (user is not None and response.status_code == 302
                                             and "/admin/login/" in response["Location"]), where


ADMIN_OBJECT_PRINCIPALS = ("anonymous", "clerk", "auditor", "other_committee", "admin", "security")


@pytest.mark.django_db
@pytest.mark.parametrize("principal", ADMIN_OBJECT_PRINCIPALS)
def test_admin_object_pages_are_for_staff_only(world, principal):
    """The change page of one object of every model in the admin, under the same rule."""
    from django.contrib import admin

    rule = next(r for r in MATRIX["prefix"] if r["route"] == "admin/")
    client = _client(world, principal)
    staff = principal in rule["staff"]
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        response = client.get(url)
        where = f"{url} as {principal}: {response.status_code}"
        assert response.status_code < 500, where
        assert _to_sign_in(response) != staff, where


# DENIALS ARE LOGGED -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_hidden_case_is_logged_without_personal_data(world, caplog):
    caplog.set_level(logging.INFO, logger="laojian.access")
    other = world.users["other_committee"]
    response = _client(world, "other_committee").get(reverse("cases:detail", args=[world.case.pk]))
    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "laojian.access"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert f"user {other.pk}" in message and f"case {world.case.pk}" in message and "denied" in message
    for personal in (world.case.worker.name, world.case.worker.id_number, other.username, other.display_name):
        assert personal not in message


@pytest.mark.django_db
def test_a_missing_case_is_logged_as_missing(world, caplog):
    caplog.set_level(logging.INFO, logger="laojian.access")
    response = _client(world, "clerk").get(reverse("cases:detail", args=[MISSING_INT]))
    assert response.status_code == 404
    (record,) = [r for r in caplog.records if r.name == "laojian.access"]
    assert "missing" in record.getMessage()
