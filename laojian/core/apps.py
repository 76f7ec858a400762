from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "laojian.core"
    label = "core"
    verbose_name = _("Committees, users and audit")

    def ready(self) -> None:
        from django.core import checks

        from laojian.core import auth, backup, ratelimit, roles, signals
        from laojian.core.models import AuditChainHead

        # Roles are derived data: the groups follow the declaration in roles.py after every migrate.
        post_migrate.connect(roles.sync_groups_after_migrate, sender=self)
        signals.connect_auth_signals()
        signals.connect_audit_guards()
        auth.connect_signals()
        checks.register(ratelimit.check_settings, checks.Tags.security)
        # A restore must give back every audit chain exactly where it ended (SEC-50).
        backup.register_digest("audit_chains", f"SELECT chain, last_seq, last_hash FROM {AuditChainHead._meta.db_table} "
                                               "ORDER BY chain")
