from django.db import migrations

from apps.audit.sql import capture_trigger_sql, drop_capture_trigger_sql

# Frozen copies of the scope SQL in apps/audit/registry.py: (initiative_id, business_unit_id) of each row.
RULE_SCOPE = (
    "SELECT ($1->>'initiative_id')::bigint, COALESCE(($1->>'business_unit_id')::bigint, "
    "(SELECT i.business_unit_id FROM portfolio_initiative i WHERE i.id = ($1->>'initiative_id')::bigint))"
)
TABLES = {
    "costs_costsource": "",
    "costs_allocationrule": RULE_SCOPE,
    "costs_fxrate": "",
}


class Migration(migrations.Migration):
    dependencies = [("costs", "0001_initial"), ("audit", "0004_capture_initiative_grants")]

    operations = [
        migrations.RunSQL(capture_trigger_sql(table, "id", scope), drop_capture_trigger_sql(table))
        for table, scope in TABLES.items()
    ]
