"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

from laojian.cases import breakglass_views
from laojian.crosscheck import api as crosscheck_api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("laojian.core.urls")),
    path("break-glass/", breakglass_views.break_glass, name="break_glass"),
    path("break-glass/grants/", breakglass_views.break_glass_grants, name="break_glass_grants"),
    path("cases/", include("laojian.cases.urls")),
    path("experts/", include("laojian.experts.urls")),
    path("grading/", include("laojian.grading.urls")),
    path("review/", include("laojian.review.urls")),
    path("sittings/", include("laojian.sittings.urls")),
    path("crosscheck/", include("laojian.crosscheck.urls")),
    path("api/", include("laojian.api.urls")),
    path("api/crosscheck/", include((crosscheck_api.urlpatterns, "crosscheck_api"))),
    path("", include("laojian.documents.urls")),
    path("notify/", include("laojian.notify.urls")),
    path("portal/", include("laojian.portal.urls")),
    path("reports/", include("laojian.reports.urls")),
]
