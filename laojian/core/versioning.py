"""Optimistic locking of edited records (REL-10, issue 10): an edit form carries the version it was
filled in against; saving it over a newer version is refused, with who changed the record and when,
so the other person's change survives and nothing typed is lost (the form is shown again).

A model opts in with a ``version`` field (``VersionField()``); its service calls
:func:`check_version` on the locked row before it writes and :func:`bump` as it saves.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laojian.core.errors import ConflictError
from laojian.core.models import AuditEvent


def VersionField() -> models.PositiveIntegerField:  # noqa: N802 (reads like a field class)
    return models.PositiveIntegerField(gettext_lazy("version"), default=1)


class VersionFormField(forms.IntegerField):
    """The hidden version of an edit form; blank means "the caller does not check" (console, API)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, min_value=1, widget=forms.HiddenInput, **kwargs)


def last_change(obj: models.Model) -> AuditEvent | None:
    """The newest audit entry about ``obj`` (who changed it last, and when)."""
    return (AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
            .order_by("-at", "-id").first())


def check_version(obj: models.Model, expected: int | None) -> None:
    """Refuse a save filled in against another version than the row now holds (lock the row first)."""
    if expected is None or expected == obj.version:
        return
    event = last_change(obj)
    if event is None:
        raise ConflictError(_("This record was changed by someone else while you were editing it. Your changes are "
                              "still in the form: reload the record in another tab, compare, and save again."),
                            code="stale_version")
    raise ConflictError(_("%(who)s changed this record at %(when)s while you were editing it. Your changes are still "
                          "in the form: reload the record in another tab, compare, and save again.")
                        % {"who": event.actor_label or _("the system"),
                           "when": timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M")},
                        code="stale_version")


def bump(obj: models.Model) -> None:
    """The next version, set before ``save()``."""
    obj.version += 1
