"""Break-glass: the system administrator reads one case's medical content for a limited time.

By role the system administrator never sees medical content (domain.md: "no access to medical
content without a logged reason"). Holding ``cases.break_glass`` (the ``admin`` role), they may state
a reason and open the medical content of ONE case they can already see, for
``LAOJIAN_BREAK_GLASS_MINUTES``. The grant is a row and an audit entry written together, and every
page that shows medical content under a grant writes one more entry (``break_glass.read``).

The medical gate is :func:`can_view_medical`: ``cases.view_medical``, or an unexpired grant of this
user for this case. Scoping is untouched: a case outside the user's scope (another committee, a
sensitivity label the role may not see) can be neither granted nor shown.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases.models import BreakGlassGrant
from laojian.cases.selectors import cases_visible_to
from laojian.core import audit
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed

if TYPE_CHECKING:
    from laojian.cases.models import Case
    from laojian.core.models import User

PERMISSION = "cases.break_glass"
VIEW_GRANTS = "cases.view_breakglassgrant"
MEDICAL = "cases.view_medical"
REASON_MIN_LENGTH = 10
# What the case page shows under a grant (names only go to the audit trail, never values).
CASE_PAGE_FIELDS = ("determination.injured_parts", "determination.diagnosis", "materials")


def minutes() -> int:
    return max(1, int(getattr(settings, "LAOJIAN_BREAK_GLASS_MINUTES", 30)))


def may_break_glass(user: User | None) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active
                and user.has_perm(PERMISSION))


def active_grant(user: User | None, case: Case) -> BreakGlassGrant | None:
    """The user's unexpired grant for this case, or None (also when they no longer hold the permission)."""
    if not may_break_glass(user):
        return None
    return (BreakGlassGrant.objects.filter(user=user, case_id=case.pk, expires_at__gt=timezone.now())
            .order_by("-expires_at").first())


def grant_in_use(user: User | None, case: Case) -> BreakGlassGrant | None:
    """The grant the user's medical access to this case rests on: None when their role gives it anyway."""
    if user is None or user.has_perm(MEDICAL):
        return None
    return active_grant(user, case)


def can_view_medical(user: User | None, case: Case) -> bool:
    """The medical gate: the role's ``cases.view_medical``, or an unexpired break-glass grant for this case."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.has_perm(MEDICAL) or active_grant(user, case) is not None


def _case_by_reference(user: User, reference: str) -> Case:
    """A case the user may see, by its id or its number; NotFoundError for missing and forbidden alike."""
    reference = (reference or "").strip()
    visible = cases_visible_to(user).select_related("committee")
    case = None
    if reference.isdigit():
        case = visible.filter(pk=int(reference)).first()
    if case is None and reference:
        case = visible.filter(number=reference).first()
    if case is None:
        raise NotFoundError(_("No case with this number or id that you can see."), code="break_glass_no_case",
                            extra={"fields": {"case": [_("No case with this number or id that you can see.")]}})
    return case


def grant_create(*, user: User, case_reference: str, reason: str, ip_address: str = "") -> BreakGlassGrant:
    """Open one case's medical content to ``user`` for ``minutes()`` minutes; audited with the reason."""
    if not may_break_glass(user):
        raise PermissionDeniedError(_("Only the system administrator can open medical content with a reason."),
                                    code="break_glass_not_allowed")
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN_LENGTH:
        message = _("Give a reason of at least %(limit_value)d characters: it is kept in the audit trail.") % {
            "limit_value": REASON_MIN_LENGTH}
        raise ValidationFailed(message, code="break_glass_reason", extra={"fields": {"reason": [message]}})
    case = _case_by_reference(user, case_reference)
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(user=user, case=case, reason=reason, granted_at=now,
                                               expires_at=now + dt.timedelta(minutes=minutes()))
        audit.record("break_glass.granted", actor=user, obj=grant, committee=case.committee,
                     after={"case_id": case.pk, "case_number": case.number or "", "reason": reason,
                            "granted_at": grant.granted_at, "expires_at": grant.expires_at, "minutes": minutes()},
                     ip_address=ip_address)
    return grant


def record_read(grant: BreakGlassGrant, *, actor: User, case: Case, fields: tuple[str, ...] | list[str],
                ip_address: str = "") -> None:
    """One page or file of medical content seen under a grant (field names only, never values)."""
    audit.record("break_glass.read", actor=actor, obj=case,
                 after={"grant_id": grant.pk, "fields": list(fields), "expires_at": grant.expires_at},
                 ip_address=ip_address)


# READS ------------------------------------------------------------------------------------------------


def grants_of(user: User) -> QuerySet[BreakGlassGrant]:
    """The user's own grants that are still open, soonest end first."""
    return (BreakGlassGrant.objects.filter(user=user, expires_at__gt=timezone.now())
            .select_related("case").order_by("expires_at", "id"))


def grants_visible_to(user: User) -> QuerySet[BreakGlassGrant]:
    """Every grant on the cases of the user's committee, for the security administrator and the auditor."""
    if not user.has_perm(VIEW_GRANTS) or not user.committee_id:
        return BreakGlassGrant.objects.none()
    return (BreakGlassGrant.objects.filter(case__committee_id=user.committee_id)
            .select_related("user", "case").order_by("-granted_at", "-id"))
