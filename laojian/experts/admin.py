from django.contrib import admin

from laojian.core.admin import ReadOnlyAdminMixin
from laojian.experts.models import (
    CategorySpecialty,
    ConflictDeclaration,
    Draw,
    DrawRules,
    Expert,
    Hospital,
    Specialty,
    TrainingRecord,
    UnavailablePeriod,
)


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "committee"]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category"]


class TrainingInline(admin.TabularInline):
    model = TrainingRecord
    extra = 0


class UnavailableInline(admin.TabularInline):
    model = UnavailablePeriod
    extra = 0


class ConflictInline(admin.TabularInline):
    model = ConflictDeclaration
    extra = 0
    raw_id_fields = ["worker", "employer"]


@admin.register(Expert)
class ExpertAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "hospital", "title", "status", "term_end"]
    list_filter = ["status", "hospital", "specialties"]
    search_fields = ["code", "name"]
    filter_horizontal = ["specialties"]
    inlines = [TrainingInline, UnavailableInline, ConflictInline]


@admin.register(CategorySpecialty)
class CategorySpecialtyAdmin(admin.ModelAdmin):
    list_display = ["category", "specialty"]
    list_filter = ["category"]


@admin.register(DrawRules)
class DrawRulesAdmin(admin.ModelAdmin):
    list_display = ["committee", "panel_size", "complex_panel_size", "min_trainings", "workload_window_days"]


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: draws are written by the draw service only."""

    list_display = ["id", "panel", "kind", "algorithm", "drawn_at", "drawn_by"]
