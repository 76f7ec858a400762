"""URLs of cross-checks: each views module declares its own patterns."""

from laojian.crosscheck import import_views, views

app_name = "crosscheck"

urlpatterns = [*views.urlpatterns, *import_views.urlpatterns]
