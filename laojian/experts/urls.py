from django.urls import path

from laojian.experts import views

app_name = "experts"
urlpatterns = [
    path("cases/<int:case_id>/draw/", views.case_draw, name="case_draw"),
    path("cases/<int:case_id>/draw/run/", views.case_draw_run, name="case_draw_run"),
    path("cases/<int:case_id>/draw/second-opinion/", views.case_second_opinion_run, name="case_second_opinion_run"),
    path("cases/<int:case_id>/draw/treating/", views.case_treating_add, name="case_treating_add"),
    path("cases/<int:case_id>/draw/exclude/", views.case_exclusion_add, name="case_exclusion_add"),
    path("draws/<int:pk>/", views.draw_record, name="draw_record"),
    path("members/<int:member_id>/confirm/", views.member_confirm, name="member_confirm"),
    path("members/<int:member_id>/decline/", views.member_decline, name="member_decline"),
    path("members/<int:member_id>/decline-for/", views.member_decline_for, name="member_decline_for"),
    path("me/", views.workbench, name="workbench"),
    path("draw/batch/", views.batch_draw, name="batch_draw"),
    path("fairness/", views.fairness, name="fairness"),
    path("pool/", views.pool_list, name="pool_list"),
    path("pool/experts/new/", views.expert_new, name="expert_new"),
    path("pool/experts/<int:pk>/", views.expert_detail, name="expert_detail"),
    path("pool/experts/<int:pk>/trainings/", views.training_add, name="training_add"),
    path("pool/experts/<int:pk>/unavailable/", views.unavailable_add, name="unavailable_add"),
    path("pool/experts/<int:pk>/conflicts/", views.conflict_add, name="conflict_add"),
    path("pool/trainings/<int:pk>/remove/", views.training_remove, name="training_remove"),
    path("pool/unavailable/<int:pk>/remove/", views.unavailable_remove, name="unavailable_remove"),
    path("pool/conflicts/<int:pk>/remove/", views.conflict_remove, name="conflict_remove"),
    path("pool/hospitals/", views.hospitals, name="hospitals"),
    path("pool/hospitals/<int:pk>/", views.hospital_edit, name="hospital_edit"),
    path("pool/export.xlsx", views.pool_export, name="pool_export"),
    path("pool/import/", views.pool_import, name="pool_import"),
]
