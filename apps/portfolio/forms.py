"""HTML input validation for the portfolio pages. Forms only clean input; the views hand cleaned_data to a service."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import BusinessUnit, User
from apps.kpis.models import KPI, Measurement
from apps.portfolio.choices import AIType, Decision, Stage
from apps.portfolio.models import Initiative, StrategicObjective
from apps.portfolio.stages import FORWARD

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SCORES = [(1, "1 — very low"), (2, "2 — low"), (3, "3 — medium"), (4, "4 — high"), (5, "5 — very high")]


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: under the field it names, else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


def _model_field(model, name: str, **kwargs) -> forms.Field:
    """The model's own form field (label, help text, limits, choices), so forms and models never drift apart."""
    return model._meta.get_field(name).formfield(**kwargs)


def _user_field(label: str, help_text: str = "") -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=label, help_text=help_text,
                                   empty_label="— nobody yet —")
    field.label_from_instance = lambda user: user.display_name
    return field


class InitiativeForm(forms.Form):
    """Register or edit an initiative. The views pass the units, people and objectives the user may choose."""

    key = forms.CharField(
        max_length=17, required=False, label="Key",
        help_text="Leave empty to get the next free key (AI-001, AI-002, …). Used in URLs, the API and MLflow tags.",
    )
    name = _model_field(Initiative, "name")
    business_unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.none(), label="Business unit")
    ai_type = _model_field(Initiative, "ai_type", label="AI type")
    priority = _model_field(Initiative, "priority")
    business_problem = _model_field(
        Initiative, "business_problem", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The business problem in the business's words: what hurts, for whom, how much.",
    )
    value_hypothesis = _model_field(
        Initiative, "value_hypothesis", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="If this works, which KPI moves by how much, and what is that worth?",
    )
    owner = _user_field("Owner", "Accountable for the outcome; may move its stage.")
    sponsor = _user_field("Executive sponsor")
    technical_lead = _user_field("Technical lead")
    impact_score = forms.TypedChoiceField(choices=SCORES, coerce=int, initial=3, label="Impact")
    feasibility_score = forms.TypedChoiceField(choices=SCORES, coerce=int, initial=3, label="Feasibility")
    risk_tier = _model_field(Initiative, "risk_tier", label="EU AI Act risk tier")
    operator_role = _model_field(Initiative, "operator_role", label="Operator role (EU AI Act)")
    processes_personal_data = _model_field(Initiative, "processes_personal_data", label="Processes personal data")
    budget = _model_field(Initiative, "budget", help_text="Approved budget in the reporting currency.")
    started_on = _model_field(Initiative, "started_on", widget=DATE_WIDGET, label="Started on")
    target_production_on = _model_field(Initiative, "target_production_on", widget=DATE_WIDGET,
                                        label="Target production date")
    objectives = forms.ModelMultipleChoiceField(
        queryset=StrategicObjective.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        label="Strategic objectives served",
    )

    def __init__(self, *args, units: QuerySet, users: QuerySet, objectives: QuerySet, unit_locked: bool = False,
                 with_key: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["business_unit"].queryset = units
        self.fields["business_unit"].empty_label = "Choose a unit…"
        self.fields["ai_type"].choices = [("", "Choose a type…"), *AIType.choices]
        self.fields["business_unit"].label_from_instance = lambda unit: f"{'— ' * unit.depth}{unit.name}"
        if unit_locked:
            self.fields["business_unit"].disabled = True
            self.fields["business_unit"].help_text = "Only portfolio admins move an initiative to another unit."
        for name in ("owner", "sponsor", "technical_lead"):
            self.fields[name].queryset = users
        self.fields["objectives"].queryset = objectives
        if not with_key:
            del self.fields["key"]

    def clean_key(self) -> str:
        return self.cleaned_data["key"].strip().upper()


class TransitionForm(forms.Form):
    """Record a stage move: only the stages the rules allow next are offered."""

    to_stage = forms.ChoiceField(widget=forms.RadioSelect, label="Move to")
    decision = forms.ChoiceField(
        required=False, label="Decision",
        choices=[("", "As the move implies")] + list(Decision.choices),
        help_text="Moving forward records an advance, stepping back a pivot, on hold a pause, cancelling a kill.",
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label="Rationale",
        help_text="Why now? Cite the evidence: KPI results, gate review, budget, risk.",
    )

    def __init__(self, *args, current: str, targets: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = []
        for target in targets:
            decisions = FORWARD.get((current, target), (Decision.ADVANCE,))
            hint = " / ".join(Decision(decision).label.lower() for decision in decisions)
            choices.append((target, f"{Stage(target).label} ({hint})"))
        self.fields["to_stage"].choices = choices


class KPIForm(forms.Form):
    """Define or change a KPI: baseline and target with dates, direction, value per unit."""

    name = _model_field(KPI, "name", help_text="What is measured, e.g. 'Average claim handling time'.")
    category = _model_field(KPI, "category")
    unit = _model_field(KPI, "unit")
    direction = _model_field(KPI, "direction")
    baseline_value = _model_field(KPI, "baseline_value", label="Baseline")
    baseline_date = _model_field(KPI, "baseline_date", widget=DATE_WIDGET, label="Baseline date")
    target_value = _model_field(KPI, "target_value", label="Target")
    target_date = _model_field(KPI, "target_date", widget=DATE_WIDGET, label="Target date")
    value_per_unit = _model_field(KPI, "value_per_unit", label="Value per unit")
    source = _model_field(KPI, "source")
    cadence = _model_field(KPI, "cadence")


class MeasurementForm(forms.Form):
    """One dated value of a KPI."""

    date = forms.DateField(widget=DATE_WIDGET, initial=timezone.localdate)
    value = _model_field(Measurement, "value")
    note = _model_field(Measurement, "note", required=False)


class MeasurementCSVForm(forms.Form):
    """Many values at once, pasted as CSV."""

    csv = forms.CharField(
        label="Paste CSV",
        widget=forms.Textarea(
            attrs={"rows": 10, "spellcheck": "false", "placeholder": "date,value,note\n2026-01-31,92.5,January close"}
        ),
        help_text="One measurement per line: date (YYYY-MM-DD), value, optional note. A header row is optional. "
                  "All lines are saved or none; a value for a day that already has one replaces it.",
    )


class GrantForm(forms.Form):
    """Give one person access to this initiative only, e.g. an external reviewer."""

    user = forms.ModelChoiceField(queryset=None, label="Person", empty_label="Choose a person…")
    access = forms.ChoiceField(label="Access", choices=[("view", "Read"), ("change", "Read and edit")])

    def __init__(self, *args, users=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
