"""Audit capture on every compliance table, and evidence made immutable.

The scope SQL is copied here (not read from apps.audit.registry at run time) so this migration stays frozen.
compliance_finding gets two triggers instead of one: inserts and deletes always, updates only when the status or
severity changes, because the nightly audit bumps `last_seen` on every open finding and that bump carries no
information worth a trail event.
"""

from django.db import migrations

from apps.audit.sql import capture_trigger_sql, drop_capture_trigger_sql

VIA_INITIATIVE = (
    "SELECT i.id, i.business_unit_id FROM portfolio_initiative i WHERE i.id = ($1->>'initiative_id')::bigint"
)
VIA_UNIT = "SELECT NULL::bigint, ($1->>'business_unit_id')::bigint"
VIA_EVIDENCE = (
    "SELECT i.id, i.business_unit_id FROM compliance_evidence e JOIN portfolio_initiative i ON i.id = e.initiative_id "
    "WHERE e.id = ($1->>'evidence_id')::bigint"
)
VIA_GATE_REVIEW = (
    "SELECT i.id, i.business_unit_id FROM compliance_gatereview r JOIN portfolio_initiative i "
    "ON i.id = r.initiative_id WHERE r.id = ($1->>'review_id')::bigint"
)

TABLES = {
    "compliance_framework": "",
    "compliance_requirement": "",
    "compliance_gatecriterion": "",
    "compliance_riskclassification": VIA_INITIATIVE,
    "compliance_assessment": VIA_INITIATIVE,
    "compliance_requirementresult": VIA_INITIATIVE,
    "compliance_evidence": VIA_INITIATIVE,
    "compliance_evidencerequirement": VIA_EVIDENCE,
    "compliance_risk": VIA_INITIATIVE,
    "compliance_dataasset": VIA_UNIT,
    "compliance_dataassetlink": VIA_INITIATIVE,
    "compliance_gatereview": VIA_INITIATIVE,
    "compliance_gatereviewapproval": VIA_GATE_REVIEW,
}

_FINDING_SCOPE = VIA_INITIATIVE.replace("'", "''")
FINDING_TRIGGERS = f"""
DROP TRIGGER IF EXISTS audit_capture ON compliance_finding;
CREATE TRIGGER audit_capture AFTER INSERT OR DELETE ON compliance_finding
    FOR EACH ROW EXECUTE FUNCTION pilotlight_audit_capture('id', '{_FINDING_SCOPE}');
DROP TRIGGER IF EXISTS audit_capture_change ON compliance_finding;
CREATE TRIGGER audit_capture_change AFTER UPDATE ON compliance_finding
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.severity IS DISTINCT FROM NEW.severity)
    EXECUTE FUNCTION pilotlight_audit_capture('id', '{_FINDING_SCOPE}');
"""
DROP_FINDING_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_capture ON compliance_finding;
DROP TRIGGER IF EXISTS audit_capture_change ON compliance_finding;
"""

# Evidence is never edited, only superseded. The one column that may change is uploaded_by_id (SET NULL when a
# user is deleted).
EVIDENCE_IMMUTABLE = """
CREATE OR REPLACE FUNCTION compliance_evidence_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Evidence is never edited: upload a new version that supersedes it'
        USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS evidence_immutable ON compliance_evidence;
CREATE TRIGGER evidence_immutable BEFORE UPDATE ON compliance_evidence
    FOR EACH ROW WHEN ((to_jsonb(OLD) - 'uploaded_by_id') IS DISTINCT FROM (to_jsonb(NEW) - 'uploaded_by_id'))
    EXECUTE FUNCTION compliance_evidence_immutable();
"""
DROP_EVIDENCE_IMMUTABLE = """
DROP TRIGGER IF EXISTS evidence_immutable ON compliance_evidence;
DROP FUNCTION IF EXISTS compliance_evidence_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("audit", "0004_capture_initiative_grants")]

    operations = [
        *(
            migrations.RunSQL(capture_trigger_sql(table, "id", scope), drop_capture_trigger_sql(table))
            for table, scope in TABLES.items()
        ),
        migrations.RunSQL(FINDING_TRIGGERS, DROP_FINDING_TRIGGERS),
        migrations.RunSQL(EVIDENCE_IMMUTABLE, DROP_EVIDENCE_IMMUTABLE),
    ]
