from django.db import models


class Stage(models.TextChoices):
    IDEA = "idea", "Idea"
    DISCOVERY = "discovery", "Discovery"
    PILOT = "pilot", "Pilot"
    PRODUCTION = "production", "Production"
    SCALED = "scaled", "Scaled"
    RETIRED = "retired", "Retired"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


# The main path, in order; the funnel and the stage timeline follow it.
LIFECYCLE = (Stage.IDEA, Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED, Stage.RETIRED)
ACTIVE_STAGES = (Stage.IDEA, Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)
TERMINAL_STAGES = (Stage.RETIRED, Stage.CANCELLED)


class Decision(models.TextChoices):
    ADVANCE = "advance", "Advance"
    PIVOT = "pivot", "Pivot"
    PAUSE = "pause", "Pause"
    KILL = "kill", "Kill"


class AIType(models.TextChoices):
    PREDICTIVE_ML = "predictive_ml", "Predictive ML"
    GENERATIVE = "generative", "Generative / LLM"
    COMPUTER_VISION = "computer_vision", "Computer vision"
    NLP = "nlp", "NLP"
    OPTIMISATION = "optimisation", "Optimisation"
    AGENT = "agent", "Agent"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class RiskTier(models.TextChoices):
    UNCLASSIFIED = "unclassified", "Not yet classified"
    MINIMAL = "minimal", "Minimal risk"
    LIMITED = "limited", "Limited risk (transparency)"
    HIGH = "high", "High risk"
    PROHIBITED = "prohibited", "Prohibited practice"


class OperatorRole(models.TextChoices):
    PROVIDER = "provider", "Provider"
    DEPLOYER = "deployer", "Deployer"
    IMPORTER = "importer", "Importer"
    DISTRIBUTOR = "distributor", "Distributor"
