from django.urls import path

from laojian.grading import views

app_name = "grading"
urlpatterns = [
    path("clauses/", views.clauses, name="clauses"),
    path("difficult/", views.difficult, name="difficult"),
    path("cases/<int:case_pk>/", views.case, name="case"),
    path("cases/<int:case_pk>/opinion/", views.opinion_start, name="opinion_start"),
    path("cases/<int:case_pk>/approve/", views.conclusion_approve, name="conclusion_approve"),
    path("cases/<int:case_pk>/second-opinion/adopt/", views.adopt_second_opinion, name="adopt_second_opinion"),
    path("cases/<int:case_pk>/extension/request/", views.extension_request, name="extension_request"),
    path("cases/<int:case_pk>/extension/approve/", views.extension_approve, name="extension_approve"),
    path("opinions/<int:pk>/", views.opinion, name="opinion"),
    path("opinions/<int:pk>/edit/", views.opinion_edit, name="opinion_edit"),
    path("opinions/<int:pk>/correct/", views.opinion_correct, name="opinion_correct"),
    path("opinions/<int:pk>/preview/", views.combine_preview, name="combine_preview"),
    path("opinions/<int:pk>/lookup/", views.clause_lookup, name="clause_lookup"),
    path("opinions/<int:pk>/pick/", views.clause_pick, name="clause_pick"),
]
