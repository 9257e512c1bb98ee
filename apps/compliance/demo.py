"""`make demo` support: assessments with a realistic spread of results for a dozen demo initiatives, so the posture
heatmap and the compliance tabs show a portfolio part-way through its compliance work. Idempotent."""

from __future__ import annotations

import random

from django.core.exceptions import ValidationError

from apps.accounts.choices import GlobalRole
from apps.accounts.models import User
from apps.compliance.choices import ResultStatus
from apps.compliance.models import Assessment, Framework, RequirementResult
from apps.compliance.services.assessments import assessment_start, result_set
from apps.portfolio.choices import Stage
from apps.portfolio.models import Initiative

DEMO_FRAMEWORKS = ("EU AI Act", "GDPR", "ISO/IEC 42001")
# Later stages are further along: (compliant, partial, non-compliant) shares; the rest stays not assessed.
SPREAD = {Stage.SCALED: (0.8, 0.1, 0.05), Stage.PRODUCTION: (0.65, 0.15, 0.08), Stage.PILOT: (0.35, 0.2, 0.1)}


def seed_demo_compliance(*, initiatives: int = 12, seed: int = 42) -> dict[str, int]:
    """Start assessments of the demo's later-stage initiatives and set their results (through the services)."""
    actor = User.objects.filter(groups__name=GlobalRole.COMPLIANCE_OFFICER, is_active=True).order_by("pk").first()
    if actor is None:
        raise RuntimeError("seed_demo_compliance needs a compliance officer (run seed_demo first).")
    if Assessment.objects.filter(started_by=actor).exists():
        return {"assessments": 0, "results": 0}
    rng = random.Random(seed)
    frameworks = [f for f in Framework.objects.filter(active=True).order_by("name")
                  if any(f.name.startswith(name) or f.short_name == name for name in DEMO_FRAMEWORKS)]
    chosen = Initiative.objects.filter(stage__in=list(SPREAD)).order_by("key")[:initiatives]
    assessments = results = 0
    for initiative in chosen:
        compliant, partial, failing = SPREAD[initiative.stage]
        for framework in frameworks:
            try:
                assessment = assessment_start(actor=actor, initiative=initiative, framework=framework)
            except ValidationError:
                continue  # nothing of this framework applies to the initiative
            assessments += 1
            for result in RequirementResult.objects.filter(assessment=assessment, automatic=False).order_by("pk"):
                draw = rng.random()
                if draw < compliant:
                    status = ResultStatus.COMPLIANT
                elif draw < compliant + partial:
                    status = ResultStatus.PARTIAL
                elif draw < compliant + partial + failing:
                    status = ResultStatus.NON_COMPLIANT
                else:
                    continue
                result_set(actor=actor, result=result, status=status, note="Demo assessment")
                results += 1
    return {"assessments": assessments, "results": results}
