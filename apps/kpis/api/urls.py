from apps.kpis.api.views import KPIViewSet, MeasurementViewSet

ROUTES = [("kpis", KPIViewSet, "kpi"), ("measurements", MeasurementViewSet, "measurement")]
