"""Administration of collective discussions: read only. A meeting, its recusals, votes and signed
minutes change only through the services (and never after the first signature)."""

from django.contrib import admin

from laojian.core.admin import ReadOnlyAdminMixin
from laojian.review.models import AgendaItem, Discussion, Member, Motion, Recusal, Vote


class ReadOnlyInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberInline(ReadOnlyInline):
    model = Member
    fields = ["user", "present", "signed_at", "signature"]


class AgendaItemInline(ReadOnlyInline):
    model = AgendaItem
    fields = ["case", "position", "decision", "decided_at", "removed_at", "minutes_document_id"]


@admin.register(Discussion)
class DiscussionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["held_on", "place", "committee", "state", "quorum", "convened_by"]
    list_filter = ["committee", "state"]
    inlines = [MemberInline, AgendaItemInline]


@admin.register(Recusal)
class RecusalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["item", "member", "reason", "automatic", "recorded_by", "recorded_at"]


class VoteInline(ReadOnlyInline):
    model = Vote
    fields = ["member", "choice", "recorded_by", "at"]


@admin.register(Motion)
class MotionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["item", "decision", "result", "proposed_by", "closed_at"]
    list_filter = ["decision", "result"]
    inlines = [VoteInline]
