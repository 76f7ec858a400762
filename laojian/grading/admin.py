"""Administration of the grading standard (read-only: editions are imported, never edited), the
paid-leave catalogue and each committee's grading rules."""

from django.contrib import admin

from laojian.core.admin import ReadOnlyAdminMixin
from laojian.grading.models import Clause, Edition, GradePrinciple, GradingRules, LeavePeriod


@admin.register(Edition)
class EditionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "title", "effective_from", "current", "imported_at"]


@admin.register(Clause)
class ClauseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "grade", "categories", "body_parts", "criterion", "edition"]
    list_filter = ["edition", "grade"]
    search_fields = ["number", "criterion"]


@admin.register(GradePrinciple)
class GradePrincipleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["edition", "grade", "text"]


@admin.register(LeavePeriod)
class LeavePeriodAdmin(admin.ModelAdmin):
    list_display = ["icd10", "name", "body_region", "max_months"]
    search_fields = ["icd10", "name"]
    list_filter = ["body_region"]


@admin.register(GradingRules)
class GradingRulesAdmin(admin.ModelAdmin):
    list_display = ["committee", "grade_tolerance", "care_must_match", "months_tolerance", "leave_months",
                    "leave_extension_months", "leave_total_months"]
