from django.urls import path

from laojian.notify import views

app_name = "notify"
urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/retry/", views.retry, name="retry"),
]
