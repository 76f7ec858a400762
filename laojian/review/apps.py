from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    """Checks and balances: preliminary review, collective discussion, second opinions,
    re-appraisal at the province (domain.md steps 3, 7, 9)."""

    name = "laojian.review"
    label = "review"
    verbose_name = _("Checks and balances")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from laojian.cases import retention

        retention.register_scrub("review.reappraisal", {"requester_name": retention.NEUTRAL_NAME, "grounds": "",
                                                        "result_note": ""})
        retention.register_scrub("review.agendaitem", {"notes": ""})
