from django.db import migrations

from apps.audit import registry
from apps.audit.sql import capture_trigger_sql, drop_capture_trigger_sql

TABLES = {
    "accounts_businessunit": registry.UNIT_SCOPE,
    "accounts_membership": registry.VIA_UNIT,
    "accounts_user_groups": registry.NO_SCOPE,
    "accounts_user_user_permissions": registry.NO_SCOPE,
    "portfolio_strategicobjective": registry.VIA_UNIT,
    "portfolio_initiative": registry.INITIATIVE_SCOPE,
    "portfolio_initiative_objectives": registry.VIA_INITIATIVE,
    "portfolio_stagetransition": registry.VIA_INITIATIVE,
    "kpis_kpi": registry.VIA_INITIATIVE,
    "kpis_measurement": registry.VIA_KPI,
}


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_chain_triggers"),
        ("accounts", "0001_initial"),
        ("portfolio", "0001_initial"),
        ("kpis", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(capture_trigger_sql(table, "id", scope), drop_capture_trigger_sql(table))
        for table, scope in TABLES.items()
    ]
