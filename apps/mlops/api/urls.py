from apps.mlops.api.views import (
    AlertViewSet,
    MLflowConnectionViewSet,
    ModelLinkViewSet,
    ModelVersionViewSet,
    MonitoringRuleViewSet,
    ReadinessViewSet,
    RegisteredModelViewSet,
    RunViewSet,
)

ROUTES = [
    ("mlflow-connections", MLflowConnectionViewSet, "mlflow-connection"),
    ("model-links", ModelLinkViewSet, "model-link"),
    ("registered-models", RegisteredModelViewSet, "registered-model"),
    ("model-versions", ModelVersionViewSet, "model-version"),
    ("runs", RunViewSet, "run"),
    ("monitoring-rules", MonitoringRuleViewSet, "monitoring-rule"),
    ("alerts", AlertViewSet, "alert"),
    ("readiness", ReadinessViewSet, "readiness"),
]
