"""Why personal data leaves Laojian, and on what legal basis (PIPL Art. 13; SEC-60).

Every way personal data goes out (a download, an export, a package for another committee, a copy
for the person it is about) names its purpose in the permission matrix (``purpose = "…"`` on the
URL's entry); ``core/tests/test_purposes.py`` fails for a file-sending URL without one. Almost
everything the committee does is its statutory duty (PIPL Art. 13(3)): no consent is asked for
and none could be refused. The one purpose that rests on consent (Art. 13(1)) is keeping a video
of a remote appraisal: it may happen only with the worker's consent on record (who recorded it,
when, and which text they were read), and an attempt without one is refused and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from laojian.core import audit
from laojian.core.errors import PermissionDeniedError

if TYPE_CHECKING:
    from laojian.core.models import Committee, User


class LegalBasis(models.TextChoices):
    STATUTORY_DUTY = "statutory_duty", gettext_lazy("statutory duty")
    CONSENT = "consent", gettext_lazy("consent")


@dataclass(frozen=True)
class Purpose:
    code: str
    label: Promise
    legal_basis: LegalBasis
    source: str  # the law or rule that sets the duty, or what the consent covers


PURPOSES: dict[str, Purpose] = {p.code: p for p in (
    Purpose("appraisal", gettext_lazy("labour-capacity appraisal"), LegalBasis.STATUTORY_DUTY,
            "《工伤保险条例》第二十一条至第二十八条；《工伤职工劳动能力鉴定管理办法》"),
    Purpose("reappraisal", gettext_lazy("re-appraisal by the provincial committee"), LegalBasis.STATUTORY_DUTY,
            "《工伤保险条例》第二十六条；《工伤职工劳动能力鉴定管理办法》"),
    Purpose("delivery", gettext_lazy("delivering the conclusion to the parties"), LegalBasis.STATUTORY_DUTY,
            "《工伤保险条例》第二十五条；《工伤职工劳动能力鉴定管理办法》"),
    Purpose("archive", gettext_lazy("keeping the appraisal archive"), LegalBasis.STATUTORY_DUTY,
            "《工伤职工劳动能力鉴定管理办法》；《中华人民共和国档案法》"),
    Purpose("expert_pool", gettext_lazy("managing the expert pool"), LegalBasis.STATUTORY_DUTY,
            "《工伤保险条例》第二十四条"),
    Purpose("statistics", gettext_lazy("statistics and reports to the authorities"), LegalBasis.STATUTORY_DUTY,
            "《中华人民共和国统计法》；《工伤职工劳动能力鉴定管理办法》"),
    Purpose("audit", gettext_lazy("security audit"), LegalBasis.STATUTORY_DUTY,
            "《中华人民共和国网络安全法》第二十一条；《个人信息保护法》第五十四条"),
    Purpose("rights_request", gettext_lazy("answering a person's request about their data"),
            LegalBasis.STATUTORY_DUTY, "《个人信息保护法》第四十四条至第四十六条"),
    Purpose("remote_recording", gettext_lazy("keeping a video of a remote appraisal"), LegalBasis.CONSENT,
            "《个人信息保护法》第十三条第一款第一项、第二十九条"),
)}

# The text read to the worker before they consent, by version; the newest is asked for.
CONSENT_TEXTS: dict[str, dict[str, Promise]] = {
    "remote_recording": {
        "2026-12": gettext_lazy(
            "The video call of this remote appraisal will be recorded and kept in your case file with the "
            "appraisal archive, so that the committee and a re-appraisal can see the examination. Only the "
            "committee's staff and experts working on your case can watch it. You may refuse: the appraisal "
            "goes on the same, and nothing is recorded."),
    },
}


def get(code: str) -> Purpose:
    """The purpose called ``code`` (KeyError for an unknown one: a typo must not pass silently)."""
    return PURPOSES[code]


def consent_text(code: str) -> tuple[str, Promise]:
    """The current version of the consent text of a consent-based purpose, and the text."""
    versions = CONSENT_TEXTS[code]
    version = max(versions)
    return version, versions[version]


def require_consent(code: str, *, consent: bool | None, actor: User, obj: models.Model,
                    committee: Committee | None, ip_address: str = "") -> None:
    """Refuse (audited) to process for a consent-based purpose without a recorded consent.

    Call it outside the transaction of the processing, so the refusal's audit entry is kept.
    """
    purpose = get(code)
    if purpose.legal_basis != LegalBasis.CONSENT or consent is True:
        return
    audit.record("consent.refused", actor=actor, obj=obj, committee=committee,
                 after={"purpose": code, "consent": consent}, ip_address=ip_address)
    raise PermissionDeniedError(
        _("This needs the worker's consent (%(purpose)s), and none is on record.") % {"purpose": purpose.label})
