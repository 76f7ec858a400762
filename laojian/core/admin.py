"""Reference data editable in the Django admin; the audit trail is read-only there."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from laojian.core import audit, roles, totp, views
from laojian.core.errors import ValidationFailed
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


class RolesCheckedUserChangeForm(UserChangeForm):
    """The user form, refusing roles that join two of the administrators in one account."""

    def clean_groups(self):
        groups = self.cleaned_data.get("groups")
        if groups is not None:
            try:
                roles.check_separation({g.name for g in groups})
            except ValidationFailed as exc:
                raise forms.ValidationError(exc.message) from None
        return groups


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users. Roles are the only permissions a user holds: only the security administrator gives
    them (``core.assign_roles``), never together with another administrator's, and every change of
    roles is audited. No one is made a superuser here."""

    form = RolesCheckedUserChangeForm
    list_display = ["username", "display_name", "committee", "is_active"]
    list_filter = ["committee", "groups", "is_active"]
    actions = ["reset_second_factor"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        access = ["is_active", "is_staff"] + (["groups"] if request.user.has_perm("core.assign_roles") else [])
        return (
            (None, {"fields": ("username", "password")}),
            (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (_("Laojian"), {"fields": ("committee", "display_name", "phone")}),
            (_("Access"), {"fields": access}),
            (_("Sign-in security"), {"fields": ("password_changed_at", "last_login", "date_joined")}),
        )

    def get_readonly_fields(self, request, obj=None):
        return ["password_changed_at", "last_login", "date_joined"]

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.groups.values_list("name", flat=True))
        if before != after:
            audit.record("user.roles", actor=request.user, obj=form.instance, ip_address=audit.client_ip(request),
                         before={"roles": sorted(before)}, after={"roles": sorted(after)})

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
