from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrosscheckConfig(AppConfig):
    """Cross-checks (协查) of claimed care against medical-insurance and health-department records."""

    name = "laojian.crosscheck"
    label = "crosscheck"
    verbose_name = _("Cross-checks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from laojian.cases import retention
        from laojian.crosscheck import listeners  # noqa: F401  (registers the conclusion guard)

        retention.register_scrub("crosscheck.claimedcare", {"diagnosis": "", "record_number": ""})
        retention.register_scrub("crosscheck.flag", {"evidence": {}, "resolution_note": ""})
        retention.register_scrub("crosscheck.letter", {"reply": ""})
