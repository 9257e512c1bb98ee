"""Stage gates: what an initiative must show before it enters a stage, and the check the stage-move service calls.

Criteria are configured as data (GateCriterion: target stage, criterion code, risk tiers it applies to); the
codes and how each is evaluated live here. A move into a stage whose active criteria are unmet is refused with the
list of unmet criteria, unless an approved, unexpired gate review (an exception) for that initiative and stage
waives exactly those criteria.

`apps.portfolio.services.initiative_transition` calls `gate_check`; `COMPLIANCE_GATES_ENABLED = False` (tests of
other areas) or the `gates_suspended()` context (importing history, e.g. the demo seed) turns gates off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.compliance.choices import (
    ASSESSED_STATUSES,
    HIGH_SEVERITIES,
    AssessmentStatus,
    CheckCode,
    FindingStatus,
    GateReviewStatus,
)
from apps.portfolio.choices import RiskTier, Stage
from apps.portfolio.models import Initiative

_suspended: ContextVar[bool] = ContextVar("compliance_gates_suspended", default=False)


@contextmanager
def gates_suspended() -> Iterator[None]:
    """Record stage moves without gate checks inside this block (for importing history that already happened)."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def gates_enabled() -> bool:
    return bool(getattr(settings, "COMPLIANCE_GATES_ENABLED", True)) and not _suspended.get()


# --- facts about one initiative, loaded on demand -------------------------------------------------------------------


class GateFacts:
    """What the criteria look at, for one initiative about to enter `target_stage`; each fact is one query at most."""

    def __init__(self, initiative: Initiative, target_stage: str) -> None:
        self.initiative = initiative
        self.target_stage = target_stage

    @cached_property
    def checks(self) -> dict[str, tuple[bool, str]]:
        from apps.compliance.checks import run_checks_for

        return run_checks_for(self.initiative)

    @cached_property
    def has_kpi_with_baseline(self) -> bool:
        return self.initiative.kpis.filter(baseline_value__isnull=False, baseline_date__isnull=False).exists()

    @cached_property
    def open_high_findings(self) -> list[str]:
        from apps.compliance.models import Finding

        return list(Finding.objects.filter(initiative=self.initiative, status=FindingStatus.OPEN,
                                           severity__in=HIGH_SEVERITIES).values_list("message", flat=True)[:5])

    @cached_property
    def assessment_gaps(self) -> list[str]:
        """One line per applicable framework without an approved, complete assessment (applicability as if the
        initiative were already in the target stage)."""
        from apps.compliance.applicability import applicable_to
        from apps.compliance.models import Assessment, Requirement, RequirementResult

        applicable = list(Requirement.objects.filter(applicable_to(self.initiative, stage=self.target_stage))
                          .values_list("id", "framework_id", "framework__short_name"))
        frameworks = {framework_id: name for _, framework_id, name in applicable}
        assessments = {a.framework_id: a for a in Assessment.objects.filter(initiative=self.initiative,
                                                                             framework_id__in=frameworks)}
        done = set(RequirementResult.objects.filter(
            initiative=self.initiative, requirement_id__in=[req_id for req_id, _, _ in applicable],
            status__in=ASSESSED_STATUSES,
        ).values_list("requirement_id", flat=True))
        open_by_framework: dict[int, int] = {}
        for req_id, framework_id, _ in applicable:
            if req_id not in done:
                open_by_framework[framework_id] = open_by_framework.get(framework_id, 0) + 1
        gaps = []
        for framework_id, name in sorted(frameworks.items(), key=lambda item: item[1]):
            assessment = assessments.get(framework_id)
            if assessment is None:
                gaps.append(f"{name}: no assessment")
            elif assessment.status != AssessmentStatus.APPROVED:
                gaps.append(f"{name}: assessment not approved")
            elif open_by_framework.get(framework_id):
                gaps.append(f"{name}: {open_by_framework[framework_id]} requirement(s) not assessed or non-compliant")
        return gaps

    @cached_property
    def readiness(self) -> tuple[bool, str]:
        from apps.compliance.checks import readiness_for

        return readiness_for(self.initiative)


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    evaluate: Callable[[GateFacts], tuple[bool, str]]


def _owner(facts: GateFacts) -> tuple[bool, str]:
    return (True, "") if facts.initiative.owner_id else (False, "no owner")


def _sponsor(facts: GateFacts) -> tuple[bool, str]:
    return (True, "") if facts.initiative.sponsor_id else (False, "no executive sponsor")


def _kpi(facts: GateFacts) -> tuple[bool, str]:
    return (True, "") if facts.has_kpi_with_baseline else (False, "no KPI with a baseline")


def _classified(facts: GateFacts) -> tuple[bool, str]:
    passed, reason = facts.checks[CheckCode.CLASSIFICATION_DONE]
    if facts.initiative.risk_tier == RiskTier.PROHIBITED:
        return True, ""  # recorded; the not_prohibited criterion refuses it with its own message
    return passed, "" if passed else reason


def _not_prohibited(facts: GateFacts) -> tuple[bool, str]:
    if facts.initiative.risk_tier == RiskTier.PROHIBITED:
        return False, "classified as a prohibited practice (EU AI Act Art. 5)"
    return True, ""


def _readiness(facts: GateFacts) -> tuple[bool, str]:
    return facts.readiness


def _assessments(facts: GateFacts) -> tuple[bool, str]:
    gaps = facts.assessment_gaps
    return (not gaps, "; ".join(gaps))


def _no_high_findings(facts: GateFacts) -> tuple[bool, str]:
    findings = facts.open_high_findings
    if not findings:
        return True, ""
    return False, f"{len(findings)}{'+' if len(findings) == 5 else ''} open: " + "; ".join(findings)


def _dpia(facts: GateFacts) -> tuple[bool, str]:
    passed, reason = facts.checks[CheckCode.DPIA_PRESENT]
    return passed, "" if passed else "personal data is processed but no DPIA evidence is on file"


def _check(code: str) -> Callable[[GateFacts], tuple[bool, str]]:
    def evaluate(facts: GateFacts) -> tuple[bool, str]:
        passed, reason = facts.checks[code]
        return passed, "" if passed else reason

    return evaluate


CRITERIA: dict[str, Criterion] = {
    criterion.code: criterion
    for criterion in (
        Criterion("owner_set", "An accountable owner is set", _owner),
        Criterion("sponsor_set", "An executive sponsor is set", _sponsor),
        Criterion("kpi_with_baseline", "A KPI with a baseline is defined", _kpi),
        Criterion("classified", "The EU AI Act risk classification is recorded", _classified),
        Criterion("not_prohibited", "It is not a prohibited AI practice", _not_prohibited),
        Criterion("readiness_passing", "MLOps readiness checks pass", _readiness),
        Criterion("assessments_approved", "An approved assessment exists for each applicable framework",
                  _assessments),
        Criterion("no_open_high_findings", "No open high-severity finding", _no_high_findings),
        Criterion("dpia_if_personal_data", "A DPIA is on file when personal data is processed", _dpia),
        *(Criterion(f"check.{code}", f"Automated check passes: {code.label}", _check(code)) for code in CheckCode),
    )
}


# What the issue asks for by default (installed by migration 0003 and `load_frameworks --gates`); edit as data.
_PILOT_DEFAULTS = ["owner_set", "sponsor_set", "kpi_with_baseline", "classified", "not_prohibited"]
DEFAULT_GATE_CRITERIA: dict[str, list[str]] = {
    Stage.PILOT: _PILOT_DEFAULTS,
    Stage.PRODUCTION: [*_PILOT_DEFAULTS, "readiness_passing", "assessments_approved", "no_open_high_findings",
                       "dpia_if_personal_data"],
}


# --- the check ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnmetCriterion:
    code: str
    label: str
    detail: str

    def __str__(self) -> str:
        return f"{self.label}: {self.detail.rstrip('.')}." if self.detail else f"{self.label}."


@dataclass(frozen=True)
class GateResult:
    target_stage: str
    required: list[str] = field(default_factory=list)
    unmet: list[UnmetCriterion] = field(default_factory=list)
    waived: list[UnmetCriterion] = field(default_factory=list)
    exception_id: int | None = None

    @property
    def blocking(self) -> list[UnmetCriterion]:
        waived = {item.code for item in self.waived}
        return [item for item in self.unmet if item.code not in waived]

    @property
    def passed(self) -> bool:
        return not self.blocking

    @property
    def messages(self) -> list[str]:
        """The refusal: a heading, then one line per unmet criterion."""
        label = Stage(self.target_stage).label
        return [f"The gate to {label} is not met. Meet these criteria or request a gate review for an exception:",
                *(str(item) for item in self.blocking)]


def criteria_for(*, target_stage: str, risk_tier: str) -> list[str]:
    """Active criterion codes for entering `target_stage` at `risk_tier`, in a stable order."""
    from apps.compliance.models import GateCriterion

    rows = GateCriterion.objects.filter(Q(risk_tiers=[]) | Q(risk_tiers__contains=[risk_tier]),
                                        target_stage=target_stage, active=True)
    codes = [code for code in rows.values_list("criterion", flat=True) if code in CRITERIA]
    return sorted(codes, key=list(CRITERIA).index)


def gate_evaluate(*, initiative: Initiative, to_stage: str) -> GateResult:
    """Which criteria for entering `to_stage` the initiative meets now (ignores exceptions and the on/off setting)."""
    required = criteria_for(target_stage=to_stage, risk_tier=initiative.risk_tier)
    facts = GateFacts(initiative, to_stage)
    unmet = []
    for code in required:
        criterion = CRITERIA[code]
        met, detail = criterion.evaluate(facts)
        if not met:
            unmet.append(UnmetCriterion(code, criterion.label, detail))
    return GateResult(target_stage=to_stage, required=required, unmet=unmet)


def active_exception(*, initiative: Initiative, to_stage: str, now: datetime | None = None):
    """The approved, unexpired gate review for this initiative and stage that expires last, or None."""
    from apps.compliance.models import GateReview

    return (GateReview.objects.filter(initiative=initiative, target_stage=to_stage, status=GateReviewStatus.APPROVED,
                                      expires_at__gt=now or timezone.now())
            .order_by("-expires_at", "-id").first())


def gate_check(*, initiative: Initiative, to_stage: str, now: datetime | None = None) -> GateResult:
    """The gate for moving `initiative` into `to_stage`: passed, or the unmet criteria an exception does not waive."""
    if not gates_enabled():
        return GateResult(target_stage=to_stage)
    result = gate_evaluate(initiative=initiative, to_stage=to_stage)
    if result.passed:
        return result
    review = active_exception(initiative=initiative, to_stage=to_stage, now=now)
    if review is None:
        return result
    waived = [item for item in result.unmet if item.code in set(review.waived_criteria)]
    return GateResult(target_stage=to_stage, required=result.required, unmet=result.unmet, waived=waived,
                      exception_id=review.pk)
