from django.db import models


class FrameworkKind(models.TextChoices):
    REGULATION = "regulation", "Regulation / law"
    STANDARD = "standard", "Standard"
    GUIDANCE = "guidance", "Guidance / framework"
    INTERNAL = "internal", "Internal policy"


class ResultStatus(models.TextChoices):
    COMPLIANT = "compliant", "Compliant"
    PARTIAL = "partial", "Partially compliant"
    NON_COMPLIANT = "non_compliant", "Non-compliant"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NOT_ASSESSED = "not_assessed", "Not assessed"


# Results that count as "done" when an assessment is approved.
ASSESSED_STATUSES = (ResultStatus.COMPLIANT, ResultStatus.PARTIAL, ResultStatus.NOT_APPLICABLE)


class AssessmentStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    APPROVED = "approved", "Approved"


class EvidenceKind(models.TextChoices):
    FILE = "file", "Uploaded file"
    LINK = "link", "Link"


class EvidenceCategory(models.TextChoices):
    DPIA = "dpia", "Data protection impact assessment (DPIA)"
    FRIA = "fria", "Fundamental-rights impact assessment (FRIA)"
    MODEL_CARD = "model_card", "Model card"
    TECHNICAL_DOCUMENTATION = "technical_documentation", "Technical documentation"
    TEST_REPORT = "test_report", "Test / evaluation report"
    RISK_ASSESSMENT = "risk_assessment", "Risk assessment"
    POLICY = "policy", "Policy or procedure"
    CONTRACT = "contract", "Contract / agreement"
    TRAINING = "training", "Training record"
    MONITORING = "monitoring", "Monitoring report"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}
# "High-severity" findings for the production gate: high and critical.
HIGH_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class RiskCategory(models.TextChoices):
    FAIRNESS = "fairness", "Fairness and bias"
    PRIVACY = "privacy", "Privacy and data protection"
    SECURITY = "security", "Security"
    SAFETY = "safety", "Safety"
    PERFORMANCE = "performance", "Performance and reliability"
    TRANSPARENCY = "transparency", "Transparency and explainability"
    LEGAL = "legal", "Legal and regulatory"
    THIRD_PARTY = "third_party", "Third party and vendor"
    OPERATIONAL = "operational", "Operational"
    REPUTATIONAL = "reputational", "Reputational"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATING = "mitigating", "Being mitigated"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


class LegalBasis(models.TextChoices):
    """GDPR Art. 6(1) lawful bases."""

    NONE = "", "Not set"
    CONSENT = "consent", "Consent (Art. 6(1)(a))"
    CONTRACT = "contract", "Contract (Art. 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art. 6(1)(c))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art. 6(1)(d))"
    PUBLIC_TASK = "public_task", "Public task (Art. 6(1)(e))"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests (Art. 6(1)(f))"
    NOT_APPLICABLE = "not_applicable", "No personal data"


class QualityStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not assessed"
    POOR = "poor", "Poor"
    ACCEPTABLE = "acceptable", "Acceptable"
    GOOD = "good", "Good"
    CERTIFIED = "certified", "Certified"


PERSONAL_DATA_CATEGORIES = [
    ("identity", "Identity (name, IDs)"),
    ("contact", "Contact details"),
    ("financial", "Financial"),
    ("location", "Location"),
    ("online", "Online identifiers and behaviour"),
    ("employment", "Employment"),
    ("images", "Images, audio or video"),
    ("claims", "Claims and case records"),
    ("communications", "Communications content"),
]
# GDPR Art. 9(1) special categories (and Art. 10 criminal-offence data).
SPECIAL_CATEGORIES = [
    ("racial_ethnic", "Racial or ethnic origin"),
    ("political", "Political opinions"),
    ("religious", "Religious or philosophical beliefs"),
    ("trade_union", "Trade-union membership"),
    ("genetic", "Genetic data"),
    ("biometric", "Biometric data for identification"),
    ("health", "Health"),
    ("sex_life", "Sex life or sexual orientation"),
    ("criminal", "Criminal convictions and offences"),
]


class GateReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ApprovalDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ApproverRole(models.TextChoices):
    """The capacity in which someone approved a gate exception (stored with the decision)."""

    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    PORTFOLIO_ADMIN = "portfolio_admin", "Portfolio admin"
    UNIT_LEAD = "unit_lead", "Lead of the initiative's business unit"


class CheckCode(models.TextChoices):
    """Automated checks ("evidence from telemetry"), implemented in apps.compliance.checks."""

    OWNER_SPONSOR_SET = "owner_sponsor_set", "Owner and sponsor set"
    KPI_BASELINE_TARGET = "kpi_baseline_target", "KPI with baseline and target"
    MODEL_VERSIONED = "model_versioned", "Model versioned in the registry with an alias"
    MONITORING_ACTIVE = "monitoring_active", "Monitoring rule active, no open critical alert"
    MODEL_CARD_PRESENT = "model_card_present", "Model card present"
    LINEAGE_LOGGED = "lineage_logged", "Data lineage logged"
    DPIA_PRESENT = "dpia_present", "DPIA evidence present when personal data is processed"
    DATA_RETENTION_SET = "data_retention_set", "Retention set on every linked data asset"
    COSTS_ALLOCATED = "costs_allocated", "Costs allocated to the initiative"
    CLASSIFICATION_DONE = "classification_done", "EU AI Act classification done"
