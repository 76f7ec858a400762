"""The audit trail page for the auditor (issue 10): the entries of their scope, filtered, and the
chain check on demand. Thin: ``audit_selectors`` decides what is visible; reading it is audited."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from laojian.core import audit, audit_selectors
from laojian.core.audit_selectors import TrailFilters
from laojian.core.exports import xlsx_append
from laojian.core.http import XLSX, attachment

PAGE_SIZE = 50
# An export holds at most this many entries (newest first); a longer period is split by dates.
EXPORT_MAX = 100_000
# Dates outside these bounds are typing mistakes (and would overflow the day arithmetic).
FIRST_DATE = dt.date(2000, 1, 1)
LAST_DATE = dt.date(2999, 12, 31)


class AuditTrailFilterForm(forms.Form):
    first = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.CharField(label=_("Action begins with"), max_length=60, required=False,
                             help_text=_("e.g. case_ or login"))
    actor = forms.CharField(label=_("Actor name contains"), max_length=150, required=False)
    object_type = forms.CharField(label=_("Object type"), max_length=60, required=False,
                                  help_text=_("e.g. cases.case"))
    object_id = forms.CharField(label=_("Object id"), max_length=40, required=False)

    def clean(self):
        data = super().clean()
        for name in ("first", "last"):
            value = data.get(name)
            if value is not None and not FIRST_DATE <= value <= LAST_DATE:
                self.add_error(name, _("Choose a date between %(first)s and %(last)s.")
                               % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()})
        first, last = data.get("first"), data.get("last")
        if first and last and last < first:
            self.add_error("last", _("The end of the period is before its start."))
        return data

    def filters(self) -> TrailFilters:
        """The filters of a valid form."""
        d = self.cleaned_data
        return TrailFilters(first=d.get("first"), last=d.get("last"), action=d.get("action") or "",
                            actor=d.get("actor") or "", object_type=d.get("object_type") or "",
                            object_id=d.get("object_id") or "")

    def query(self) -> str:
        """The filters of a valid form as a query string, for the pager links."""
        return urlencode({name: value.isoformat() if isinstance(value, dt.date) else value
                          for name, value in self.cleaned_data.items() if value not in (None, "")})


@never_cache
@login_required
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse:
    """The audit trail of the auditor's committee (and its cities' for a province), newest first.

    The chains are verified only when asked (``?verify=1``): the check reads each chain whole.
    """
    if not request.user.has_perm(audit_selectors.PERMISSION):
        raise PermissionDenied
    form = AuditTrailFilterForm(request.GET)
    context: dict = {"form": form, "verify_requested": request.GET.get("verify") == "1"}
    if form.is_valid():
        filters = form.filters()
        page = Paginator(audit_selectors.events_visible_to(request.user, filters), PAGE_SIZE).get_page(
            request.GET.get("page"))
        # Read the page before recording the read, so the list and its count see the same entries.
        rows = [{"event": event, "details": audit_selectors.event_details(event)} for event in page]
        chain_reports = audit_selectors.verify_scope(request.user) if context["verify_requested"] else None
        audit.record("audit.read", actor=request.user, committee=request.user.committee,
                     object_type="core.auditevent",
                     after={"filters": filters.for_audit(), "page": page.number, "verified": chain_reports is not None},
                     ip_address=audit.client_ip(request))
        context.update(page=page, query=form.query(), chain_reports=chain_reports, rows=rows)
    return render(request, "core/audit_trail.html", context)


def _trail_workbook(rows, truncated: bool) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(gettext("Audit trail"))
    xlsx_append(ws, [gettext("Time"), gettext("Actor"), gettext("Action"), gettext("Object type"),
                     gettext("Object id"), gettext("Details"), gettext("IP address"), gettext("Chain"),
                     gettext("Entry")])
    for event in rows:
        xlsx_append(ws, [timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"), event.actor_label, event.action,
                         event.object_type, event.object_id, audit_selectors.event_details(event, limit=None),
                         event.ip_address or "", event.chain, event.seq])
    if truncated:
        xlsx_append(ws, [gettext("Only the newest %(count)d entries are exported: narrow the dates.")
                         % {"count": EXPORT_MAX}])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@never_cache
@login_required
@require_GET
def audit_trail_export(request: HttpRequest) -> HttpResponse:
    """The filtered audit trail as an Excel file for the auditor (SEC-51: read and export only).

    The export is itself an entry of the trail, with the filters used and the number of rows.
    """
    if not request.user.has_perm(audit_selectors.PERMISSION):
        raise PermissionDenied
    form = AuditTrailFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "core/audit_trail.html", {"form": form, "verify_requested": False}, status=400)
    filters = form.filters()
    rows = list(audit_selectors.events_visible_to(request.user, filters)[: EXPORT_MAX + 1])
    truncated = len(rows) > EXPORT_MAX
    rows = rows[:EXPORT_MAX]
    content = _trail_workbook(rows, truncated)
    audit.record("audit.export", actor=request.user, committee=request.user.committee,
                 object_type="core.auditevent",
                 after={"filters": filters.for_audit(), "rows": len(rows), "truncated": truncated},
                 ip_address=audit.client_ip(request))
    return attachment(content, XLSX, f"audit-trail-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
