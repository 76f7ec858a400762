from django.contrib import admin
from django.db.models import Q

from laojian.cases.models import Case, Employer, InjuryDetermination, MaterialType, Worker
from laojian.core.admin import ReadOnlyAdminMixin


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["name", "masked_id_number", "sex", "birth_date", "county"]
    search_fields = ["name"]
    readonly_fields = ["birth_date", "sex"]


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ["name", "credit_code"]
    search_fields = ["name", "credit_code"]


@admin.register(InjuryDetermination)
class InjuryDeterminationAdmin(admin.ModelAdmin):
    list_display = ["number", "worker", "employer", "injury_date"]
    search_fields = ["number"]


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only here: cases change only through the workflow services, which audit every change."""

    list_display = ["number", "committee", "case_type", "mode", "status", "next_due"]
    list_filter = ["committee", "status", "mode", "case_type"]
    search_fields = ["number"]


@admin.register(MaterialType)
class MaterialTypeAdmin(admin.ModelAdmin):
    """The material checklists. Rows without a committee are the defaults for all committees; an
    administrator of a committee sees them and edits the rows of their own committee (a row with
    a default's code replaces that default). Only a superuser edits the defaults themselves.
    Uploaded files are deliberately not in the admin: medical content is read on the case page,
    where each read is audited."""

    list_display = ["case_type", "order", "name", "code", "required", "active", "committee"]
    list_filter = ["case_type", "required", "active", "committee"]
    search_fields = ["name", "code"]
    ordering = ["case_type", "order", "id"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(Q(committee__isnull=True) | Q(committee_id=request.user.committee_id))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.committee_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["committee"]

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.committee_id = request.user.committee_id
        super().save_model(request, obj, form, change)
