from django.db import migrations

from apps.audit.sql import CAPTURE_FUNCTION, HASH_FUNCTION, STAMP_FUNCTION


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunSQL(HASH_FUNCTION, "DROP FUNCTION IF EXISTS pilotlight_audit_hash CASCADE;"),
        migrations.RunSQL(
            STAMP_FUNCTION,
            "DROP FUNCTION IF EXISTS pilotlight_audit_stamp CASCADE; DROP FUNCTION IF EXISTS pilotlight_audit_refuse CASCADE;",
        ),
        migrations.RunSQL(CAPTURE_FUNCTION, "DROP FUNCTION IF EXISTS pilotlight_audit_capture CASCADE;"),
    ]
