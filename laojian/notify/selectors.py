"""Reads of the outbox, scoped to what the user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from laojian.notify.models import Notification

if TYPE_CHECKING:
    from laojian.cases.models import Case, Worker
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


def sent_to_worker_for_copy(cases: list[Case], worker: Worker) -> list[dict[str, Any]]:
    """What was sent to the worker about ``cases`` (to their phone, or the applicant's when they applied
    themselves), for a person's copy of their data (SEC-65)."""
    from laojian.cases.models import ApplicantKind
    from laojian.core.calendar import iso_local

    addresses = {worker.phone} | {c.applicant_phone for c in cases if c.applicant_kind == ApplicantKind.WORKER}
    addresses.discard("")
    if not addresses:
        return []
    numbers = {c.pk: c.number or f"#{c.pk}" for c in cases}
    sent = Notification.objects.filter(case__in=cases, recipient__in=addresses).order_by("created_at", "id")
    return [{"case": numbers.get(n.case_id), "channel": n.get_channel_display(), "recipient": n.recipient,
             "status": n.get_status_display(), "queued_at": iso_local(n.created_at), "sent_at": iso_local(n.sent_at),
             "text": n.text}
            for n in sent]
