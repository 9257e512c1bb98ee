from apps.compliance.api.views import (
    AssessmentViewSet,
    ClassificationViewSet,
    DataAssetViewSet,
    EvidenceViewSet,
    FindingViewSet,
    FrameworkViewSet,
    GateCriterionViewSet,
    GateReviewViewSet,
    RequirementResultViewSet,
    RequirementViewSet,
    RiskViewSet,
)

ROUTES = [
    ("frameworks", FrameworkViewSet, "framework"),
    ("requirements", RequirementViewSet, "requirement"),
    ("classifications", ClassificationViewSet, "classification"),
    ("assessments", AssessmentViewSet, "assessment"),
    ("requirement-results", RequirementResultViewSet, "requirement-result"),
    ("evidence", EvidenceViewSet, "evidence"),
    ("findings", FindingViewSet, "finding"),
    ("risks", RiskViewSet, "risk"),
    ("data-assets", DataAssetViewSet, "data-asset"),
    ("gate-reviews", GateReviewViewSet, "gate-review"),
    ("gate-criteria", GateCriterionViewSet, "gate-criterion"),
]
