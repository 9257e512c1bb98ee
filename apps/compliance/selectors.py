"""Reads for compliance, scoped by restrict(): reference data, per-initiative compliance, portfolio posture.

Framework, Requirement and GateCriterion are portfolio-wide reference data (readable by every signed-in user);
everything else is limited to the initiatives (or, for data assets, the business units) the user may see.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import BusinessUnit
from apps.compliance.applicability import applicable_to
from apps.compliance.choices import (
    HIGH_SEVERITIES,
    SEVERITY_RANK,
    FindingStatus,
    GateReviewStatus,
    ResultStatus,
    RiskStatus,
)
from apps.compliance.models import (
    Assessment,
    DataAsset,
    DataAssetLink,
    Evidence,
    Finding,
    Framework,
    GateCriterion,
    GateReview,
    GateReviewApproval,
    Requirement,
    RequirementResult,
    Risk,
    RiskClassification,
)
from apps.core.access import get_restricted_or_404, restrict
from apps.portfolio.choices import TERMINAL_STAGES, RiskTier
from apps.portfolio.models import Initiative

# --- reference data ---------------------------------------------------------------------------------------------


def framework_list(*, user, include_inactive: bool = True) -> QuerySet[Framework]:
    """Every framework with its number of active requirements."""
    queryset = Framework.objects.annotate(
        requirement_count=Count("requirements", filter=Q(requirements__active=True))
    ).order_by("short_name", "id")
    return queryset if include_inactive else queryset.filter(active=True)


def framework_get(*, user, slug: str) -> Framework:
    """One framework by slug, or 404."""
    return get_object_or_404(framework_list(user=user), slug=slug)


def requirement_list(*, user, framework: Framework | None = None) -> QuerySet[Requirement]:
    """Requirements (with their framework), in framework order."""
    queryset = Requirement.objects.select_related("framework").order_by("framework__short_name", "position", "code")
    return queryset.filter(framework=framework) if framework is not None else queryset


def requirement_get(*, user, pk: int) -> Requirement:
    """One requirement by id, or 404."""
    return get_object_or_404(requirement_list(user=user), pk=pk)


def gate_criterion_list(*, user) -> QuerySet[GateCriterion]:
    """The configured stage-gate criteria."""
    return GateCriterion.objects.order_by("target_stage", "criterion")


def applicable_requirements(*, initiative: Initiative, stage: str | None = None) -> QuerySet[Requirement]:
    """The requirements that apply to the initiative now (or as if it were in `stage`)."""
    return (Requirement.objects.filter(applicable_to(initiative, stage=stage)).select_related("framework")
            .order_by("framework__short_name", "position", "code"))


# --- initiative-scoped lists ------------------------------------------------------------------------------------


def classification_list(*, user, initiative: Initiative | None = None) -> QuerySet[RiskClassification]:
    """Classifications (newest first) with who classified."""
    queryset = RiskClassification.objects.select_related("initiative", "classified_by")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view").order_by("-classified_at", "-id")


def classification_get(*, user, pk: int) -> RiskClassification:
    return get_restricted_or_404(classification_list(user=user), user, "view", pk=pk)


def assessment_list(*, user, initiative: Initiative | None = None) -> QuerySet[Assessment]:
    """Assessments with their framework, initiative and counts of results by status."""
    counts = {
        f"{status}_count": Count("results", filter=Q(results__status=status)) for status in ResultStatus.values
    }
    queryset = Assessment.objects.select_related("initiative", "framework", "approved_by", "started_by").annotate(
        result_count=Count("results"), **counts
    )
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view").order_by("initiative__key", "framework__short_name", "id")


def assessment_get(*, user, pk: int, action: str = "view") -> Assessment:
    return get_restricted_or_404(assessment_list(user=user), user, action, pk=pk)


def result_list(*, user, assessment: Assessment | None = None) -> QuerySet[RequirementResult]:
    """Requirement results with requirement, framework, initiative and the people involved."""
    queryset = RequirementResult.objects.select_related(
        "requirement__framework", "initiative", "assessment", "updated_by", "reviewed_by"
    )
    if assessment is not None:
        queryset = queryset.filter(assessment=assessment)
    return restrict(queryset, user, "view").order_by("assessment_id", "requirement__position", "requirement__code")


def result_get(*, user, pk: int) -> RequirementResult:
    return get_restricted_or_404(result_list(user=user), user, "view", pk=pk)


def _current_evidence() -> Q:
    return Q(superseded_by__isnull=True)


def evidence_list(*, user, initiative: Initiative | None = None, current_only: bool = False) -> QuerySet[Evidence]:
    """Evidence with uploader, initiative and linked requirements; `is_current` says whether it was superseded."""
    queryset = (
        Evidence.objects.select_related("initiative", "uploaded_by")
        .annotate(is_current=~Exists(Evidence.objects.filter(supersedes=OuterRef("pk"))))
        .prefetch_related(Prefetch("requirements", queryset=Requirement.objects.select_related("framework")))
    )
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    if current_only:
        queryset = queryset.filter(_current_evidence())
    return restrict(queryset, user, "view").order_by("-created_at", "-id")


def evidence_get(*, user, pk: int) -> Evidence:
    """One piece of evidence the user may see (through its initiative), or 404."""
    return get_restricted_or_404(evidence_list(user=user), user, "view", pk=pk)


def finding_list(*, user) -> QuerySet[Finding]:
    """Findings with their initiative, open first then most recently seen."""
    return restrict(Finding.objects.select_related("initiative__business_unit"), user, "view").order_by(
        "status", "-last_seen", "-id"
    )


def finding_get(*, user, pk: int) -> Finding:
    return get_restricted_or_404(finding_list(user=user), user, "view", pk=pk)


def risk_list(*, user, initiative: Initiative | None = None) -> QuerySet[Risk]:
    """Risks with initiative and owner, highest score first."""
    queryset = Risk.objects.select_related("initiative__business_unit", "owner")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view").order_by("initiative__key", "-likelihood", "-impact", "id")


def risk_get(*, user, pk: int, action: str = "view") -> Risk:
    return get_restricted_or_404(risk_list(user=user), user, action, pk=pk)


def data_asset_list(*, user) -> QuerySet[DataAsset]:
    """Data assets of the units the user may see, with how many initiatives use each."""
    queryset = DataAsset.objects.select_related("business_unit", "owner").annotate(
        initiative_count=Count("links", distinct=True)
    )
    return restrict(queryset, user, "view").order_by("name", "id")


def data_asset_get(*, user, pk: int) -> DataAsset:
    return get_restricted_or_404(data_asset_list(user=user), user, "view", pk=pk)


def data_asset_link_list(*, user, initiative: Initiative) -> QuerySet[DataAssetLink]:
    """The data assets an initiative uses (visible with the initiative, whatever the asset's unit)."""
    return restrict(DataAssetLink.objects.filter(initiative=initiative).select_related("data_asset__owner"),
                    user, "view").order_by("data_asset__name")


def data_asset_link_get(*, user, pk: int) -> DataAssetLink:
    return get_restricted_or_404(DataAssetLink.objects.select_related("initiative", "data_asset"), user, "view",
                                 pk=pk)


def gate_review_list(*, user, initiative: Initiative | None = None) -> QuerySet[GateReview]:
    """Gate reviews with initiative, requester and approvals (with approvers)."""
    queryset = GateReview.objects.select_related("initiative__business_unit", "requested_by").prefetch_related(
        Prefetch("approvals", queryset=GateReviewApproval.objects.select_related("approver").order_by("id"))
    )
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view").order_by("-created_at", "-id")


def gate_review_get(*, user, pk: int) -> GateReview:
    """One gate review the user may see through its initiative, or is named an approver of; else 404."""
    visible = restrict(GateReview.objects.all(), user, "view").values("pk")
    queryset = GateReview.objects.filter(
        Q(pk__in=visible) | Q(pk__in=GateReviewApproval.objects.filter(approver=user).values("review_id"))
    )
    return get_object_or_404(
        queryset.select_related("initiative__business_unit", "requested_by").prefetch_related(
            Prefetch("approvals", queryset=GateReviewApproval.objects.select_related("approver").order_by("id"))
        ),
        pk=pk,
    )


def gate_review_inbox(*, user) -> QuerySet[GateReview]:
    """Pending reviews waiting for the user's decision, oldest first."""
    return (
        GateReview.objects.filter(status=GateReviewStatus.PENDING, approvals__approver=user,
                                  approvals__decision="pending")
        .select_related("initiative__business_unit", "requested_by")
        .prefetch_related(Prefetch("approvals", queryset=GateReviewApproval.objects.select_related("approver")))
        .order_by("created_at", "id")
    )


# --- one initiative's compliance --------------------------------------------------------------------------------


@dataclass
class RequirementRow:
    requirement: Requirement
    result: RequirementResult | None
    evidence: list[Evidence]
    findings: list[Finding]

    @property
    def status(self) -> str:
        return self.result.status if self.result is not None else ResultStatus.NOT_ASSESSED


@dataclass
class FrameworkBlock:
    framework: Framework
    assessment: Assessment | None
    rows: list[RequirementRow]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ResultStatus.values, 0)
        for row in self.rows:
            counts[row.status] += 1
        return counts

    @property
    def score(self) -> float | None:
        """Share of applicable requirements met (partial counts half; not-applicable ones are left out)."""
        return posture_score(self.counts)


def posture_score(counts: dict[str, int]) -> float | None:
    """(compliant + partial / 2) / (requirements - not applicable); None when nothing is left to meet."""
    denominator = sum(counts.values()) - counts.get(ResultStatus.NOT_APPLICABLE, 0)
    if denominator <= 0:
        return None
    return (counts.get(ResultStatus.COMPLIANT, 0) + counts.get(ResultStatus.PARTIAL, 0) / 2) / denominator


@dataclass
class InitiativeCompliance:
    initiative: Initiative
    classifications: list[RiskClassification]
    frameworks: list[FrameworkBlock]
    evidence: list[Evidence]
    findings: list[Finding]
    risks: list[Risk]
    data_links: list[DataAssetLink]
    gate_reviews: list[GateReview]
    other_frameworks: list[Framework] = field(default_factory=list)

    @property
    def classification(self) -> RiskClassification | None:
        return self.classifications[0] if self.classifications else None

    @property
    def open_findings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == FindingStatus.OPEN]


def initiative_compliance(*, user, initiative: Initiative) -> InitiativeCompliance:
    """Everything the initiative's compliance page shows, in a fixed number of queries: applicable requirements by
    framework with results, evidence and open findings; classification history; risks; data assets; gate reviews."""
    requirements = list(applicable_requirements(initiative=initiative))
    assessments = {a.framework_id: a for a in assessment_list(user=user, initiative=initiative)}
    results = {r.requirement_id: r for r in result_list(user=user).filter(initiative=initiative)}
    evidence = list(evidence_list(user=user, initiative=initiative))
    findings = list(finding_list(user=user).filter(initiative=initiative))
    evidence_by_requirement: dict[int, list[Evidence]] = defaultdict(list)
    for item in evidence:
        if item.is_current:
            for requirement in item.requirements.all():
                evidence_by_requirement[requirement.pk].append(item)
    open_by_check: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.status == FindingStatus.OPEN:
            open_by_check[finding.check_code].append(finding)
    blocks: dict[int, FrameworkBlock] = {}
    for requirement in requirements:
        block = blocks.get(requirement.framework_id)
        if block is None:
            block = blocks[requirement.framework_id] = FrameworkBlock(
                requirement.framework, assessments.get(requirement.framework_id), []
            )
        block.rows.append(RequirementRow(
            requirement, results.get(requirement.pk), evidence_by_requirement.get(requirement.pk, []),
            [finding for code in requirement.checks for finding in open_by_check.get(code, [])],
        ))
    other = [framework for framework in framework_list(user=user, include_inactive=False)
             if framework.pk not in blocks]
    return InitiativeCompliance(
        initiative=initiative,
        classifications=list(classification_list(user=user, initiative=initiative)),
        frameworks=list(blocks.values()),
        evidence=evidence,
        findings=findings,
        risks=list(risk_list(user=user, initiative=initiative)),
        data_links=list(data_asset_link_list(user=user, initiative=initiative)),
        gate_reviews=list(gate_review_list(user=user, initiative=initiative)),
        other_frameworks=other,
    )


@dataclass(frozen=True)
class ComplianceSummary:
    """The compliance box on the initiative page (templates/compliance/_initiative_summary.html)."""

    initiative: Initiative
    classified: bool
    applicable: int
    counts: dict[str, int]
    frameworks: int
    open_findings: int
    high_findings: int
    open_risks: int
    overdue_risks: int
    pending_reviews: int
    active_exception: GateReview | None

    @property
    def score(self) -> float | None:
        return posture_score(self.counts)

    @property
    def score_percent(self) -> int | None:
        score = self.score
        return None if score is None else round(score * 100)


def compliance_initiative_summary(*, user, initiative: Initiative) -> ComplianceSummary:
    """Counts for one initiative's compliance box: classification, requirement status, findings, risks, reviews.
    Five queries whatever the size of the portfolio."""
    applicable = applicable_requirements(initiative=initiative).order_by()
    rows = list(applicable.values_list("id", "framework_id"))
    statuses = dict(restrict(RequirementResult.objects.filter(initiative=initiative), user, "view")
                    .values_list("requirement_id", "status"))
    counts = dict.fromkeys(ResultStatus.values, 0)
    for requirement_id, _ in rows:
        counts[statuses.get(requirement_id, ResultStatus.NOT_ASSESSED)] += 1
    findings = restrict(Finding.objects.filter(initiative=initiative, status=FindingStatus.OPEN), user, "view")
    finding_counts = findings.aggregate(total=Count("id"), high=Count("id", filter=Q(severity__in=HIGH_SEVERITIES)))
    today = timezone.localdate()
    risks = restrict(Risk.objects.filter(initiative=initiative).exclude(status=RiskStatus.CLOSED), user, "view")
    risk_counts = risks.aggregate(total=Count("id"), overdue=Count("id", filter=Q(review_date__lt=today)))
    reviews = list(restrict(GateReview.objects.filter(initiative=initiative, status__in=[
        GateReviewStatus.PENDING, GateReviewStatus.APPROVED]), user, "view").order_by("-expires_at"))
    now = timezone.now()
    return ComplianceSummary(
        initiative=initiative,
        classified=restrict(RiskClassification.objects.filter(initiative=initiative), user, "view").exists(),
        applicable=len(rows),
        counts=counts,
        frameworks=len({framework_id for _, framework_id in rows}),
        open_findings=finding_counts["total"],
        high_findings=finding_counts["high"],
        open_risks=risk_counts["total"],
        overdue_risks=risk_counts["overdue"],
        pending_reviews=sum(1 for review in reviews if review.status == GateReviewStatus.PENDING),
        active_exception=next((review for review in reviews if review.is_active_exception(now)), None),
    )


# --- portfolio posture ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostureCell:
    unit_id: int
    framework_id: int
    counts: dict[str, int]

    @property
    def applicable(self) -> int:
        return sum(self.counts.values())

    @property
    def score(self) -> float | None:
        return posture_score(self.counts)


@dataclass
class Posture:
    units: list[BusinessUnit]
    frameworks: list[Framework]
    cells: dict[tuple[int, int], PostureCell]

    def cell(self, unit_id: int, framework_id: int) -> PostureCell | None:
        return self.cells.get((unit_id, framework_id))


_POSTURE_SQL = """
SELECT i.business_unit_id, p.framework_id, SUM(p.applicable), SUM(p.compliant), SUM(p.partial),
       SUM(p.non_compliant), SUM(p.not_applicable)
FROM compliance_initiativeposture p JOIN portfolio_initiative i ON i.id = p.initiative_id
WHERE i.id IN ({scoped}) AND i.stage <> ALL(%s)
GROUP BY 1, 2
"""


def compliance_posture(*, user) -> Posture:
    """Business unit × framework: how many applicable requirements of the unit's active initiatives are compliant,
    partial, non-compliant, not applicable or not assessed. Reads the posture cache (apps.compliance.posture) after
    recomputing the entries of initiatives in scope that changed since; five queries when nothing changed."""
    from apps.compliance.posture import posture_refresh, posture_stale_ids, reference_version

    scoped_sql, scoped_params = restrict(Initiative.objects.all(), user, "view").values("id").query.sql_with_params()
    stale = posture_stale_ids(scoped_sql=scoped_sql, params=list(scoped_params), version=reference_version())
    if stale:
        posture_refresh(initiative_ids=stale)
    with connection.cursor() as cursor:
        cursor.execute(_POSTURE_SQL.format(scoped=scoped_sql), [*scoped_params, list(TERMINAL_STAGES)])
        rows = cursor.fetchall()
    cells: dict[tuple[int, int], PostureCell] = {}
    for unit_id, framework_id, applicable, compliant, partial, non_compliant, not_applicable in rows:
        counts = {
            ResultStatus.COMPLIANT: compliant, ResultStatus.PARTIAL: partial,
            ResultStatus.NON_COMPLIANT: non_compliant, ResultStatus.NOT_APPLICABLE: not_applicable,
            ResultStatus.NOT_ASSESSED: applicable - compliant - partial - non_compliant - not_applicable,
        }
        cells[(unit_id, framework_id)] = PostureCell(unit_id, framework_id, {k: int(v) for k, v in counts.items()})
    units = list(BusinessUnit.objects.filter(pk__in={unit_id for unit_id, _ in cells}).order_by("path"))
    frameworks = list(Framework.objects.filter(active=True).order_by("short_name", "id"))
    return Posture(units=units, frameworks=frameworks, cells=cells)


@dataclass(frozen=True)
class RiskMatrix:
    counts: dict[tuple[int, int], int]  # (likelihood, impact) -> open risks
    residual: dict[tuple[int, int], int]
    total: int
    overdue: int


def risk_matrix(*, user) -> RiskMatrix:
    """Open (not closed) risks the user may see, counted by likelihood × impact, and by residual scores."""
    risks = restrict(Risk.objects.exclude(status=RiskStatus.CLOSED), user, "view").order_by()
    counts: dict[tuple[int, int], int] = {}
    residual: dict[tuple[int, int], int] = {}
    total = overdue = 0
    today = timezone.localdate()
    rows = risks.values("likelihood", "impact", "residual_likelihood", "residual_impact").annotate(
        n=Count("id"), late=Count("id", filter=Q(review_date__lt=today)))
    for row in rows:
        key = (row["likelihood"], row["impact"])
        counts[key] = counts.get(key, 0) + row["n"]
        if row["residual_likelihood"] is not None:
            rkey = (row["residual_likelihood"], row["residual_impact"])
            residual[rkey] = residual.get(rkey, 0) + row["n"]
        total += row["n"]
        overdue += row["late"]
    return RiskMatrix(counts=counts, residual=residual, total=total, overdue=overdue)


def finding_counts(*, user) -> dict[str, int]:
    """Open findings the user may see, by severity (highest first)."""
    rows = dict(restrict(Finding.objects.filter(status=FindingStatus.OPEN), user, "view").order_by()
                .values_list("severity").annotate(n=Count("id")).values_list("severity", "n"))
    return {severity: rows.get(severity, 0) for severity in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get,
                                                                    reverse=True)}


def risk_tier_counts(*, user) -> dict[str, int]:
    """Active initiatives the user may see, by EU AI Act risk tier."""
    rows = dict(restrict(Initiative.objects.exclude(stage__in=TERMINAL_STAGES), user, "view").order_by()
                .values_list("risk_tier").annotate(n=Count("id")).values_list("risk_tier", "n"))
    return {tier: rows.get(tier, 0) for tier in RiskTier.values}

