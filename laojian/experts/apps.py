from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertsConfig(AppConfig):
    name = "laojian.experts"
    label = "experts"
    verbose_name = _("Expert pool")

    def ready(self) -> None:
        from laojian.cases.workflow import register_guard
        from laojian.experts import guards, notifications

        register_guard("schedule", guards.panel_not_short)
        register_guard("record_examination", guards.panel_confirmed)
        notifications.register_templates()
