from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "laojian.grading"
    label = "grading"
    verbose_name = _("Grading")

    def ready(self) -> None:
        from laojian.cases.workflow import register_guard
        from laojian.grading import catalogue, guards

        post_migrate.connect(catalogue.load_after_migrate, sender=self, dispatch_uid="grading_catalogue")
        register_guard("conclude", guards.conclusion_ready)
        register_guard("conclude", guards.approver_wrote_no_opinion)
