from django.urls import path

from laojian.cases import rights_views, views

app_name = "cases"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("register/", views.register, name="register"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/transition/<str:name>/", views.case_transition, name="transition"),
    path("<int:pk>/sensitivity/", views.case_sensitivity, name="sensitivity"),
    path("<int:pk>/materials/upload/", views.material_upload, name="material_upload"),
    path("<int:pk>/materials/check/", views.material_check, name="material_check"),
    path("<int:pk>/materials/<int:material_pk>/", views.material_download, name="material_download"),
    path("<int:pk>/rights/copy/", rights_views.rights_export, name="rights_export"),
    path("<int:pk>/rights/correction/", rights_views.rights_correction, name="rights_correction"),
]
