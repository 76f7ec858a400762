from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SittingsConfig(AppConfig):
    name = "laojian.sittings"
    label = "sittings"
    verbose_name = _("Appraisal modes and scheduling")

    def ready(self) -> None:
        from laojian.cases import retention
        from laojian.cases.workflow import register_guard, register_listener
        from laojian.sittings import guards, listeners, notifications

        for step in ("schedule", "reschedule", "record_examination"):
            register_guard(step, guards.appointment_steps_on_appointment)
        register_listener(listeners.on_transition)
        notifications.register_templates()
        retention.register_scrub("sittings.appointment", {"address": "", "family_phone": "", "local_findings": "",
                                                          "outcome_note": ""})
        retention.register_scrub("sittings.extraexamination", {"result_note": ""})
        retention.register_files("sittings.examinationrecord", "file", delete_rows=True)
