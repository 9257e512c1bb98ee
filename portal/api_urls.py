"""The REST API under /api/v1/: one router over every app's api/urls.py ROUTES."""

from rest_framework.routers import DefaultRouter

from apps.accounts.api.urls import ROUTES as ACCOUNTS_ROUTES
from apps.audit.api.urls import ROUTES as AUDIT_ROUTES
from apps.compliance.api.urls import ROUTES as COMPLIANCE_ROUTES
from apps.core.api.urls import ROUTES as CORE_ROUTES
from apps.costs.api.urls import ROUTES as COSTS_ROUTES
from apps.costs.api.urls import URLS as COSTS_URLS
from apps.kpis.api.urls import ROUTES as KPIS_ROUTES
from apps.mlops.api.urls import ROUTES as MLOPS_ROUTES
from apps.portfolio.api.urls import ROUTES as PORTFOLIO_ROUTES

router = DefaultRouter()
for prefix, viewset, basename in [*ACCOUNTS_ROUTES, *PORTFOLIO_ROUTES, *KPIS_ROUTES, *CORE_ROUTES, *AUDIT_ROUTES]:
    router.register(prefix, viewset, basename=basename)

for prefix, viewset, basename in COSTS_ROUTES:
    router.register(prefix, viewset, basename=basename)
for prefix, viewset, basename in MLOPS_ROUTES:
    router.register(prefix, viewset, basename=basename)

for prefix, viewset, basename in COMPLIANCE_ROUTES:
    router.register(prefix, viewset, basename=basename)

app_name = "api"
urlpatterns = [*COSTS_URLS, *router.urls]
