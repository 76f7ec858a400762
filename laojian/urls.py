"""URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("laojian.core.urls")),
    path("cases/", include("laojian.cases.urls")),
    path("experts/", include("laojian.experts.urls")),
    path("grading/", include("laojian.grading.urls")),
    path("", include("laojian.documents.urls")),
    path("notify/", include("laojian.notify.urls")),
    path("portal/", include("laojian.portal.urls")),
]
