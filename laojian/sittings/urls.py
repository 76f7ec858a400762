"""The sittings app's pages, one route list per area (planning, the day, clinic, visits, calendars)."""

from laojian.sittings import calendar_views, clinic_views, day_views, planning_views, views, visit_views

app_name = "sittings"
urlpatterns = [
    *views.routes,
    *planning_views.routes,
    *day_views.routes,
    *clinic_views.routes,
    *visit_views.routes,
    *calendar_views.routes,
]
