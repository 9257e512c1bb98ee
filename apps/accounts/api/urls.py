from apps.accounts.api.views import BusinessUnitViewSet

ROUTES = [("business-units", BusinessUnitViewSet, "business-unit")]
