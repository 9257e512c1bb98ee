from django.urls import path

from apps.costs import views

app_name = "costs"
urlpatterns = [
    path("", views.portfolio_costs, name="portfolio"),
    path("initiatives/<str:key>/", views.initiative_costs, name="initiative"),
    path("explorer/", views.explorer, name="explorer"),
    path("sources/", views.source_list, name="source_list"),
    path("sources/new/", views.source_create, name="source_create"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/edit/", views.source_edit, name="source_edit"),
    path("sources/<int:pk>/pull/", views.source_pull, name="source_pull"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/retry/", views.import_retry, name="import_retry"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("rules/reallocate/", views.reallocate, name="reallocate"),
    path("fx/", views.fx_list, name="fx_list"),
    path("fx/<int:pk>/delete/", views.fx_delete, name="fx_delete"),
]
