"""Staff sign-in: lockout after repeated failures, the two-step login, password age, session marks.

The login is two steps (SEC-07): the password, then a code from the authenticator app. Between
them the session holds only a *pending* mark (user id, the password hash's session hash, the
time), never the authenticated user; ``django.contrib.auth.login`` runs after the second factor,
so the session key changes there (SEC-12) and nothing else can be reached with a password alone.

Failures of either step count against the user name *and* the client address (SEC-09): by
default 5 per name or 20 per address within 15 minutes lock that name or address for 15 minutes.
A locked name and a wrong password get the same message (no user enumeration), and a lock is
refused even with the right password. Everything is counted in the database, so every worker
sees the same numbers, and written to the audit trail (SEC-27).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from laojian.core import audit, totp
from laojian.core.models import AuthFailure, AuthLock, SignInScope, User
from laojian.core.roles import user_role_codes

# Session keys. The underscore prefix keeps them apart from anything a view stores.
PENDING_KEY = "_laojian_pending"  # password accepted, second factor not yet: {uid, hash, at, backend, next, stage}
SECOND_FACTOR_KEY = "_laojian_2fa"  # how this session passed the second factor: see SessionSecurityMiddleware
LOGIN_AT_KEY = "_laojian_login_at"  # Unix time of login(): the absolute cap counts from it (SEC-13)
PASSWORD_EXPIRED_KEY = "_laojian_password_expired"  # True until the user picks a new password

# The second step must follow the password within five minutes; setting up the app takes longer.
PENDING_SECONDS = {"code": 300, "enrol": 900}

# Values of SECOND_FACTOR_KEY.
PASSED_TOTP = "totp"
PASSED_RECOVERY = "recovery"
EXEMPT_APPLICANT = "exempt:applicant"  # applicants sign in with an SMS code: out of scope of SEC-07
EXEMPT_OPTIONAL = "exempt:optional"  # staff without a device while LAOJIAN_TOTP_REQUIRED is off


# WHO NEEDS WHAT -------------------------------------------------------------------------------------


def is_applicant_only(user: User) -> bool:
    """An applicant account (portal, SMS code) and nothing more."""
    return user_role_codes(user) == {"applicant"} and not user.is_staff and not user.is_superuser


def second_factor_required() -> bool:
    return bool(settings.LAOJIAN_TOTP_REQUIRED)


def second_factor_stage(user: User) -> str | None:
    """What a user who just gave the right password must do next: "code", "enrol" or nothing.

    Enrolled users are always asked for a code; with ``LAOJIAN_TOTP_REQUIRED`` on, staff without
    a device must enrol first. Applicants are out of scope (they sign in by SMS code).
    """
    if is_applicant_only(user):
        return None
    if totp.has_device(user):
        return "code"
    return "enrol" if second_factor_required() else None


def password_expired(user: User, now: dt.datetime | None = None) -> bool:
    """True when ``LAOJIAN_PASSWORD_MAX_AGE_DAYS`` is set and the password is older (SEC-08, SEC-40)."""
    days = settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS
    if not days or not user.has_usable_password() or is_applicant_only(user):
        return False
    changed = user.password_changed_at or user.date_joined
    return (now or timezone.now()) - changed > dt.timedelta(days=days)


# LOCKOUT (SEC-09) -------------------------------------------------------------------------------------


def account_key(username: str) -> str:
    """The lockout key of a typed user name: case and surrounding spaces do not make a new one."""
    return str(username or "").strip().casefold()[:150]


def _keys(username: str, ip_address: str) -> list[tuple[str, str]]:
    keys = [(SignInScope.ACCOUNT, account_key(username))]
    if ip_address:
        keys.append((SignInScope.ADDRESS, ip_address))
    return keys


def locked_scope(username: str, ip_address: str, now: dt.datetime | None = None) -> str | None:
    """The scope ("account" or "address") that blocks this attempt now, or None."""
    now = now or timezone.now()
    condition = Q()
    for scope, key in _keys(username, ip_address):
        condition |= Q(scope=scope, key=key)
    return AuthLock.objects.filter(condition, until__gt=now).values_list("scope", flat=True).first()


def _limit(scope: str) -> int:
    if scope == SignInScope.ACCOUNT:
        return settings.LAOJIAN_LOCKOUT_ACCOUNT_FAILURES
    return settings.LAOJIAN_LOCKOUT_ADDRESS_FAILURES


def failure_record(username: str, ip_address: str, *, step: str = "password",
                   now: dt.datetime | None = None) -> list[str]:
    """Count one failed step for the name and the address; lock those that reached their limit.

    Returns the scopes locked by this failure. Each lock is written to the audit trail.
    """
    now = now or timezone.now()
    window_start = now - dt.timedelta(seconds=settings.LAOJIAN_LOCKOUT_WINDOW_SECONDS)
    until = now + dt.timedelta(seconds=settings.LAOJIAN_LOCKOUT_SECONDS)
    locked = []
    with transaction.atomic():
        for scope, key in _keys(username, ip_address):
            AuthFailure.objects.filter(scope=scope, key=key, at__lt=window_start).delete()
            AuthFailure.objects.create(scope=scope, key=key, at=now)
            if AuthFailure.objects.filter(scope=scope, key=key, at__gte=window_start).count() >= _limit(scope):
                AuthLock.objects.update_or_create(scope=scope, key=key, defaults={"until": until})
                locked.append(scope)
                audit.record("login_locked", after={"scope": scope, "username": account_key(username),
                                                    "step": step, "until": until}, ip_address=ip_address)
    return locked


def failures_clear(username: str) -> None:
    """A complete sign-in wipes the name's failures (the address keeps its count)."""
    AuthFailure.objects.filter(scope=SignInScope.ACCOUNT, key=account_key(username)).delete()


def refusal_record(username: str, ip_address: str, scope: str, *, step: str = "password") -> None:
    """An attempt refused because of a lock, whatever the password (SEC-09: logged)."""
    audit.record("login_refused_locked", after={"scope": scope, "username": account_key(username), "step": step},
                 ip_address=ip_address)


# THE TWO STEPS ----------------------------------------------------------------------------------------


def pending_start(request: HttpRequest, user: User, *, stage: str, next_url: str) -> None:
    """The password was right: remember that, and nothing more, until the second factor."""
    request.session.cycle_key()  # a session fixed before the password does not carry the pending mark
    request.session[PENDING_KEY] = {
        "uid": user.pk,
        "hash": user.get_session_auth_hash(),
        "at": int(time.time()),
        "backend": getattr(user, "backend", "django.contrib.auth.backends.ModelBackend"),
        "next": next_url,
        "stage": stage,
    }


def pending_get(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The user of a pending sign-in still in time, with an unchanged password, and still active."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS.get(pending.get("stage"), 0):
        pending_clear(request)
        return None
    user = get_user_model().objects.filter(pk=pending.get("uid"), is_active=True).first()
    if user is None or user.get_session_auth_hash() != pending.get("hash"):
        pending_clear(request)
        return None
    return user, pending


def pending_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)


def complete(request: HttpRequest, user: User, *, passed: str, backend: str | None = None) -> None:
    """Sign the user in for real: ``login()`` (new session key), the second-factor and password-age marks."""
    pending_clear(request)
    login(request, user, backend=backend or getattr(user, "backend", None)
          or "django.contrib.auth.backends.ModelBackend")
    request.session[SECOND_FACTOR_KEY] = passed
    if password_expired(user):
        request.session[PASSWORD_EXPIRED_KEY] = True
    failures_clear(user.get_username())


def stamp_login_time(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: every login (staff, portal, admin) starts the absolute session clock."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LOGIN_AT_KEY] = int(time.time())
        # A login without our second-factor step (portal, tests) gets its mark from the middleware.
        session.pop(SECOND_FACTOR_KEY, None)
        session.pop(PASSWORD_EXPIRED_KEY, None)


def connect_signals() -> None:
    user_logged_in.connect(stamp_login_time, dispatch_uid="laojian.auth.stamp_login_time")


def second_factor_mark(user: User) -> str | None:
    """The mark a session without one may get, or None when it must end (used by the middleware).

    A session that reached login() without the second-factor step (the admin's own login page,
    a portal login of a staff user, a forgotten code path) is ended when the user needs the factor.
    """
    if is_applicant_only(user):
        return EXEMPT_APPLICANT
    if totp.has_device(user) or second_factor_required():
        return None
    return EXEMPT_OPTIONAL
