from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "laojian.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from laojian.cases import retention
        from laojian.cases.workflow import register_listener
        from laojian.documents import archive, defaults, delivery, listeners

        post_migrate.connect(defaults.load_after_migrate, sender=self, dispatch_uid="documents_defaults")
        register_listener(listeners.issue_after_step)
        register_listener(listeners.pack_after_archive)
        delivery.register_templates()
        retention.register_scrub("documents.document", {"values": {}})
        retention.register_scrub("documents.delivery", {"recipient": retention.NEUTRAL_NAME, "tracking_number": "",
                                                        "confirmation": ""})
        retention.register_scrub("documents.archivepackage", {"search_text": "", "manifest": []})
        retention.register_files("documents.document", "file", delete_rows=False)
        retention.register_files("documents.delivery", "receipt", delete_rows=False)
        retention.register_files("documents.archivepackage", "file", delete_rows=False)
        retention.register_keeper(archive.kept_until_its_date)
