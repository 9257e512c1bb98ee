from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_reference_data(using: str = "default", **_kwargs) -> None:
    """Reload the shipped frameworks and default gate criteria when the compliance tables are empty.

    Migration 0003 loads them once; this only matters after a database flush (e.g. between transactional tests,
    which re-emits post_migrate), so an empty database never runs without frameworks and gates.
    """
    from django.db import connections

    from apps.compliance.frameworks import load_frameworks
    from apps.compliance.gates import DEFAULT_GATE_CRITERIA
    from apps.compliance.models import Framework, GateCriterion, Requirement

    if "compliance_gatecriterion" not in connections[using].introspection.table_names():
        return  # compliance migrations not applied (yet)
    if Framework.objects.using(using).exists() or GateCriterion.objects.using(using).exists():
        return
    load_frameworks(framework_model=Framework, requirement_model=Requirement)
    GateCriterion.objects.bulk_create([
        GateCriterion(target_stage=stage, criterion=criterion)
        for stage, criteria in DEFAULT_GATE_CRITERIA.items() for criterion in criteria
    ])


class ComplianceConfig(AppConfig):
    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance and governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(ensure_reference_data, sender=self, dispatch_uid="compliance_reference_data")
