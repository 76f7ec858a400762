from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "laojian.grading"
    label = "grading"
    verbose_name = _("Grading")

    def ready(self) -> None:
        from laojian.cases import rights
        from laojian.cases.workflow import register_guard
        from laojian.core.backup import register_digest
        from laojian.core.keyrotation import register_guard as register_rekey_guard
        from laojian.grading import catalogue, guards, rekey, selectors
        from laojian.grading.models import Conclusion

        post_migrate.connect(catalogue.load_after_migrate, sender=self, dispatch_uid="grading_catalogue")
        register_guard("conclude", guards.conclusion_ready)
        register_guard("conclude", guards.approver_wrote_no_opinion)
        register_rekey_guard(rekey.signed_rows_rewritable)
        # A restore must give back every approved conclusion unchanged (the "conclusion hashes").
        register_digest("approved_conclusions",
                        "SELECT id, case_id, number, grade, care_level, medical_dependency, months, clauses, basis, "
                        f"approved_by_id, approved_at FROM {Conclusion._meta.db_table} WHERE state = 'approved' "
                        "ORDER BY id")
        rights.register_case_part("conclusion", selectors.approved_conclusions_for_copy)
