"""Applicants sign in with a phone number and a one-time code, and submit applications.

The code travels through the notification outbox (in the demo it shows on the outbox page and in
the server log). Codes are six digits, live five minutes, allow five tries, and are rate-limited
per phone and per address; only an HMAC of the code is stored, and it is deleted once used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from laojian.cases import services as case_services
from laojian.cases.forms import register_arguments
from laojian.cases.models import Case
from laojian.core import audit
from laojian.core.errors import ApplicationError, ValidationFailed
from laojian.core.validators import MOBILE, mask_phone
from laojian.portal.models import ApplicationDraft, OneTimeCode, Submission

CODE_LENGTH = 6
CODE_LIFETIME = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 5
CODES_PER_PHONE_PER_HOUR = 5
CODES_PER_ADDRESS_PER_HOUR = 20
OTP_TEMPLATE = "portal.sign_in_code"
OTP_SMS = "【劳鉴】您的登录验证码为{{ code }}，{{ minutes }}分钟内有效。请勿将验证码告诉他人。"


class TooManyCodes(ApplicationError):
    code = "too_many_codes"


class CodeRefused(ApplicationError):
    code = "code_refused"


def normalize_phone(value: str) -> str:
    phone = re.sub(r"[\s-]", "", str(value or ""))
    if phone.startswith("+86"):
        phone = phone[3:]
    if not MOBILE.match(phone):
        raise ValidationFailed(_("Enter an 11-digit mainland mobile number, e.g. 13800000000."),
                               extra={"fields": {"phone": [_("Enter an 11-digit mainland mobile number.")]}})
    return phone


def _digest(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def code_request(phone: str, *, ip_address: str = "", now: dt.datetime | None = None) -> None:
    """Send a sign-in code to ``phone`` (SMS through the outbox), within the rate limits."""
    from laojian.notify import services as notify

    phone = normalize_phone(phone)
    now = now or timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    if OneTimeCode.objects.filter(phone=phone, created_at__gte=hour_ago).count() >= CODES_PER_PHONE_PER_HOUR:
        raise TooManyCodes(_("Too many codes were sent to this number. Please wait an hour and try again."))
    if ip_address and OneTimeCode.objects.filter(
        ip_address=ip_address, created_at__gte=hour_ago
    ).count() >= CODES_PER_ADDRESS_PER_HOUR:
        raise TooManyCodes(_("Too many codes were asked for from this address. Please try again later."))
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    with transaction.atomic():
        otp = OneTimeCode.objects.create(phone=phone, code_hash=_digest(phone, code),
                                         expires_at=now + CODE_LIFETIME, ip_address=ip_address)
        notify.send(OTP_TEMPLATE, phone=phone, key=f"otp:{otp.pk}",
                    context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)})
        audit.record("portal.code_requested", after={"phone": phone[:3] + "****" + phone[-4:]},
                     ip_address=ip_address)


def code_verify(phone: str, code: str, *, ip_address: str = "", now: dt.datetime | None = None):
    """Check a code; on success return the applicant's account (created on first sign-in)."""
    phone = normalize_phone(phone)
    now = now or timezone.now()
    code = re.sub(r"\s", "", str(code or ""))
    refused = CodeRefused(_("The code is wrong or has expired. Ask for a new one."))
    with transaction.atomic():
        otp = (OneTimeCode.objects.select_for_update().filter(phone=phone, expires_at__gt=now)
               .order_by("-created_at").first())
        if otp is None or otp.attempts >= MAX_ATTEMPTS:
            raise refused
        matched = hmac.compare_digest(otp.code_hash, _digest(phone, code))
        if matched:
            OneTimeCode.objects.filter(phone=phone).delete()
            user = applicant_for_phone(phone)
        else:
            # Counted in its own committed transaction: the refusal below must not undo it.
            OneTimeCode.objects.filter(pk=otp.pk).update(attempts=otp.attempts + 1)
    if not matched:
        audit.record("portal.code_refused", after={"phone": phone[:3] + "****" + phone[-4:]},
                     ip_address=ip_address)
        raise refused
    return user


def applicant_for_phone(phone: str):
    """The applicant account of a phone number, created with the applicant role on first use."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=f"m{phone}", defaults={"phone": phone, "display_name": mask_phone(phone)}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name="applicant"))
    return user


# DRAFTS AND SUBMISSION ---------------------------------------------------------------------------

DRAFT_FIELDS = frozenset({
    "committee", "case_type", "applicant_kind", "applicant_name", "applicant_phone", "mode", "mode_reason",
    "worker_id_number", "worker_name", "worker_phone", "worker_address", "worker_county",
    "employer_credit_code", "employer_name", "determination_number", "injury_date",
    "determination_date", "injured_parts", "diagnosis",
})
DRAFT_VALUE_LIMIT = 2000


def draft_save(user, data: dict[str, Any]) -> ApplicationDraft:
    """Keep what the applicant has typed (known fields only, bounded length)."""
    clean = {k: str(v)[:DRAFT_VALUE_LIMIT] for k, v in data.items() if k in DRAFT_FIELDS}
    draft, _created = ApplicationDraft.objects.update_or_create(user=user, defaults={"data": clean})
    return draft


def draft_get(user) -> dict[str, str]:
    draft = ApplicationDraft.objects.filter(user=user).first()
    return dict(draft.data) if draft else {}


def application_submit(*, token: str, user, cleaned: dict[str, Any], ip_address: str = "") -> Case:
    """Create the application as a draft case once per form token (a double click or a retry returns
    the same case). The applicant then uploads the checklist's materials on the case page and
    submits it there; the number and the clocks start with that submission."""
    existing = Submission.objects.filter(token=token).select_related("case").first()
    if existing is not None:
        return existing.case
    try:
        with transaction.atomic():
            case = case_services.case_register(actor=user, applicant_user=user, ip_address=ip_address,
                                               submit=False, **register_arguments(cleaned))
            Submission.objects.create(token=token, user=user, case=case)
            ApplicationDraft.objects.filter(user=user).delete()
    except IntegrityError:
        # The same token won a race in another request: answer with its case.
        existing = Submission.objects.filter(token=token).select_related("case").first()
        if existing is None:
            raise
        return existing.case
    return case
