"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

from laojian.crosscheck import api as crosscheck_api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("laojian.core.urls")),
    path("cases/", include("laojian.cases.urls")),
    path("experts/", include("laojian.experts.urls")),
    path("grading/", include("laojian.grading.urls")),
    path("review/", include("laojian.review.urls")),
    path("sittings/", include("laojian.sittings.urls")),
    path("crosscheck/", include("laojian.crosscheck.urls")),
    path("api/crosscheck/", include((crosscheck_api.urlpatterns, "crosscheck_api"))),
    path("", include("laojian.documents.urls")),
    path("notify/", include("laojian.notify.urls")),
    path("portal/", include("laojian.portal.urls")),
]
