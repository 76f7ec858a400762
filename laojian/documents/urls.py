from django.urls import path

from laojian.documents import views

app_name = "documents"
urlpatterns = [
    path("documents/cases/<int:case_pk>/", views.case, name="case"),
    path("documents/cases/<int:case_pk>/issue/", views.issue, name="issue"),
    path("documents/cases/<int:case_pk>/<int:pk>/download/", views.download, name="download"),
    path("documents/cases/<int:case_pk>/<int:pk>/reprint/", views.reprint, name="reprint"),
    path("documents/cases/<int:case_pk>/<int:pk>/deliveries/", views.delivery_send, name="delivery_send"),
    path("documents/cases/<int:case_pk>/deliveries/<int:delivery_pk>/receipt/", views.delivery_receive,
         name="delivery_receive"),
    path("documents/cases/<int:case_pk>/deliveries/<int:delivery_pk>/receipt/download/",
         views.delivery_receipt_download, name="delivery_receipt_download"),
    path("documents/archive/", views.archive_list, name="archive"),
    path("documents/archive/<int:pk>/", views.archive_package, name="archive_package"),
    path("documents/archive/<int:pk>/check/", views.archive_check, name="archive_check"),
    path("documents/archive/<int:pk>/open/", views.archive_open, name="archive_open"),
    path("documents/templates/", views.templates, name="templates"),
    path("documents/templates/<str:kind>/", views.template_edit, name="template_edit"),
    path("documents/templates/<str:kind>/pdf/", views.template_pdf, name="template_pdf"),
    # Public, for the QR code printed on a document: no sign-in.
    path("v/", views.verify_lookup, name="verify_lookup"),
    path("v/<str:code>/", views.verify, name="verify"),
]
