from django.db import models


class KPICategory(models.TextChoices):
    REVENUE_UPLIFT = "revenue_uplift", "Revenue uplift"
    COST_REDUCTION = "cost_reduction", "Cost reduction"
    EFFICIENCY = "efficiency", "Efficiency"
    ADOPTION = "adoption", "Adoption"
    SATISFACTION = "satisfaction", "Satisfaction"
    RISK = "risk", "Risk"


class Direction(models.TextChoices):
    UP = "up", "Higher is better"
    DOWN = "down", "Lower is better"


class KPISource(models.TextChoices):
    MANUAL = "manual", "Manual"
    API = "api", "API"
    MLFLOW = "mlflow", "MLflow metric"
    FILE = "file", "File"


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class TrackStatus(models.TextChoices):
    ACHIEVED = "achieved", "Target met"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    NO_DATA = "no_data", "No data yet"
