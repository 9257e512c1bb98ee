from apps.portfolio.api.views import InitiativeViewSet, ObjectiveViewSet

ROUTES = [("objectives", ObjectiveViewSet, "objective"), ("initiatives", InitiativeViewSet, "initiative")]
