from django.urls import path

from apps.portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("initiatives/", views.initiative_list_view, name="initiative_list"),
    path("initiatives/new/", views.initiative_create_view, name="initiative_create"),
    path("initiatives/<str:key>/", views.initiative_detail, name="initiative_detail"),
    path("initiatives/<str:key>/edit/", views.initiative_edit, name="initiative_edit"),
    path("initiatives/<str:key>/access/", views.initiative_access, name="initiative_access"),
    path("initiatives/<str:key>/move/", views.initiative_transition_view, name="initiative_transition"),
    path("initiatives/<str:key>/kpis/new/", views.kpi_create_view, name="kpi_create"),
    path("kpis/<int:pk>/edit/", views.kpi_edit, name="kpi_edit"),
    path("kpis/<int:pk>/measurements/", views.measurement_create, name="measurement_create"),
]
