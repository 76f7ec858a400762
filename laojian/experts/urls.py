from django.urls import path

from laojian.experts import views

app_name = "experts"
urlpatterns = [
    path("cases/<int:case_id>/draw/", views.case_draw, name="case_draw"),
    path("cases/<int:case_id>/draw/run/", views.case_draw_run, name="case_draw_run"),
    path("cases/<int:case_id>/draw/treating/", views.case_treating_add, name="case_treating_add"),
    path("cases/<int:case_id>/draw/exclude/", views.case_exclusion_add, name="case_exclusion_add"),
    path("draws/<int:pk>/", views.draw_record, name="draw_record"),
    path("members/<int:member_id>/confirm/", views.member_confirm, name="member_confirm"),
    path("members/<int:member_id>/decline/", views.member_decline, name="member_decline"),
    path("members/<int:member_id>/decline-for/", views.member_decline_for, name="member_decline_for"),
    path("me/", views.workbench, name="workbench"),
    path("fairness/", views.fairness, name="fairness"),
    path("pool/export.xlsx", views.pool_export, name="pool_export"),
    path("pool/import/", views.pool_import, name="pool_import"),
]
