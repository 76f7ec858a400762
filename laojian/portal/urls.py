from django.urls import path

from laojian.portal import booking, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("status/", views.status, name="status"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("apply/", views.apply, name="apply"),
    path("apply/draft/", views.draft, name="draft"),
    path("booking/", booking.booking, name="booking"),
    path("booking/<int:case_id>/", booking.booking_book, name="booking_book"),
]
