from django.urls import path

from apps.compliance import views

app_name = "compliance"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("initiatives/<str:key>/", views.initiative_compliance, name="initiative"),
    path("initiatives/<str:key>/classify/", views.classify, name="classify"),
    path("initiatives/<str:key>/evidence/new/", views.evidence_add, name="evidence_add"),
    path("initiatives/<str:key>/run-checks/", views.run_checks, name="run_checks"),
    path("initiatives/<str:key>/assessments/new/", views.assessment_start, name="assessment_start"),
    path("initiatives/<str:key>/risks/new/", views.risk_edit, name="risk_create"),
    path("initiatives/<str:key>/data-assets/link/", views.data_asset_link, name="data_asset_link"),
    path("initiatives/<str:key>/gate-reviews/new/", views.gate_review_request, name="gate_review_request"),
    path("evidence/<int:pk>/download/", views.evidence_download, name="evidence_download"),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment"),
    path("assessments/<int:pk>/<str:verb>/", views.assessment_decide, name="assessment_decide"),
    path("results/<int:pk>/", views.result_update, name="result_update"),
    path("results/<int:pk>/sign-off/", views.result_sign_off, name="result_sign_off"),
    path("risks/", views.risk_list, name="risk_list"),
    path("risks/<int:pk>/edit/", views.risk_edit, name="risk_edit"),
    path("findings/", views.finding_list, name="finding_list"),
    path("data-assets/", views.data_asset_list, name="data_asset_list"),
    path("data-assets/new/", views.data_asset_edit, name="data_asset_create"),
    path("data-assets/<int:pk>/", views.data_asset_edit, name="data_asset"),
    path("data-asset-links/<int:pk>/unlink/", views.data_asset_unlink, name="data_asset_unlink"),
    path("frameworks/", views.framework_list, name="framework_list"),
    path("frameworks/new/", views.framework_edit, name="framework_create"),
    path("frameworks/<slug:slug>/", views.framework_detail, name="framework_detail"),
    path("frameworks/<slug:slug>/edit/", views.framework_edit, name="framework_edit"),
    path("frameworks/<slug:slug>/requirements/new/", views.requirement_edit, name="requirement_create"),
    path("frameworks/<slug:slug>/requirements/<int:pk>/edit/", views.requirement_edit, name="requirement_edit"),
    path("gate-reviews/", views.gate_review_list, name="gate_review_list"),
    path("gate-reviews/<int:pk>/", views.gate_review_detail, name="gate_review"),
    path("gates/", views.gate_criteria, name="gate_criteria"),
]
