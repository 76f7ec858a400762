"""The outbox page: every SMS and e-mail, newest first, with a retry button for failed ones."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.notify import selectors, services
from laojian.notify.models import Notification

PAGE_SIZE = 50


@require_GET
@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("notify.view_notification"):
        raise PermissionDenied
    status = request.GET.get("status", "")
    if status not in Notification.Status.values:
        status = ""
    page = Paginator(selectors.outbox(request.user, status=status or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = {
        "status": {value: str(label) for value, label in Notification.Status.choices},
        "channel": {value: str(label) for value, label in Notification.Channel.choices},
    }
    rows = list(page.object_list)
    for row in rows:
        row.status_label = labels["status"].get(row.status, row.status)
        row.channel_label = labels["channel"].get(row.channel, row.channel)
    return render(request, "notify/outbox.html", {
        "page": page,
        "rows": rows,
        "status": status,
        "status_choices": Notification.Status.choices,
        "can_retry": request.user.has_perm("notify.change_notification"),
    })


@require_POST
@login_required
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("notify.change_notification"):
        raise PermissionDenied
    try:
        services.retry(pk, actor=request.user, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Notification #%(id)s is queued again.") % {"id": pk})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("notify:outbox")
    return HttpResponseSeeOther(target)
