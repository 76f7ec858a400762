"""Pages of the preliminary review (初审): the review page of one case and the reviewer's queue.

Thin: ``preliminary`` reads, ``cases.services.transition`` writes; an ``ApplicationError`` becomes a
message and a ``NotFoundError`` a 404. The page is for reviewers; everyone else gets a 404, as for
a case they may not see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases import selectors as case_selectors
from laojian.cases import services as case_services
from laojian.cases.models import Case
from laojian.cases.workflow import TRANSITIONS
from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.review import preliminary

REVIEW_PERM = "cases.review_case"


def _not_found() -> Http404:
    return Http404(_("No such case, or it is not yours to see."))


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    if not request.user.has_perm(REVIEW_PERM):
        raise _not_found()
    try:
        return case_selectors.case_get_for(request.user, pk)
    except NotFoundError:
        raise _not_found() from None


@require_GET
@login_required
def review_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The reviewer's checklist for one case, the history of returns, and the three steps."""
    case = _case_or_404(request, pk)
    review = preliminary.review_of(request.user, case)
    return render(request, "review/preliminary.html", {"case": case, "review": review})


@require_POST
@login_required
def review_step(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Pass, pass marked difficult, or return to the clerk: one workflow step each."""
    if name not in preliminary.REVIEW_STEPS:
        raise _not_found()
    if not request.user.has_perm(REVIEW_PERM):
        raise PermissionDenied
    case = _case_or_404(request, pk)
    target = reverse("review:preliminary", args=[case.pk])
    try:
        expected_version: int | None = int(request.POST["version"])
    except (KeyError, ValueError):
        expected_version = None
    try:
        updated = case_services.transition(case.pk, name, actor=request.user, note=request.POST.get("note", ""),
                                           expected_version=expected_version, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise _not_found() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseSeeOther(target)
    messages.success(request, _("Done: “%(action)s”. The case is now “%(status)s”.")
                     % {"action": TRANSITIONS[name].label, "status": updated.get_status_display()})
    if name == "return_to_clerk":
        return HttpResponseSeeOther(target)
    return HttpResponseSeeOther(reverse("review:preliminary_queue"))


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The reviewer's queue: accepted cases of the committee awaiting review, the longest waiting first."""
    if not request.user.has_perm(REVIEW_PERM):
        raise _not_found()
    return render(request, "review/preliminary_queue.html", {"rows": preliminary.preliminary_queue(request.user)})


urlpatterns = [
    path("preliminary/", queue, name="preliminary_queue"),
    path("cases/<int:pk>/preliminary/", review_page, name="preliminary"),
    path("cases/<int:pk>/preliminary/<str:name>/", review_step, name="preliminary_step"),
]
