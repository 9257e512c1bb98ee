"""Audit capture triggers on the governed MLOps tables.

Audited: connections (configuration, incl. who changed the URI or auth; the secret only as ciphertext), explicit
links, monitoring rules and alerts (people acknowledge and resolve them). Not row-audited: the synced mirror of
MLflow (experiments, runs, registry, LoggedModels, metric points), the sync state and readiness snapshots; they are
high-volume copies or derived data, and each sync that changes something is audited as one `mlflow_sync` event.
"""

from django.db import migrations

from apps.audit.sql import capture_trigger_sql, drop_capture_trigger_sql

VIA_INITIATIVE = (
    "SELECT i.id, i.business_unit_id FROM portfolio_initiative i WHERE i.id = ($1->>'initiative_id')::bigint"
)
TABLES = {
    "mlops_mlflowconnection": "",
    "mlops_modellink": VIA_INITIATIVE,
    "mlops_monitoringrule": VIA_INITIATIVE,
    "mlops_alert": VIA_INITIATIVE,
}


class Migration(migrations.Migration):
    dependencies = [("mlops", "0001_initial"), ("audit", "0004_capture_initiative_grants")]

    operations = [
        migrations.RunSQL(capture_trigger_sql(table, "id", scope), drop_capture_trigger_sql(table))
        for table, scope in TABLES.items()
    ]
