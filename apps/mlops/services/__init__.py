"""Writes for MLOps: connections, links, the sync, monitoring rules and alerts, readiness history.

Split by topic (one module each); everything public is importable from here.
"""

from apps.mlops.services.connections import (
    connection_config,
    connection_create,
    connection_delete,
    connection_sync_request,
    connection_test,
    connection_test_request,
    connection_update,
    connections_sync_due,
)
from apps.mlops.services.links import links_resolve, model_link_create, model_link_delete
from apps.mlops.services.monitoring import (
    alert_acknowledge,
    alert_notify,
    alert_resolve,
    monitoring_evaluate,
    rule_create,
    rule_delete,
    rule_update,
    rule_verdict,
)
from apps.mlops.services.readiness import readiness_record
from apps.mlops.services.sync import SyncResult, mlflow_sync

__all__ = [
    "SyncResult",
    "alert_acknowledge",
    "alert_notify",
    "alert_resolve",
    "connection_config",
    "connection_create",
    "connection_delete",
    "connection_sync_request",
    "connection_test",
    "connection_test_request",
    "connection_update",
    "connections_sync_due",
    "links_resolve",
    "mlflow_sync",
    "model_link_create",
    "model_link_delete",
    "monitoring_evaluate",
    "readiness_record",
    "rule_create",
    "rule_delete",
    "rule_update",
    "rule_verdict",
]
