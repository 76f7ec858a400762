"""Documents are issued and templates saved through services that audit them: read-only here."""

from django.contrib import admin

from laojian.core.admin import ReadOnlyAdminMixin
from laojian.documents.models import Document, Reprint, Template


@admin.register(Template)
class TemplateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "version", "committee", "title", "created_by", "created_at"]
    list_filter = ["kind", "committee"]


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "title", "case", "issued_on", "issued_by", "signer"]
    search_fields = ["number", "verify_code"]
    list_filter = ["kind"]


@admin.register(Reprint)
class ReprintAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["document", "printed_by", "printed_at", "reason"]
