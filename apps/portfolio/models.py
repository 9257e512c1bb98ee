from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.accounts.models import BusinessUnit
from apps.core.access import ScopedByInitiative
from apps.core.models import TimeStampedModel
from apps.portfolio.choices import AIType, Decision, OperatorRole, Priority, RiskTier, Stage

KEY_VALIDATOR = RegexValidator(
    r"^[A-Z][A-Z0-9]{0,9}-\d{1,6}$", "Use capital letters, a dash and a number, e.g. AI-042."
)
SCORE_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class StrategicObjective(TimeStampedModel):
    """A business goal that initiatives serve, e.g. 'cut claims handling cost 20% by 2027'."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    business_unit = models.ForeignKey(
        BusinessUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="objectives",
        help_text="Leave empty for a company-wide objective.",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    target_date = models.DateField(null=True, blank=True)

    scope_unit_field = "business_unit"
    scope_owner_fields = ("owner",)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Initiative(TimeStampedModel):
    """An AI initiative: its owners, business case, lifecycle stage, risk and key dates."""

    key = models.CharField(max_length=17, unique=True, validators=[KEY_VALIDATOR])
    name = models.CharField(max_length=200)
    business_problem = models.TextField(blank=True)
    value_hypothesis = models.TextField(blank=True)
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.PROTECT, related_name="initiatives")
    sponsor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="sponsored_initiatives")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="owned_initiatives")
    technical_lead = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="technical_initiatives")
    ai_type = models.CharField(max_length=32, choices=AIType.choices)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.IDEA)
    # When the current stage was entered: written only by the transition service together with the
    # StageTransition row, so that "time in stage" and purgatory are an indexed filter at any portfolio size.
    stage_entered_at = models.DateTimeField(default=timezone.now)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    impact_score = models.PositiveSmallIntegerField(default=3, validators=SCORE_VALIDATORS)
    feasibility_score = models.PositiveSmallIntegerField(default=3, validators=SCORE_VALIDATORS)
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, default=RiskTier.UNCLASSIFIED)
    operator_role = models.CharField(max_length=16, choices=OperatorRole.choices, default=OperatorRole.DEPLOYER)
    processes_personal_data = models.BooleanField(default=False)
    budget = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    objectives = models.ManyToManyField(StrategicObjective, blank=True, related_name="initiatives")
    started_on = models.DateField(null=True, blank=True)
    pilot_started_on = models.DateField(null=True, blank=True)
    target_production_on = models.DateField(null=True, blank=True)
    production_on = models.DateField(null=True, blank=True)
    retired_on = models.DateField(null=True, blank=True)

    scope_unit_field = "business_unit"
    scope_owner_fields = ("owner", "technical_lead")
    scope_initiative_field = "id"

    class Meta:
        ordering = ["key"]
        indexes = [
            models.Index(fields=["stage", "stage_entered_at"], name="initiative_stage_entered"),
            models.Index(fields=["business_unit", "stage"], name="initiative_unit_stage"),
            models.Index(fields=["owner"], name="initiative_owner"),
            models.Index(fields=["ai_type"], name="initiative_ai_type"),
            models.Index(fields=["-updated_at"], name="initiative_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.name}"

    def days_in_stage(self, now=None) -> int:
        now = now or timezone.now()
        return max(0, (now - self.stage_entered_at).days)


class StageTransition(ScopedByInitiative, models.Model):
    """One recorded move of an initiative between stages, with its decision and rationale."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    rationale = models.TextField()


    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["initiative", "at"], name="transition_initiative_at")]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.from_stage or '∅'} → {self.to_stage}"


class InitiativeUserObjectPermission(UserObjectPermissionBase):
    """A per-object grant on one initiative to one user (django-guardian, direct foreign key for speed)."""

    content_object = models.ForeignKey(Initiative, on_delete=models.CASCADE)


class InitiativeGroupObjectPermission(GroupObjectPermissionBase):
    """A per-object grant on one initiative to a group (django-guardian, direct foreign key)."""

    content_object = models.ForeignKey(Initiative, on_delete=models.CASCADE)
