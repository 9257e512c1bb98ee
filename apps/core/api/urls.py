from apps.core.api.views import JobViewSet

ROUTES = [("jobs", JobViewSet, "job")]
