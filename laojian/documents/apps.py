from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "laojian.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from laojian.cases.workflow import register_listener
        from laojian.documents import defaults, delivery, listeners

        post_migrate.connect(defaults.load_after_migrate, sender=self, dispatch_uid="documents_defaults")
        register_listener(listeners.issue_after_step)
        register_listener(listeners.pack_after_archive)
        delivery.register_templates()
