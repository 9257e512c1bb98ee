"""Compliance and governance data: frameworks and requirements (reference data), and per initiative the risk
classification, assessments and results, evidence, findings, risks, data assets and stage-gate reviews.

Scoping: models that belong to an initiative declare the usual scope fields, so restrict() limits them to the
initiative's business unit (plus guardian grants). Framework, Requirement and GateCriterion are portfolio-wide
reference data (`scope_global = True`): every signed-in user reads them; compliance officers and portfolio admins
write them (apps.compliance.permissions). DataAsset belongs to a business unit, not to one initiative.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from apps.accounts.models import BusinessUnit
from apps.compliance.choices import (
    ApprovalDecision,
    ApproverRole,
    AssessmentStatus,
    EvidenceCategory,
    EvidenceKind,
    FindingStatus,
    FrameworkKind,
    GateReviewStatus,
    LegalBasis,
    QualityStatus,
    ResultStatus,
    RiskCategory,
    RiskStatus,
    Severity,
)
from apps.core.access import ScopedByInitiative
from apps.core.models import TimeStampedModel
from apps.portfolio.choices import OperatorRole, RiskTier, Stage
from apps.portfolio.models import Initiative

SLUG_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,62}$", "Use lower-case letters, digits and dashes.")
SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]



def _choice_array(choices, help_text: str) -> ArrayField:
    return ArrayField(models.CharField(max_length=32, choices=choices), default=list, blank=True, help_text=help_text)


class Framework(TimeStampedModel):
    """A body of obligations (law, standard, guidance or internal policy) whose requirements initiatives meet."""

    slug = models.SlugField(max_length=63, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    short_name = models.CharField(max_length=40, help_text="Shown in tables and heatmap columns, e.g. 'EU AI Act'.")
    kind = models.CharField(max_length=16, choices=FrameworkKind.choices, default=FrameworkKind.INTERNAL)
    version = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    source_url = models.URLField(blank=True)
    active = models.BooleanField(default=True, help_text="Inactive frameworks apply to nobody.")
    builtin = models.BooleanField(default=False, help_text="Shipped with Pilotlight (fixtures/frameworks/*.yaml).")
    # Arbitrary dated milestones (e.g. EU AI Act application dates): [{"date": "2026-08-02", "label": "..."}].
    milestones = models.JSONField(default=list, blank=True)

    scope_global = True

    class Meta:
        ordering = ["short_name", "id"]

    def __str__(self) -> str:
        return self.short_name or self.name


class Requirement(TimeStampedModel):
    """One obligation of a framework, in our own words, with a reference to its source and where it applies.

    Applicability: an empty list means "any"; otherwise the initiative's value must be in the list. All dimensions
    must match (AND), and `personal_data_only` requirements apply only to initiatives processing personal data.
    """

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="requirements")
    code = models.CharField(max_length=40, help_text="Stable identifier within the framework, e.g. 'Art. 9'.")
    title = models.CharField(max_length=200)
    summary = models.TextField(help_text="Our own summary of the obligation; never copied standard text.")
    reference = models.CharField(max_length=200, blank=True, help_text="Article, clause or control identifier.")
    section = models.CharField(max_length=120, blank=True, help_text="Grouping, e.g. 'GOVERN 1' or 'A.6'.")
    position = models.PositiveIntegerField(default=0)
    applies_from = models.DateField(null=True, blank=True, help_text="When the obligation starts to apply.")
    risk_tiers = _choice_array(RiskTier.choices, "Risk tiers it applies to; empty = every tier.")
    operator_roles = _choice_array(OperatorRole.choices, "Operator roles it applies to; empty = every role.")
    ai_types = ArrayField(models.CharField(max_length=32), default=list, blank=True,
                          help_text="AI types it applies to; empty = every type.")
    stages = _choice_array(Stage.choices, "Lifecycle stages it applies in; empty = every stage.")
    personal_data_only = models.BooleanField(default=False, help_text="Applies only when personal data is processed.")
    checks = ArrayField(models.CharField(max_length=48), default=list, blank=True,
                        help_text="Automated checks (apps.compliance.checks) whose results prove it.")
    active = models.BooleanField(default=True)

    scope_global = True

    class Meta:
        ordering = ["framework_id", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["framework", "code"], name="unique_requirement_code")]
        indexes = [models.Index(fields=["framework", "position"], name="requirement_framework_pos")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def automatic(self) -> bool:
        return bool(self.checks)


class RiskClassification(ScopedByInitiative, models.Model):
    """One EU AI Act classification of an initiative: questionnaire answers → risk tier and operator role, with the
    rationale. Never changed after it is recorded; the latest one is current, the earlier ones are its history."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="classifications")
    answers = models.JSONField(default=dict)
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices)
    operator_role = models.CharField(max_length=16, choices=OperatorRole.choices)
    rationale = models.JSONField(default=list, help_text="Reasons, one sentence each, that led to the tier and role.")
    note = models.TextField(blank=True)
    previous_tier = models.CharField(max_length=16, choices=RiskTier.choices, blank=True)
    previous_role = models.CharField(max_length=16, choices=OperatorRole.choices, blank=True)
    classified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    classified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-classified_at", "-id"]
        indexes = [models.Index(fields=["initiative", "-classified_at"], name="classification_latest")]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.risk_tier}/{self.operator_role}"


class Assessment(ScopedByInitiative, TimeStampedModel):
    """The assessment of one initiative against one framework: a result per applicable requirement."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="assessments")
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="assessments")
    status = models.CharField(max_length=16, choices=AssessmentStatus.choices, default=AssessmentStatus.IN_PROGRESS)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.TextField(blank=True)

    class Meta:
        ordering = ["initiative_id", "framework_id"]
        constraints = [models.UniqueConstraint(fields=["initiative", "framework"], name="unique_assessment")]

    def __str__(self) -> str:
        return f"{self.initiative_id} × {self.framework_id} ({self.status})"


class RequirementResult(ScopedByInitiative, models.Model):
    """How one initiative stands on one requirement within an assessment, who set it and who signed it off.

    `initiative` repeats assessment.initiative so results are scoped and audited without a join; the services set
    both together. Automatic results (requirement has checks) are updated by the compliance audit.
    """

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="results")
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="results")
    status = models.CharField(max_length=16, choices=ResultStatus.choices, default=ResultStatus.NOT_ASSESSED)
    automatic = models.BooleanField(default=False, help_text="Set by the automated checks mapped to the requirement.")
    note = models.TextField(blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["assessment_id", "requirement__position", "requirement__code"]
        constraints = [models.UniqueConstraint(fields=["assessment", "requirement"], name="unique_result")]
        indexes = [models.Index(fields=["initiative", "requirement"], name="result_initiative_req")]

    def __str__(self) -> str:
        return f"{self.assessment_id}/{self.requirement_id}: {self.status}"


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    # Content-addressed under the initiative, so two uploads never overwrite each other's files.
    return f"evidence/{instance.initiative_id}/{instance.sha256[:2]}/{instance.sha256}/{filename}"


class Evidence(ScopedByInitiative, models.Model):
    """A file (stored with its SHA-256) or a link proving one or more requirements, possibly in several frameworks.

    Never edited (a database trigger refuses UPDATE): a new version supersedes the old one, which stays on record.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=8, choices=EvidenceKind.choices)
    category = models.CharField(max_length=32, choices=EvidenceCategory.choices, default=EvidenceCategory.OTHER)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    file = models.FileField(upload_to=evidence_upload_to, max_length=400, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    requirements = models.ManyToManyField(Requirement, through="EvidenceRequirement", related_name="evidence",
                                          blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "evidence"
        indexes = [models.Index(fields=["initiative", "category"], name="evidence_initiative_cat")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="file") & ~models.Q(sha256="")) | (models.Q(kind="link") & ~models.Q(url="")),
                name="evidence_file_has_hash_link_has_url",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class EvidenceRequirement(models.Model):
    """Evidence ↔ requirement: which requirements a piece of evidence supports."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="requirement_links")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="evidence_links")

    scope_unit_field = "evidence__initiative__business_unit"
    scope_owner_fields = ("evidence__initiative__owner", "evidence__initiative__technical_lead")
    scope_initiative_field = "evidence__initiative_id"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evidence", "requirement"], name="unique_evidence_req")]

    def __str__(self) -> str:
        return f"{self.evidence_id} → {self.requirement_id}"


class Finding(ScopedByInitiative, models.Model):
    """A failed automated check on one initiative: open while it fails, resolved when it passes again.

    One row per (initiative, check); a failure after resolution reopens it. Only status and severity changes are
    audited (the nightly `last_seen` bump is not: it would write the whole open set to the trail every night).
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="findings")
    check_code = models.CharField(max_length=48)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    message = models.CharField(max_length=500)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [models.UniqueConstraint(fields=["initiative", "check_code"], name="unique_finding")]
        indexes = [models.Index(fields=["status", "severity"], name="finding_status_severity")]

    def __str__(self) -> str:
        return f"{self.initiative_id} {self.check_code} ({self.status})"


class Risk(ScopedByInitiative, TimeStampedModel):
    """An entry of an initiative's risk register: likelihood × impact (1–5), mitigation and residual score."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=RiskCategory.choices)
    likelihood = models.PositiveSmallIntegerField(validators=SCORE_VALIDATORS)
    impact = models.PositiveSmallIntegerField(validators=SCORE_VALIDATORS)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_risks")
    mitigation = models.TextField(blank=True)
    residual_likelihood = models.PositiveSmallIntegerField(null=True, blank=True, validators=SCORE_VALIDATORS)
    residual_impact = models.PositiveSmallIntegerField(null=True, blank=True, validators=SCORE_VALIDATORS)
    status = models.CharField(max_length=16, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    review_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    scope_owner_fields = (*ScopedByInitiative.scope_owner_fields, "owner")

    class Meta:
        ordering = ["initiative_id", "-likelihood", "-impact", "id"]
        indexes = [
            models.Index(fields=["initiative", "status"], name="risk_initiative_status"),
            models.Index(fields=["status", "review_date"], name="risk_review"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1,
                                                      impact__lte=5), name="risk_scores_1_to_5"),
            models.CheckConstraint(
                condition=(models.Q(residual_likelihood__isnull=True) & models.Q(residual_impact__isnull=True))
                | (models.Q(residual_likelihood__gte=1, residual_likelihood__lte=5, residual_impact__gte=1,
                            residual_impact__lte=5)),
                name="risk_residual_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def residual_score(self) -> int | None:
        if self.residual_likelihood is None or self.residual_impact is None:
            return None
        return self.residual_likelihood * self.residual_impact

    def is_overdue(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.status != RiskStatus.CLOSED and self.review_date is not None and self.review_date < today


class DataAsset(TimeStampedModel):
    """A dataset, table or feature set that initiatives use, with its data-protection facts."""

    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.PROTECT, related_name="data_assets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_data_assets")
    source_system = models.CharField(max_length=200, blank=True)
    personal_data_categories = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    special_categories = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices, blank=True, default="")
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="How long records are kept.")
    retention_note = models.CharField(max_length=300, blank=True)
    quality_status = models.CharField(max_length=16, choices=QualityStatus.choices, default=QualityStatus.UNKNOWN)
    feature_store_ref = models.CharField(max_length=300, blank=True, help_text="e.g. feast://claims/claim_features")
    initiatives = models.ManyToManyField(Initiative, through="DataAssetLink", related_name="data_assets", blank=True)

    scope_unit_field = "business_unit"
    scope_owner_fields = ("owner",)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["business_unit", "name"], name="unique_data_asset_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_personal_data(self) -> bool:
        return bool(self.personal_data_categories or self.special_categories)


class DataAssetLink(ScopedByInitiative, models.Model):
    """An initiative uses a data asset (for a stated purpose)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="data_asset_links")
    data_asset = models.ForeignKey(DataAsset, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=300, blank=True)
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["initiative", "data_asset"], name="unique_data_asset_link")]

    def __str__(self) -> str:
        return f"{self.initiative_id} uses {self.data_asset_id}"


class GateCriterion(TimeStampedModel):
    """What entering a stage requires, for the listed risk tiers (empty = every tier). Codes: apps.compliance.gates."""

    target_stage = models.CharField(max_length=16, choices=Stage.choices)
    criterion = models.CharField(max_length=64)
    risk_tiers = _choice_array(RiskTier.choices, "Risk tiers it applies to; empty = every tier.")
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)

    scope_global = True

    class Meta:
        ordering = ["target_stage", "criterion"]
        verbose_name_plural = "gate criteria"
        constraints = [
            models.UniqueConstraint(fields=["target_stage", "criterion"], name="unique_gate_criterion"),
        ]

    def __str__(self) -> str:
        return f"→ {self.target_stage}: {self.criterion}"


class GateReview(ScopedByInitiative, TimeStampedModel):
    """A request to let an initiative enter a stage although criteria are unmet: an exception with a reason, an
    expiry and one or more approvers. Approved when every approver approves; rejected as soon as one rejects."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="gate_reviews")
    target_stage = models.CharField(max_length=16, choices=Stage.choices)
    reason = models.TextField(help_text="Why the move should go ahead despite the unmet criteria.")
    waived_criteria = models.JSONField(default=list, help_text="Criterion codes unmet when requested; the exception "
                                                              "waives exactly these.")
    unmet_snapshot = models.JSONField(default=list, help_text="The unmet criteria and their details at request.")
    expires_at = models.DateTimeField(help_text="The exception covers moves until then.")
    status = models.CharField(max_length=16, choices=GateReviewStatus.choices, default=GateReviewStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["initiative", "target_stage", "status"], name="gate_review_lookup")]

    def __str__(self) -> str:
        return f"{self.initiative_id} → {self.target_stage} ({self.status})"

    def is_active_exception(self, now=None) -> bool:
        return self.status == GateReviewStatus.APPROVED and self.expires_at > (now or timezone.now())


class GateReviewApproval(models.Model):
    """One approver's decision on a gate review, with the role they approved in and their comment."""

    review = models.ForeignKey(GateReview, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=ApprovalDecision.choices, default=ApprovalDecision.PENDING)
    role = models.CharField(max_length=32, choices=ApproverRole.choices, blank=True)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    scope_unit_field = "review__initiative__business_unit"
    scope_owner_fields = ("review__initiative__owner", "review__initiative__technical_lead")
    scope_initiative_field = "review__initiative_id"

    class Meta:
        ordering = ["review_id", "id"]
        constraints = [models.UniqueConstraint(fields=["review", "approver"], name="unique_gate_approver")]
        indexes = [models.Index(fields=["approver", "decision"], name="gate_approval_inbox")]

    def __str__(self) -> str:
        return f"{self.review_id}: {self.approver_id} {self.decision}"


class PostureProfile(ScopedByInitiative, models.Model):
    """Cache marker: the applicability profile (tier|role|AI type|stage|personal data) and reference-data version
    an initiative's InitiativePosture rows were computed for. Derived data (apps.compliance.posture), not audited."""

    initiative = models.OneToOneField(Initiative, primary_key=True, on_delete=models.CASCADE,
                                      related_name="posture_profile")
    profile = models.CharField(max_length=160)
    version = models.CharField(max_length=64)
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.profile}"


class InitiativePosture(ScopedByInitiative, models.Model):
    """Cache: how many of a framework's requirements apply to an initiative and how many are compliant, partial,
    non-compliant or not applicable. The posture heatmap sums these; derived data, refreshed by
    apps.compliance.posture (stale rows are recomputed before they are read), not audited."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="+")
    applicable = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    partial = models.PositiveIntegerField(default=0)
    non_compliant = models.PositiveIntegerField(default=0)
    not_applicable = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["initiative", "framework"], name="unique_initiative_posture")]

    def __str__(self) -> str:
        return f"{self.initiative_id} × {self.framework_id}: {self.compliant}/{self.applicable}"
