from django.urls import path

from apps.mlops import views

app_name = "mlops"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("initiatives/<str:key>/models/", views.initiative_models, name="initiative_models"),
    path("initiatives/<str:key>/links/", views.link_create, name="link_create"),
    path("links/<int:pk>/delete/", views.link_delete, name="link_delete"),
    path("initiatives/<str:key>/rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("connections/", views.connection_list, name="connection_list"),
    path("connections/new/", views.connection_create, name="connection_create"),
    path("connections/<int:pk>/edit/", views.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/delete/", views.connection_delete, name="connection_delete"),
    path("connections/<int:pk>/sync/", views.connection_sync, name="connection_sync"),
    path("connections/<int:pk>/test/", views.connection_test, name="connection_test"),
]
