from django.urls import path

from laojian.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/transition/<str:name>/", views.case_transition, name="transition"),
]
