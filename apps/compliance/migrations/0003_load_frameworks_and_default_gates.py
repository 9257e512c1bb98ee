"""Load the shipped frameworks (fixtures/frameworks/*.yaml) and install the default stage-gate criteria.

Both steps are idempotent and leave existing rows alone, so `manage.py load_frameworks` can run again at any time.
The default criteria are written out here (not imported) so this migration stays frozen.
"""

from django.db import migrations

PILOT = ["owner_set", "sponsor_set", "kpi_with_baseline", "classified", "not_prohibited"]
PRODUCTION = [*PILOT, "readiness_passing", "assessments_approved", "no_open_high_findings", "dpia_if_personal_data"]
DEFAULT_GATES = {"pilot": PILOT, "production": PRODUCTION}


def load(apps, schema_editor):
    from apps.compliance.frameworks import load_frameworks

    load_frameworks(framework_model=apps.get_model("compliance", "Framework"),
                    requirement_model=apps.get_model("compliance", "Requirement"))
    criterion_model = apps.get_model("compliance", "GateCriterion")
    for stage, criteria in DEFAULT_GATES.items():
        for criterion in criteria:
            criterion_model.objects.get_or_create(target_stage=stage, criterion=criterion,
                                                  defaults={"risk_tiers": [], "active": True})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_audit_triggers")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
