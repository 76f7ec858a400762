"""The applicant books the clinic appointment of their own case on the portal: for each of their
cases waiting for one (clinic mode, preliminary review passed), the earliest free slot and a few
alternatives, booked with one press. The rules and the booking are the sittings app's
(``sittings.clinic.clinic_book_by_applicant``): the same checks a clerk's booking goes through.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.portal.views import _applicant_required
from laojian.sittings import clinic, selectors

ALTERNATIVES = 4


def _page(request: HttpRequest, *, errors: dict[int, str] | None = None, status: int = 200) -> HttpResponse:
    rows = []
    for case in clinic.applicant_cases(request.user):
        slots = clinic.next_slots(case, count=ALTERNATIVES + 1)
        rows.append({"case": case, "earliest": slots[0] if slots else None, "slots": slots[1:],
                     "error": (errors or {}).get(case.pk, "")})
    return render(request, "portal/booking.html", {"rows": rows}, status=status)


@require_http_methods(["GET"])
@_applicant_required
def booking(request: HttpRequest) -> HttpResponse:
    """The applicant's cases waiting for a clinic appointment, each with its earliest slot."""
    return _page(request)


@require_http_methods(["POST"])
@_applicant_required
def booking_book(request: HttpRequest, case_id: int) -> HttpResponse:
    """Book the slot chosen for one of the applicant's own cases; another's case is a 404."""
    try:
        entry_id, starts_at = clinic.parse_key(request.POST.get("slot", ""))
        appointment = clinic.clinic_book_by_applicant(case_id, applicant=request.user, entry_id=entry_id,
                                                      starts_at=starts_at, ip_address=audit.client_ip(request))
    except NotFoundError:
        raise Http404() from None
    except ApplicationError as exc:
        return _page(request, errors={case_id: exc.message}, status=400)
    messages.success(request, _("Your clinic appointment is booked: %(when)s, %(place)s. An SMS with the details "
                                "is on its way.") % {"when": selectors.when_text(appointment.starts_at,
                                                                                appointment.ends_at),
                                                     "place": appointment.place})
    return redirect("portal:home")
