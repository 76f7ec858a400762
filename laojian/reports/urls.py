from django.urls import path

from laojian.reports import calibration_views, report_views, views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard.xlsx", views.dashboard_xlsx, name="dashboard_xlsx"),
    path("figures/<slug:figure>.xlsx", views.figure_xlsx, name="figure_xlsx"),
    path("figures/<slug:figure>/<str:bucket>/", views.drill, name="drill"),
    *calibration_views.urlpatterns,
    *report_views.urlpatterns,
]
