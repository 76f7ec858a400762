from django.contrib import admin

from laojian.experts.models import Expert, Hospital, Specialty


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "committee"]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category"]


@admin.register(Expert)
class ExpertAdmin(admin.ModelAdmin):
    list_display = ["name", "hospital", "title", "status", "term_end"]
    list_filter = ["status", "hospital", "specialties"]
    filter_horizontal = ["specialties"]
