"""Input and output serializers for the portfolio API. Inputs only validate; the services write."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import BusinessUnit
from apps.accounts.selectors import business_unit_list, user_list_active
from apps.kpis.choices import TrackStatus
from apps.kpis.models import KPI
from apps.kpis.selectors import kpi_status_of
from apps.portfolio.choices import AIType, Decision, OperatorRole, Priority, RiskTier, Stage
from apps.portfolio.models import Initiative, StageTransition, StrategicObjective
from apps.portfolio.selectors import objective_list, purgatory_cutoff
from apps.portfolio.stages import allowed_targets, pilot_days


def _now(context: dict) -> datetime:
    return context.get("now") or timezone.now()


def _username_field(help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", read_only=True, help_text=help_text)


# --- outputs ---------------------------------------------------------------------------------------------------


class InitiativeListOutputSerializer(serializers.ModelSerializer):
    """An initiative as the portfolio list shows it: lean, no nested collections."""

    business_unit = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Business unit slug.")
    owner = _username_field("Username of the owner.")
    sponsor = _username_field("Username of the sponsor.")
    technical_lead = _username_field("Username of the technical lead.")
    days_in_stage = serializers.SerializerMethodField(help_text="Whole days since the current stage was entered.")
    in_purgatory = serializers.SerializerMethodField(
        help_text="In pilot for longer than PILOT_PURGATORY_DAYS (default 180)."
    )

    class Meta:
        model = Initiative
        fields = [
            "key", "name", "business_unit", "stage", "stage_entered_at", "days_in_stage", "in_purgatory", "ai_type",
            "priority", "impact_score", "feasibility_score", "risk_tier", "owner", "sponsor", "technical_lead",
            "target_production_on", "updated_at",
        ]
        read_only_fields = fields

    def get_days_in_stage(self, obj: Initiative) -> int:
        return obj.days_in_stage(_now(self.context))

    def get_in_purgatory(self, obj: Initiative) -> bool:
        return obj.stage == Stage.PILOT and obj.stage_entered_at < purgatory_cutoff(_now(self.context))


class KPISummarySerializer(serializers.ModelSerializer):
    """A KPI of an initiative with its latest value and status (details under /api/v1/kpis/)."""

    latest_value = serializers.DecimalField(max_digits=20, decimal_places=6, read_only=True, allow_null=True)
    latest_date = serializers.DateField(read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField(help_text="Share of the way from baseline to target (1 = met).")
    status = serializers.SerializerMethodField()

    class Meta:
        model = KPI
        fields = ["id", "name", "category", "unit", "direction", "baseline_value", "target_value", "target_date",
                  "latest_value", "latest_date", "progress", "status"]
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_progress(self, obj: KPI) -> float | None:
        status = kpi_status_of(obj)
        return None if status.progress is None else round(float(status.progress), 4)

    @extend_schema_field(serializers.ChoiceField(choices=TrackStatus.choices))
    def get_status(self, obj: KPI) -> str:
        return kpi_status_of(obj).status


class InitiativeDetailOutputSerializer(InitiativeListOutputSerializer):
    """An initiative with its business case, dates, objectives, KPIs and the stages it may move to next."""

    objectives = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Strategic objective ids.")
    days_in_pilot = serializers.SerializerMethodField(help_text="Total days spent in pilot, over every visit.")
    next_stages = serializers.SerializerMethodField(help_text="Stages a transition may move it to now.")
    kpis = KPISummarySerializer(many=True, read_only=True, source="kpi_rows")

    class Meta(InitiativeListOutputSerializer.Meta):
        fields = [
            *InitiativeListOutputSerializer.Meta.fields, "business_problem", "value_hypothesis", "operator_role",
            "processes_personal_data", "budget", "objectives", "started_on", "pilot_started_on", "production_on",
            "retired_on", "days_in_pilot", "next_stages", "kpis", "created_at",
        ]
        read_only_fields = fields

    def get_days_in_pilot(self, obj: Initiative) -> int:
        rows = [(t.from_stage, t.to_stage, t.at) for t in obj.transition_rows]
        return int(pilot_days(rows, _now(self.context)))

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Stage.choices)))
    def get_next_stages(self, obj: Initiative) -> list[str]:
        paused = None
        if obj.stage == Stage.ON_HOLD:
            paused = next((t.from_stage for t in reversed(obj.transition_rows) if t.to_stage == Stage.ON_HOLD), None)
        return [str(stage) for stage in allowed_targets(obj.stage, paused)]


class TransitionOutputSerializer(serializers.ModelSerializer):
    """One recorded stage move."""

    by = _username_field("Username of who recorded the move.")

    class Meta:
        model = StageTransition
        fields = ["id", "from_stage", "to_stage", "decision", "rationale", "at", "by"]
        read_only_fields = fields


class ObjectiveOutputSerializer(serializers.ModelSerializer):
    """A strategic objective; a null business unit means company-wide."""

    business_unit = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner = _username_field("Username of the owner.")
    initiative_count = serializers.IntegerField(read_only=True, help_text="Initiatives serving this objective.")

    class Meta:
        model = StrategicObjective
        fields = ["id", "title", "description", "business_unit", "owner", "target_date", "initiative_count",
                  "created_at", "updated_at"]
        read_only_fields = fields


# --- inputs ----------------------------------------------------------------------------------------------------


def _user_input(help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", queryset=user_list_active(), required=False,
                                        allow_null=True, help_text=help_text)


class _ScopedInputSerializer(serializers.Serializer):
    """Limits business unit (and objective) choices to what the requesting user may see."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:
            return
        if "business_unit" in self.fields:
            self.fields["business_unit"].queryset = business_unit_list(user=request.user)
        if "objectives" in self.fields:
            self.fields["objectives"].child_relation.queryset = objective_list(user=request.user)


class InitiativeInputSerializer(_ScopedInputSerializer):
    """The editable fields of an initiative. Its stage changes only through a transition."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None and "request" in self.context:
            # Whoever may see the initiative (e.g. through a per-object grant) may name its current unit, even
            # when they cannot see that unit itself.
            visible = self.fields["business_unit"].queryset
            self.fields["business_unit"].queryset = BusinessUnit.objects.filter(
                Q(pk__in=visible.values("pk")) | Q(pk=self.instance.business_unit_id)
            )

    name = serializers.CharField(max_length=200)
    business_unit = serializers.SlugRelatedField(slug_field="slug", queryset=BusinessUnit.objects.none(),
                                                 help_text="Business unit slug.")
    ai_type = serializers.ChoiceField(choices=AIType.choices)
    business_problem = serializers.CharField(required=False, allow_blank=True)
    value_hypothesis = serializers.CharField(required=False, allow_blank=True)
    owner = _user_input("Username of the owner (defaults to you unless you are a portfolio admin).")
    sponsor = _user_input("Username of the sponsor.")
    technical_lead = _user_input("Username of the technical lead.")
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    impact_score = serializers.IntegerField(min_value=1, max_value=5, required=False)
    feasibility_score = serializers.IntegerField(min_value=1, max_value=5, required=False)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    operator_role = serializers.ChoiceField(choices=OperatorRole.choices, required=False)
    processes_personal_data = serializers.BooleanField(required=False)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True,
                                      min_value=0)
    started_on = serializers.DateField(required=False, allow_null=True)
    target_production_on = serializers.DateField(required=False, allow_null=True)
    objectives = serializers.PrimaryKeyRelatedField(many=True, required=False,
                                                    queryset=StrategicObjective.objects.none(),
                                                    help_text="Ids of the strategic objectives it serves.")

    def validate(self, attrs: dict) -> dict:
        # `stage` is not an input; refuse a change loudly rather than ignore it, but let a client PUT back
        # what it read (same stage).
        stage = self.initial_data.get("stage") if hasattr(self.initial_data, "get") else None
        current = self.instance.stage if self.instance is not None else Stage.IDEA
        if stage is not None and stage != current:
            raise serializers.ValidationError(
                {"stage": "Change the stage by recording a stage move (POST …/transition/), not by editing."}
            )
        return attrs


class InitiativeCreateInputSerializer(InitiativeInputSerializer):
    key = serializers.CharField(max_length=17, required=False, allow_blank=True,
                                help_text="e.g. AI-042; generated (AI-nnn) when omitted.")


class TransitionInputSerializer(serializers.Serializer):
    """A stage move: where to, the decision it records (defaults to the move's usual one) and why."""

    to_stage = serializers.ChoiceField(choices=Stage.choices)
    decision = serializers.ChoiceField(choices=Decision.choices, required=False, allow_blank=True,
                                       help_text="advance / pivot / pause / kill; defaults to what the move implies.")
    rationale = serializers.CharField(allow_blank=True, help_text="Why the initiative moves; required.")
    at = serializers.DateTimeField(required=False, help_text="When the move happened; defaults to now.")


class ObjectiveInputSerializer(_ScopedInputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    business_unit = serializers.SlugRelatedField(slug_field="slug", queryset=BusinessUnit.objects.none(),
                                                 required=False, allow_null=True,
                                                 help_text="Business unit slug; omit for a company-wide objective.")
    owner = _user_input("Username of the owner.")
    target_date = serializers.DateField(required=False, allow_null=True)

