from django.contrib import admin

from laojian.cases.models import Case, Employer, InjuryDetermination, Worker
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
