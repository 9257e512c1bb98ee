from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_log, name="log"),
    path("export.csv", views.audit_export, name="export"),
    path("initiatives/<str:key>/", views.initiative_history_view, name="initiative_history"),
]
