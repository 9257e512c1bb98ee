from django.db import migrations

from apps.audit.registry import GOVERNED_TABLES
from apps.audit.sql import capture_trigger_sql, drop_capture_trigger_sql


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_chain_triggers"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("portfolio", "0001_initial"),
        ("kpis", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(capture_trigger_sql(table, "id", scope), drop_capture_trigger_sql(table))
        for table, scope in GOVERNED_TABLES.items()
    ]
