from apps.audit.api.views import AuditEventViewSet

ROUTES = [("audit-events", AuditEventViewSet, "audit-event")]
