from django.urls import path

from laojian.portal import views

app_name = "portal"
urlpatterns = [
    path("status/", views.status, name="status"),
]
