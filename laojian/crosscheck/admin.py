"""Cross-checks are changed through services that audit them (pages, imports, the matching engine):
read-only here, for looking things up."""

from django.contrib import admin

from laojian.core.admin import ReadOnlyAdminMixin
from laojian.crosscheck.models import ClaimedCare, Flag, ImportRun, Letter, MatchRun, Override, Source


@admin.register(ClaimedCare)
class ClaimedCareAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "kind", "hospital_name", "started_on", "ended_on", "icd10", "entered_from"]
    list_filter = ["kind", "entered_from"]
    search_fields = ["hospital_name", "record_number"]


@admin.register(Source)
class SourceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "committee", "kind", "department", "active"]
    list_filter = ["kind", "active"]
    exclude = ["api_token_hash"]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["source", "file_name", "state", "rows_done", "rows_added", "rows_rejected", "finished_at"]
    list_filter = ["state"]


@admin.register(MatchRun)
class MatchRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["committee", "case", "started_at", "finished_at", "cases_checked", "flags_found", "flags_raised"]


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "rule", "hospital_name", "state", "weight", "found_at", "last_seen_at"]
    list_filter = ["rule", "state"]
    search_fields = ["hospital_name"]


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "department", "sent_on", "reply_on"]


@admin.register(Override)
class OverrideAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "by", "at", "used"]
