"""Governed tables: every insert, update and delete on these lands in the audit trail.

Each entry: table -> SQL that maps the row (jsonb $1) to (initiative_id, business_unit_id). Migrations install
the triggers for the tables they name (a migration never reads this dict at run time, so it stays frozen); a later
app adds its tables here and in a migration of its own that runs apps.audit.sql.capture_trigger_sql for each.
"""

INITIATIVE_SCOPE = "SELECT ($1->>'id')::bigint, ($1->>'business_unit_id')::bigint"
VIA_INITIATIVE = (
    "SELECT i.id, i.business_unit_id FROM portfolio_initiative i WHERE i.id = ($1->>'initiative_id')::bigint"
)
VIA_KPI = (
    "SELECT i.id, i.business_unit_id FROM kpis_kpi k JOIN portfolio_initiative i ON i.id = k.initiative_id "
    "WHERE k.id = ($1->>'kpi_id')::bigint"
)
UNIT_SCOPE = "SELECT NULL::bigint, ($1->>'id')::bigint"
VIA_UNIT = "SELECT NULL::bigint, ($1->>'business_unit_id')::bigint"
VIA_GRANT = (
    "SELECT i.id, i.business_unit_id FROM portfolio_initiative i WHERE i.id = ($1->>'content_object_id')::bigint"
)
NO_SCOPE = ""
VIA_RULE_TARGET = (  # cost allocation rules target an initiative or a business unit
    "SELECT ($1->>'initiative_id')::bigint, COALESCE(($1->>'business_unit_id')::bigint, "
    "(SELECT i.business_unit_id FROM portfolio_initiative i WHERE i.id = ($1->>'initiative_id')::bigint))"
)
VIA_EVIDENCE = (
    "SELECT i.id, i.business_unit_id FROM compliance_evidence e JOIN portfolio_initiative i ON i.id = e.initiative_id "
    "WHERE e.id = ($1->>'evidence_id')::bigint"
)
VIA_GATE_REVIEW = (
    "SELECT i.id, i.business_unit_id FROM compliance_gatereview r JOIN portfolio_initiative i "
    "ON i.id = r.initiative_id WHERE r.id = ($1->>'review_id')::bigint"
)

GOVERNED_TABLES: dict[str, str] = {
    "accounts_businessunit": UNIT_SCOPE,
    "accounts_membership": VIA_UNIT,
    "accounts_user_groups": NO_SCOPE,
    "accounts_user_user_permissions": NO_SCOPE,
    "portfolio_strategicobjective": VIA_UNIT,
    "portfolio_initiative": INITIATIVE_SCOPE,
    "portfolio_initiative_objectives": VIA_INITIATIVE,
    "portfolio_stagetransition": VIA_INITIATIVE,
    "kpis_kpi": VIA_INITIATIVE,
    "kpis_measurement": VIA_KPI,
    "portfolio_initiativeuserobjectpermission": VIA_GRANT,
    "portfolio_initiativegroupobjectpermission": VIA_GRANT,
    # costs (apps/costs/migrations/0002_audit_capture.py); line items and rollups are not row-audited: each import
    # and re-allocation is one security event (cost_import / cost_reallocation) instead.
    "costs_costsource": NO_SCOPE,
    "costs_allocationrule": VIA_RULE_TARGET,
    "costs_fxrate": NO_SCOPE,
    # compliance (apps/compliance/migrations/0002_audit_triggers.py). compliance_finding's trigger skips updates that
    # change neither status nor severity (the nightly last_seen bump).
    "compliance_framework": NO_SCOPE,
    "compliance_requirement": NO_SCOPE,
    "compliance_gatecriterion": NO_SCOPE,
    "compliance_riskclassification": VIA_INITIATIVE,
    "compliance_assessment": VIA_INITIATIVE,
    "compliance_requirementresult": VIA_INITIATIVE,
    "compliance_evidence": VIA_INITIATIVE,
    "compliance_evidencerequirement": VIA_EVIDENCE,
    "compliance_finding": VIA_INITIATIVE,
    "compliance_risk": VIA_INITIATIVE,
    "compliance_dataasset": VIA_UNIT,
    "compliance_dataassetlink": VIA_INITIATIVE,
    "compliance_gatereview": VIA_INITIATIVE,
    "compliance_gatereviewapproval": VIA_GATE_REVIEW,
    "mlops_mlflowconnection": NO_SCOPE,
    "mlops_modellink": VIA_INITIATIVE,
    "mlops_monitoringrule": VIA_INITIATIVE,
    "mlops_alert": VIA_INITIATIVE,
}
