"""Reference data editable in the Django admin; the audit trail is read-only there."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from laojian.core import audit, totp, views
from laojian.core.models import AuditEvent, CalendarDay, CalendarYear, Committee, DeadLetter, User

# The admin's own login page would sign a user in with the password alone: it sends to ours (SEC-07).
admin.site.login = views.admin_login


class ReadOnlyAdminMixin:
    """For records that change only through services that audit them (cases, the audit trail)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "case_number_prefix"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "committee", "is_active"]
    list_filter = ["committee", "groups", "is_active"]
    fieldsets = (*DjangoUserAdmin.fieldsets, (_("Laojian"), {"fields": ("committee", "display_name", "phone")}))
    readonly_fields = ["password_changed_at"]
    actions = ["reset_second_factor"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (*fieldsets, (_("Sign-in security"), {"fields": ("password_changed_at",)}))

    def has_reset_second_factor_permission(self, request) -> bool:
        return request.user.has_perm("core.reset_second_factor")

    @admin.action(description=_("Reset the authenticator app (the user sets it up again)"),
                  permissions=["reset_second_factor"])
    def reset_second_factor(self, request, queryset):
        """For a lost or replaced phone: removes the app and its recovery codes; each reset is audited."""
        count = sum(totp.device_reset(user, actor=request.user, ip_address=audit.client_ip(request))
                    for user in queryset)
        self.message_user(request, ngettext("%(count)d authenticator app was reset.",
                                            "%(count)d authenticator apps were reset.", count) % {"count": count},
                          messages.SUCCESS)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "complete", "source"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name"]
    list_filter = ["kind"]
    date_hierarchy = "date"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["chain", "seq", "at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["chain", "action"]
    search_fields = ["object_id", "actor_label"]


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Failed background tasks, to look into; `laojian deadletters --retry ID` sends one again."""

    list_display = ["failed_at", "task", "args", "attempts", "retried_at"]
    list_filter = ["task"]
