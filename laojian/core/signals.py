"""Signal receivers for the audit trail: sign-in events (SEC-27) and the append-only guard.

Nothing here is connected on import. ``CoreConfig.ready()`` calls :func:`connect_auth_signals`
and :func:`connect_audit_guards`; both are idempotent (each receiver has a ``dispatch_uid``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import pre_delete, pre_save

from laojian.core import audit
from laojian.core.models import AuditEvent

# Longest attempted user name kept for a failed sign-in: enough for any real one, and a bound on
# what an attacker can make us store.
_MAX_ATTEMPTED_USERNAME = 150


def _ip(request: Any) -> str:
    return audit.client_ip(request) if request is not None else ""


def on_logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """A successful sign-in goes to the user's committee chain (system chain for users without one)."""
    audit.record("login", actor=user, obj=user, ip_address=_ip(request))


def on_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """Sign-out; nothing is recorded when nobody was signed in."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    audit.record("logout", actor=user, obj=user, ip_address=_ip(request))


def on_login_failed(sender: Any, credentials: dict | None = None, request: Any = None, **kwargs: Any) -> None:
    """A failed sign-in: the attempted user name only, never the password (SEC-28).

    It goes to the system chain: the name may belong to nobody, and looking it up would tell the
    trail's readers nothing the name does not.
    """
    credentials = credentials or {}
    field = get_user_model().USERNAME_FIELD
    attempted = credentials.get(field, credentials.get("username", ""))
    attempted = str(attempted or "")[:_MAX_ATTEMPTED_USERNAME]
    audit.record("login_failed", after={"username": attempted}, ip_address=_ip(request))


def refuse_change(sender: Any, instance: AuditEvent, raw: bool = False, **kwargs: Any) -> None:
    """Saving an entry that is already stored would rewrite history: refuse before any SQL runs."""
    if not instance._state.adding:
        raise audit.AppendOnlyError()


def refuse_delete(sender: Any, instance: AuditEvent, **kwargs: Any) -> None:
    """Deleting an entry (also through a queryset or the admin) is refused before any SQL runs."""
    raise audit.AppendOnlyError()


def connect_auth_signals() -> None:
    """Record sign-in, sign-out and failed sign-in in the audit trail."""
    user_logged_in.connect(on_logged_in, dispatch_uid="laojian.audit.login")
    user_logged_out.connect(on_logged_out, dispatch_uid="laojian.audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="laojian.audit.login_failed")


def connect_audit_guards() -> None:
    """Refuse ``save()`` of a stored entry and every ORM delete of entries, in Python.

    ``QuerySet.update()`` sends no signal; the database trigger refuses that one.
    """
    pre_save.connect(refuse_change, sender=AuditEvent, dispatch_uid="laojian.audit.refuse_change")
    pre_delete.connect(refuse_delete, sender=AuditEvent, dispatch_uid="laojian.audit.refuse_delete")


def disconnect_auth_signals() -> bool:
    """Undo :func:`connect_auth_signals` (for tests); True if they were connected."""
    return all(
        [
            user_logged_in.disconnect(on_logged_in, dispatch_uid="laojian.audit.login"),
            user_logged_out.disconnect(on_logged_out, dispatch_uid="laojian.audit.logout"),
            user_login_failed.disconnect(on_login_failed, dispatch_uid="laojian.audit.login_failed"),
        ]
    )


def disconnect_audit_guards() -> bool:
    """Undo :func:`connect_audit_guards` (for tests); True if they were connected."""
    return all(
        [
            pre_save.disconnect(refuse_change, sender=AuditEvent, dispatch_uid="laojian.audit.refuse_change"),
            pre_delete.disconnect(
                refuse_delete, sender=AuditEvent, dispatch_uid="laojian.audit.refuse_delete"
            ),
        ]
    )
