"""URLs of checks and balances: each area's views module declares its own patterns."""

from laojian.review import preliminary_views, reappraisal_views, views

app_name = "review"

urlpatterns = [*views.urlpatterns, *preliminary_views.urlpatterns, *reappraisal_views.urlpatterns]
