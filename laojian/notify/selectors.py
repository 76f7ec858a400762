"""Reads of the outbox, scoped to what the user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from laojian.notify.models import Notification

if TYPE_CHECKING:
    from laojian.core.models import User


def notifications_visible_to(user: User) -> QuerySet[Notification]:
    """Holders of ``notify.view_notification`` see their committee's notifications and those tied to
    no committee (e.g. sign-in codes); a superuser sees all; anyone else sees none."""
    if not user.is_authenticated or not user.has_perm("notify.view_notification"):
        return Notification.objects.none()
    qs = Notification.objects.all()
    if user.is_superuser or not user.committee_id:
        return qs
    return qs.filter(Q(committee_id=user.committee_id) | Q(committee__isnull=True))


def outbox(user: User, *, status: str | None = None) -> QuerySet[Notification]:
    qs = notifications_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")
