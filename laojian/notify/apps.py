from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "laojian.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from django.core import checks

        from laojian.cases import retention, rights, workflow
        from laojian.notify import backends, listeners, selectors

        checks.register(backends.check_settings)

        listeners.register_templates()
        workflow.register_listener(listeners.on_transition)
        retention.register_scrub("notify.notification", {"recipient": "", "subject": "", "text": ""})
        rights.register_copy_part("notifications", selectors.sent_to_worker_for_copy)
