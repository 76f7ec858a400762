from django.urls import path

from laojian.documents import views

app_name = "documents"
urlpatterns = [
    path("documents/cases/<int:case_pk>/", views.case, name="case"),
    path("documents/cases/<int:case_pk>/issue/", views.issue, name="issue"),
    path("documents/cases/<int:case_pk>/<int:pk>/download/", views.download, name="download"),
    path("documents/cases/<int:case_pk>/<int:pk>/reprint/", views.reprint, name="reprint"),
    path("documents/templates/", views.templates, name="templates"),
    path("documents/templates/<str:kind>/", views.template_edit, name="template_edit"),
    path("documents/templates/<str:kind>/pdf/", views.template_pdf, name="template_pdf"),
    # Public, for the QR code printed on a document: no sign-in.
    path("v/", views.verify_lookup, name="verify_lookup"),
    path("v/<str:code>/", views.verify, name="verify"),
]
