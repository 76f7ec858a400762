"""Reference data editable in the Django admin; the audit trail is read-only there."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from laojian.core.models import AuditEvent, CalendarDay, CalendarYear, Committee, User


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
