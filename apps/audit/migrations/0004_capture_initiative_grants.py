from django.db import migrations

from apps.audit import registry
from apps.audit.sql import capture_trigger_sql, drop_capture_trigger_sql

TABLES = {
    "portfolio_initiativeuserobjectpermission": registry.VIA_GRANT,
    "portfolio_initiativegroupobjectpermission": registry.VIA_GRANT,
}


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_capture_governed_tables"), ("portfolio", "0002_initiative_object_permissions")]

    operations = [
        migrations.RunSQL(capture_trigger_sql(table, "id", scope), drop_capture_trigger_sql(table))
        for table, scope in TABLES.items()
    ]
