"""Calendar pages: the scheduler's day and week (clerks and leaders, their own committee), an
expert's own calendar with their iCalendar feed address, and the feed itself.

The feed is read by calendar apps, which cannot sign in: its address carries a long random key
(``CalendarFeed.token``), a wrong or replaced key is a 404, and it names case numbers, times and
places only. Rate-limiting the feed is left to ``LAOJIAN_RATE_LIMITS`` (view name ``sittings:feed``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from laojian.cases.selectors import cases_visible_to
from laojian.core.http import HttpResponseSeeOther
from laojian.core.roles import user_role_codes
from laojian.sittings import calendars

VIEW = "sittings.view_sitting"
MY_CALENDAR_DAYS = 28


def _date_param(request: HttpRequest) -> dt.date:
    """``?date=YYYY-MM-DD``, or today when it is missing or not a date."""
    value = request.GET.get("date", "")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return timezone.localdate()


def _scheduler(request: HttpRequest) -> None:
    user = request.user
    if not user.has_perm(VIEW) or not user.committee_id:
        raise PermissionDenied


def _expert(request: HttpRequest) -> None:
    if "expert" not in user_role_codes(request.user):
        raise PermissionDenied


def feed_url(token: str) -> str:
    return settings.LAOJIAN_PUBLIC_URL.rstrip("/") + reverse("sittings:feed", args=[token])


@require_GET
@login_required
def calendar_day(request: HttpRequest) -> HttpResponse:
    _scheduler(request)
    day = _date_param(request)
    view = calendars.day_view(request.user.committee, day)
    return render(request, "sittings/calendar/day.html", {
        "view": view, "today": timezone.localdate(), "week_monday": calendars.monday_of(day)})


@require_GET
@login_required
def calendar_week(request: HttpRequest) -> HttpResponse:
    _scheduler(request)
    view = calendars.week_view(request.user.committee, _date_param(request))
    return render(request, "sittings/calendar/week.html", {"view": view, "today": timezone.localdate()})


@require_GET
@login_required
def my_calendar(request: HttpRequest) -> HttpResponse:
    _expert(request)
    today = timezone.localdate()
    last = today + dt.timedelta(days=MY_CALENDAR_DAYS - 1)
    events = calendars.expert_calendar(request.user, today, last)
    case_ids = {e.appointment.case_id for e in events if e.appointment is not None}
    openable = set(cases_visible_to(request.user).filter(pk__in=case_ids).values_list("pk", flat=True))
    days: list[tuple[dt.date, list[calendars.ExpertEvent]]] = []
    for event in events:
        if not days or days[-1][0] != event.day:
            days.append((event.day, []))
        days[-1][1].append(event)
    feed = calendars.feed_for(request.user)
    return render(request, "sittings/calendar/my.html", {
        "days": days, "first": today, "last": last, "openable": openable,
        "feed_url": feed_url(feed.token), "feed_days_before": calendars.FEED_DAYS_BEFORE,
        "feed_days_after": calendars.FEED_DAYS_AFTER})


@require_POST
@login_required
def my_feed_rotate(request: HttpRequest) -> HttpResponse:
    _expert(request)
    calendars.feed_rotate(request.user)
    messages.success(request, _("Your calendar has a new address. The old one no longer works: "
                                "subscribe again in your calendar app."))
    return HttpResponseSeeOther(reverse("sittings:my_calendar"))


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed: no sign-in, the key in the address is the credential."""
    user = calendars.feed_user(token)
    if user is None:
        raise Http404(_("No such calendar."))
    body = calendars.to_ics(calendars.feed_events(user),
                            name=_("Appraisal calendar of %(name)s") % {"name": str(user)})
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = 'inline; filename="laojian.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response


routes = [
    path("calendar/", calendar_day, name="calendar"),
    path("calendar/week/", calendar_week, name="calendar_week"),
    path("my/calendar/", my_calendar, name="my_calendar"),
    path("my/calendar/new-address/", my_feed_rotate, name="my_feed_rotate"),
    path("feeds/<str:token>.ics", feed, name="feed"),
]
