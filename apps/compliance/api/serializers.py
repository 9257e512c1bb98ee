"""Input and output serializers for the compliance API. Inputs only validate; the services write."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import BusinessUnit
from apps.accounts.selectors import business_unit_list, user_list_active
from apps.compliance.choices import (
    PERSONAL_DATA_CATEGORIES,
    SPECIAL_CATEGORIES,
    ApprovalDecision,
    CheckCode,
    EvidenceCategory,
    FrameworkKind,
    LegalBasis,
    QualityStatus,
    ResultStatus,
    RiskCategory,
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
from apps.portfolio.choices import AIType, OperatorRole, RiskTier, Stage
from apps.portfolio.models import Initiative
from apps.portfolio.selectors import initiative_list


def _user(help_text: str, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", read_only=True, help_text=help_text, **kwargs)


def _initiative_key() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="key", read_only=True,
                                        help_text="Key of the initiative, e.g. AI-042.")


# --- outputs ---------------------------------------------------------------------------------------------------


class MilestoneSerializer(serializers.Serializer):
    date = serializers.DateField()
    label = serializers.CharField(max_length=200)


class FrameworkOutputSerializer(serializers.ModelSerializer):
    """A framework (law, standard, guidance or internal policy)."""

    requirement_count = serializers.IntegerField(read_only=True, help_text="Active requirements.")
    milestones = MilestoneSerializer(many=True, read_only=True)

    class Meta:
        model = Framework
        fields = ["slug", "name", "short_name", "kind", "version", "description", "source_url", "active", "builtin",
                  "milestones", "requirement_count", "created_at", "updated_at"]
        read_only_fields = fields


class RequirementOutputSerializer(serializers.ModelSerializer):
    """A requirement in our own words, with its source reference, where it applies and the checks proving it."""

    framework = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    risk_tiers = serializers.ListField(child=serializers.ChoiceField(choices=RiskTier.choices), read_only=True,
                                       help_text="Empty: every tier.")
    operator_roles = serializers.ListField(child=serializers.ChoiceField(choices=OperatorRole.choices),
                                           read_only=True, help_text="Empty: every role.")
    ai_types = serializers.ListField(child=serializers.ChoiceField(choices=AIType.choices), read_only=True,
                                     help_text="Empty: every AI type.")
    stages = serializers.ListField(child=serializers.ChoiceField(choices=Stage.choices), read_only=True,
                                   help_text="Empty: every stage.")
    checks = serializers.ListField(child=serializers.ChoiceField(choices=CheckCode.choices), read_only=True)

    class Meta:
        model = Requirement
        fields = ["id", "framework", "code", "title", "summary", "reference", "section", "position", "applies_from",
                  "risk_tiers", "operator_roles", "ai_types", "stages", "personal_data_only", "checks", "active",
                  "updated_at"]
        read_only_fields = fields


class ClassificationOutputSerializer(serializers.ModelSerializer):
    """One recorded EU AI Act classification (the newest of an initiative is its current one)."""

    initiative = _initiative_key()
    classified_by = _user("Username of who classified.")
    rationale = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = RiskClassification
        fields = ["id", "initiative", "risk_tier", "operator_role", "rationale", "answers", "note", "previous_tier",
                  "previous_role", "classified_by", "classified_at"]
        read_only_fields = fields


class QuestionSerializer(serializers.Serializer):
    key = serializers.CharField()
    section = serializers.CharField()
    text = serializers.CharField()
    reference = serializers.CharField()
    choices = serializers.ListField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="[value, label] pairs; empty for a yes/no question.")


class AssessmentOutputSerializer(serializers.ModelSerializer):
    """An assessment of one initiative against one framework, with its results counted by status."""

    initiative = _initiative_key()
    framework = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    approved_by = _user("Username of the approver.", allow_null=True)
    started_by = _user("Username of who started it.", allow_null=True)
    counts = serializers.SerializerMethodField(help_text="Results by status.")

    class Meta:
        model = Assessment
        fields = ["id", "initiative", "framework", "status", "counts", "started_by", "approved_by", "approved_at",
                  "approval_note", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, obj: Assessment) -> dict[str, int]:
        return {status: getattr(obj, f"{status}_count", 0) for status in ResultStatus.values}


class ResultOutputSerializer(serializers.ModelSerializer):
    """How an initiative stands on one requirement, with who set it and who signed it off."""

    initiative = _initiative_key()
    requirement = RequirementOutputSerializer(read_only=True)
    updated_by = _user("Username of who last set the status (null: the automated checks).", allow_null=True)
    reviewed_by = _user("Username of the reviewer who signed it off.", allow_null=True)

    class Meta:
        model = RequirementResult
        fields = ["id", "assessment", "initiative", "requirement", "status", "automatic", "note", "updated_by",
                  "updated_at", "reviewed_by", "reviewed_at", "review_comment"]
        read_only_fields = fields


class EvidenceOutputSerializer(serializers.ModelSerializer):
    """A file (with its SHA-256) or a link; `download` serves the file as an attachment."""

    initiative = _initiative_key()
    uploaded_by = _user("Username of who added it.", allow_null=True)
    requirements = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Requirement ids.")
    is_current = serializers.BooleanField(read_only=True, help_text="False once a newer version supersedes it.")
    download = serializers.SerializerMethodField(help_text="Download URL of a file (null for links).")

    class Meta:
        model = Evidence
        fields = ["id", "initiative", "kind", "category", "title", "description", "original_name", "content_type",
                  "size", "sha256", "url", "supersedes", "is_current", "requirements", "uploaded_by", "created_at",
                  "download"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download(self, obj: Evidence) -> str | None:
        return f"/api/v1/evidence/{obj.pk}/download/" if obj.kind == "file" else None


class FindingOutputSerializer(serializers.ModelSerializer):
    """A failed automated check: open while it fails, resolved when it passes."""

    initiative = _initiative_key()
    check = serializers.CharField(source="check_code", read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "initiative", "check", "severity", "status", "message", "first_seen", "last_seen",
                  "resolved_at"]
        read_only_fields = fields


class RiskOutputSerializer(serializers.ModelSerializer):
    """A risk register entry with its scores (likelihood × impact) and review state."""

    initiative = _initiative_key()
    owner = _user("Username of the risk owner.", allow_null=True)
    score = serializers.IntegerField(read_only=True)
    residual_score = serializers.IntegerField(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Review date passed and the risk is not closed.")

    class Meta:
        model = Risk
        fields = ["id", "initiative", "title", "description", "category", "likelihood", "impact", "score", "owner",
                  "mitigation", "residual_likelihood", "residual_impact", "residual_score", "status", "review_date",
                  "overdue", "created_at", "updated_at"]
        read_only_fields = fields

    def get_overdue(self, obj: Risk) -> bool:
        return obj.is_overdue()


class DataAssetOutputSerializer(serializers.ModelSerializer):
    """A data asset with its data-protection facts."""

    business_unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = _user("Username of the data owner.", allow_null=True)
    initiative_count = serializers.IntegerField(read_only=True, help_text="Initiatives using it.")

    class Meta:
        model = DataAsset
        fields = ["id", "business_unit", "name", "description", "owner", "source_system", "personal_data_categories",
                  "special_categories", "legal_basis", "retention_days", "retention_note", "quality_status",
                  "feature_store_ref", "initiative_count", "created_at", "updated_at"]
        read_only_fields = fields


class DataAssetLinkOutputSerializer(serializers.ModelSerializer):
    initiative = _initiative_key()
    data_asset = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = DataAssetLink
        fields = ["id", "initiative", "data_asset", "purpose", "linked_at"]
        read_only_fields = fields


class ApprovalOutputSerializer(serializers.ModelSerializer):
    approver = _user("Username of the approver.")

    class Meta:
        model = GateReviewApproval
        fields = ["approver", "decision", "role", "comment", "decided_at"]
        read_only_fields = fields


class GateReviewOutputSerializer(serializers.ModelSerializer):
    """A request for an exception to a stage gate, with each approver's decision."""

    initiative = _initiative_key()
    requested_by = _user("Username of the requester.", allow_null=True)
    approvals = ApprovalOutputSerializer(many=True, read_only=True)
    waived_criteria = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = GateReview
        fields = ["id", "initiative", "target_stage", "reason", "status", "waived_criteria", "unmet_snapshot",
                  "expires_at", "requested_by", "approvals", "decided_at", "created_at"]
        read_only_fields = fields


class GateCriterionOutputSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = GateCriterion
        fields = ["id", "target_stage", "criterion", "label", "risk_tiers", "active", "note", "updated_at"]
        read_only_fields = fields

    def get_label(self, obj: GateCriterion) -> str:
        from apps.compliance.gates import CRITERIA

        return CRITERIA[obj.criterion].label if obj.criterion in CRITERIA else obj.criterion


# --- inputs ----------------------------------------------------------------------------------------------------


class _ScopedInputSerializer(serializers.Serializer):
    """Initiative (by key), business unit and user pickers limited to what the requesting user may see."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:
            return
        if "initiative" in self.fields:
            self.fields["initiative"].queryset = initiative_list(user=request.user)
        if "business_unit" in self.fields:
            self.fields["business_unit"].queryset = business_unit_list(user=request.user)


def _initiative_input() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="key", queryset=Initiative.objects.none(),
                                        help_text="Key of an initiative you may see, e.g. AI-042.")


def _user_input(help_text: str, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", queryset=user_list_active(), help_text=help_text,
                                        **kwargs)


def _choices_list(choices, help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=choices), required=False, help_text=help_text)


class FrameworkInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=63, help_text="Lower-case identifier used in URLs, e.g. model-policy.")
    name = serializers.CharField(max_length=200)
    short_name = serializers.CharField(max_length=40, required=False, help_text="Defaults to the name.")
    kind = serializers.ChoiceField(choices=FrameworkKind.choices, required=False)
    version = serializers.CharField(max_length=60, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    source_url = serializers.URLField(required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    milestones = MilestoneSerializer(many=True, required=False, help_text="Dated milestones, e.g. application dates.")

    def validate_milestones(self, value: list[dict]) -> list[dict]:
        return [{"date": item["date"].isoformat(), "label": item["label"]} for item in value]


class FrameworkUpdateInputSerializer(FrameworkInputSerializer):
    slug = None
    name = serializers.CharField(max_length=200, required=False)


class RequirementInputSerializer(serializers.Serializer):
    framework = serializers.SlugRelatedField(slug_field="slug", queryset=Framework.objects.all(),
                                             help_text="Slug of the framework.")
    code = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(help_text="Your own summary of the obligation.")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
    section = serializers.CharField(max_length=120, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False)
    applies_from = serializers.DateField(required=False, allow_null=True)
    risk_tiers = _choices_list(RiskTier.choices, "Tiers it applies to; empty or omitted = every tier.")
    operator_roles = _choices_list(OperatorRole.choices, "Roles it applies to; empty = every role.")
    ai_types = _choices_list(AIType.choices, "AI types it applies to; empty = every type.")
    stages = _choices_list(Stage.choices, "Stages it applies in; empty = every stage.")
    personal_data_only = serializers.BooleanField(required=False)
    checks = _choices_list(CheckCode.choices, "Automated checks that prove it.")
    active = serializers.BooleanField(required=False)


class RequirementUpdateInputSerializer(RequirementInputSerializer):
    framework = None
    code = serializers.CharField(max_length=40, required=False)
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False)


class ClassificationInputSerializer(_ScopedInputSerializer):
    initiative = _initiative_input()
    answers = serializers.DictField(help_text="Questionnaire answers by question key (GET classifications/"
                                              "questionnaire/): true/false, or a choice value.")
    note = serializers.CharField(required=False, allow_blank=True)


class AssessmentInputSerializer(_ScopedInputSerializer):
    initiative = _initiative_input()
    framework = serializers.SlugRelatedField(slug_field="slug", queryset=Framework.objects.all())


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class ResultInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ResultStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, help_text="Required for not applicable.")
    automatic = serializers.BooleanField(required=False, allow_null=True,
                                         help_text="true hands the result back to the automated checks.")


class SignOffInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True)


class EvidenceInputSerializer(_ScopedInputSerializer):
    """multipart/form-data with `file`, or JSON / form data with `url`."""

    initiative = _initiative_input()
    title = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=EvidenceCategory.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    file = serializers.FileField(required=False, help_text="The document (checked for type and size).")
    url = serializers.URLField(required=False, max_length=1000, help_text="Or a link to it.")
    requirements = serializers.PrimaryKeyRelatedField(many=True, queryset=Requirement.objects.all(), required=False,
                                                      help_text="Ids of the requirements it supports.")
    supersedes = serializers.PrimaryKeyRelatedField(queryset=Evidence.objects.all(), required=False,
                                                    allow_null=True, help_text="Id of the evidence it replaces.")

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("url")):
            raise serializers.ValidationError({"file": ["Send either a file or a url."]})
        return attrs


class RequirementsInputSerializer(serializers.Serializer):
    requirements = serializers.PrimaryKeyRelatedField(many=True, queryset=Requirement.objects.all())


class AuditRunInputSerializer(_ScopedInputSerializer):
    initiative = serializers.SlugRelatedField(slug_field="key", queryset=Initiative.objects.none(), required=False,
                                              allow_null=True, help_text="Omit for the whole portfolio.")


class RiskInputSerializer(_ScopedInputSerializer):
    initiative = _initiative_input()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=RiskCategory.choices)
    likelihood = serializers.IntegerField(min_value=1, max_value=5)
    impact = serializers.IntegerField(min_value=1, max_value=5)
    owner = _user_input("Username of the risk owner.", required=False, allow_null=True)
    mitigation = serializers.CharField(required=False, allow_blank=True)
    residual_likelihood = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    residual_impact = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=RiskStatus.choices, required=False)
    review_date = serializers.DateField(required=False, allow_null=True)


class RiskUpdateInputSerializer(RiskInputSerializer):
    initiative = None
    title = serializers.CharField(max_length=200, required=False)
    category = serializers.ChoiceField(choices=RiskCategory.choices, required=False)
    likelihood = serializers.IntegerField(min_value=1, max_value=5, required=False)
    impact = serializers.IntegerField(min_value=1, max_value=5, required=False)


class DataAssetInputSerializer(_ScopedInputSerializer):
    business_unit = serializers.SlugRelatedField(slug_field="slug", queryset=BusinessUnit.objects.none())
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = _user_input("Username of the data owner.", required=False, allow_null=True)
    source_system = serializers.CharField(max_length=200, required=False, allow_blank=True)
    personal_data_categories = _choices_list(PERSONAL_DATA_CATEGORIES, "Personal-data categories it holds.")
    special_categories = _choices_list(SPECIAL_CATEGORIES, "GDPR Art. 9 special categories it holds.")
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices, required=False, allow_blank=True)
    retention_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    retention_note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    quality_status = serializers.ChoiceField(choices=QualityStatus.choices, required=False)
    feature_store_ref = serializers.CharField(max_length=300, required=False, allow_blank=True)


class DataAssetUpdateInputSerializer(DataAssetInputSerializer):
    business_unit = None
    name = serializers.CharField(max_length=200, required=False)


class DataAssetLinkInputSerializer(_ScopedInputSerializer):
    initiative = _initiative_input()
    purpose = serializers.CharField(max_length=300, required=False, allow_blank=True)


class GateReviewInputSerializer(_ScopedInputSerializer):
    initiative = _initiative_input()
    target_stage = serializers.ChoiceField(choices=Stage.choices)
    reason = serializers.CharField()
    expires_at = serializers.DateTimeField(help_text="When the exception ends (at most COMPLIANCE_EXCEPTION_MAX_DAYS)."
                                           )
    approvers = serializers.ListField(child=serializers.SlugRelatedField(slug_field="username",
                                                                         queryset=user_list_active()),
                                      help_text="Usernames of the approvers (every one must approve).")


class GateDecisionInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(c, label) for c, label in ApprovalDecision.choices if c != "pending"])
    comment = serializers.CharField(required=False, allow_blank=True, help_text="Required when rejecting.")


class GateCriterionInputSerializer(serializers.Serializer):
    target_stage = serializers.ChoiceField(choices=Stage.choices)
    criterion = serializers.CharField(max_length=64, help_text="A criterion code (see the list's `criterion` values "
                                                               "or apps.compliance.gates.CRITERIA).")
    risk_tiers = _choices_list(RiskTier.choices, "Tiers it applies to; empty = every tier.")
    active = serializers.BooleanField(required=False, default=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)
