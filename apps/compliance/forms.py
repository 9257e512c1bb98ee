"""HTML input validation for the compliance pages. Forms only clean input; views hand cleaned_data to a service."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.compliance.choices import (
    PERSONAL_DATA_CATEGORIES,
    SPECIAL_CATEGORIES,
    ApprovalDecision,
    CheckCode,
    EvidenceCategory,
    ResultStatus,
)
from apps.compliance.classification import QUESTIONS
from apps.compliance.gates import CRITERIA
from apps.compliance.models import DataAsset, Framework, Requirement, Risk
from apps.portfolio.choices import AIType, OperatorRole, RiskTier, Stage
from apps.portfolio.forms import DATE_WIDGET

CHECKBOXES = forms.CheckboxSelectMultiple


def _model_field(model, name: str, **kwargs) -> forms.Field:
    return model._meta.get_field(name).formfield(**kwargs)


def _user_field(label: str, required: bool = False) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(queryset=User.objects.none(), required=required, label=label,
                                   empty_label="— nobody —")
    field.label_from_instance = lambda user: user.display_name
    return field


class ClassificationForm(forms.Form):
    """The EU AI Act questionnaire: one field per question (apps.compliance.classification.QUESTIONS)."""

    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note",
                           help_text="Anything a reviewer should know about these answers.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for question in QUESTIONS:
            label = f"{question.text} ({question.reference})"
            if question.is_choice:
                self.fields[question.key] = forms.ChoiceField(choices=question.choices, label=label,
                                                              widget=forms.RadioSelect, initial=question.choices[0][0])
            else:
                self.fields[question.key] = forms.BooleanField(required=False, label=label)
        self.fields["note"] = self.fields.pop("note")

    def sections(self) -> list[tuple[str, list]]:
        grouped: dict[str, list] = {}
        for question in QUESTIONS:
            grouped.setdefault(question.section, []).append(self[question.key])
        return list(grouped.items())

    def answers(self) -> dict:
        return {question.key: self.cleaned_data.get(question.key) for question in QUESTIONS}


class EvidenceForm(forms.Form):
    """Upload a file or record a link, and say which requirements it supports."""

    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=EvidenceCategory.choices, initial=EvidenceCategory.OTHER)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(required=False, help_text="PDF, image, text, CSV, JSON or Office document.")
    url = forms.URLField(required=False, max_length=1000, label="Or a link", assume_scheme="https",
                         help_text="A document system, ticket or dashboard address.")
    requirements = forms.ModelMultipleChoiceField(queryset=Requirement.objects.none(), required=False,
                                                  widget=CHECKBOXES, label="Supports these requirements")

    def __init__(self, *args, requirements: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirements"].queryset = requirements
        self.fields["requirements"].label_from_instance = lambda r: f"{r.framework.short_name} {r.code} — {r.title}"
        self.fields["file"].help_text += f" At most {settings.EVIDENCE_MAX_BYTES // (1024 * 1024)} MB."

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("file")) == bool(data.get("url")):
            raise forms.ValidationError("Upload a file or give a link (one of the two).")
        return data


class AssessmentStartForm(forms.Form):
    framework = forms.ModelChoiceField(queryset=Framework.objects.none(), empty_label=None)

    def __init__(self, *args, frameworks: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["framework"].queryset = frameworks


class ResultForm(forms.Form):
    status = forms.ChoiceField(choices=ResultStatus.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    automatic = forms.BooleanField(required=False, label="Let the automated checks set it")


class NoteForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class _ServiceModelForm(forms.ModelForm):
    """A ModelForm used only for its fields: the service validates the model and writes it."""

    def _post_clean(self) -> None:
        pass


class RiskForm(_ServiceModelForm):
    owner = _user_field("Risk owner")

    class Meta:
        model = Risk
        fields = ["title", "category", "description", "likelihood", "impact", "owner", "mitigation",
                  "residual_likelihood", "residual_impact", "status", "review_date"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "mitigation": forms.Textarea(attrs={"rows": 3}),
                   "review_date": DATE_WIDGET}
        help_texts = {"likelihood": "1 rare … 5 almost certain", "impact": "1 negligible … 5 severe",
                      "residual_likelihood": "After mitigation", "residual_impact": "After mitigation"}

    def __init__(self, *args, users: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users
        scores = [("", "—"), *((n, str(n)) for n in range(1, 6))]
        for name in ("likelihood", "impact", "residual_likelihood", "residual_impact"):
            self.fields[name] = forms.TypedChoiceField(choices=scores, coerce=int, empty_value=None,
                                                       required=name in ("likelihood", "impact"),
                                                       label=self.fields[name].label,
                                                       help_text=self.fields[name].help_text)


class DataAssetForm(_ServiceModelForm):
    owner = _user_field("Data owner")
    personal_data_categories = forms.MultipleChoiceField(choices=PERSONAL_DATA_CATEGORIES, required=False,
                                                         widget=CHECKBOXES)
    special_categories = forms.MultipleChoiceField(choices=SPECIAL_CATEGORIES, required=False, widget=CHECKBOXES,
                                                   label="Special categories (GDPR Art. 9)")

    class Meta:
        model = DataAsset
        fields = ["business_unit", "name", "description", "owner", "source_system", "personal_data_categories",
                  "special_categories", "legal_basis", "retention_days", "retention_note", "quality_status",
                  "feature_store_ref"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, units: QuerySet, users: QuerySet, unit_locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_unit"] = forms.ModelChoiceField(queryset=units, disabled=unit_locked,
                                                              label="Business unit")
        self.fields["owner"].queryset = users
        self.fields["legal_basis"].required = False


class DataAssetLinkForm(forms.Form):
    data_asset = forms.ModelChoiceField(queryset=DataAsset.objects.none(), label="Data asset")
    purpose = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, assets: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["data_asset"].queryset = assets


class GateReviewForm(forms.Form):
    target_stage = forms.ChoiceField(choices=[(s, label) for s, label in Stage.choices if s in ("pilot", "production",
                                                                                            "scaled")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why the move should go ahead despite the unmet criteria.")
    expires_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                format="%Y-%m-%dT%H:%M"),
                                     label="Exception expires")
    approvers = forms.ModelMultipleChoiceField(queryset=User.objects.none(), widget=CHECKBOXES)

    def __init__(self, *args, approvers: QuerySet, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("expires_at", timezone.localtime() + timedelta(days=30))
        super().__init__(*args, **kwargs)
        self.fields["approvers"].queryset = approvers
        self.fields["approvers"].label_from_instance = lambda user: user.display_name


class GateDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[(c, label) for c, label in ApprovalDecision.choices if c != "pending"],
                                 widget=forms.RadioSelect)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class FrameworkForm(_ServiceModelForm):
    source_url = forms.URLField(required=False, assume_scheme="https", label="Source URL")
    class Meta:
        model = Framework
        fields = ["slug", "name", "short_name", "kind", "version", "description", "source_url", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields.pop("slug")


class RequirementForm(_ServiceModelForm):
    risk_tiers = forms.MultipleChoiceField(choices=RiskTier.choices, required=False, widget=CHECKBOXES,
                                           help_text="None ticked: every tier.")
    operator_roles = forms.MultipleChoiceField(choices=OperatorRole.choices, required=False, widget=CHECKBOXES,
                                               help_text="None ticked: every role.")
    ai_types = forms.MultipleChoiceField(choices=AIType.choices, required=False, widget=CHECKBOXES,
                                         label="AI types", help_text="None ticked: every AI type.")
    stages = forms.MultipleChoiceField(choices=Stage.choices, required=False, widget=CHECKBOXES,
                                       help_text="None ticked: every stage.")
    checks = forms.MultipleChoiceField(choices=CheckCode.choices, required=False, widget=CHECKBOXES,
                                       label="Proven by automated checks")

    class Meta:
        model = Requirement
        fields = ["code", "title", "summary", "reference", "section", "position", "applies_from", "risk_tiers",
                  "operator_roles", "ai_types", "stages", "personal_data_only", "checks", "active"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3}), "applies_from": DATE_WIDGET}


class GateCriterionForm(forms.Form):
    target_stage = forms.ChoiceField(choices=Stage.choices)
    criterion = forms.ChoiceField(choices=[(code, c.label) for code, c in CRITERIA.items()])
    risk_tiers = forms.MultipleChoiceField(choices=RiskTier.choices, required=False, widget=CHECKBOXES,
                                           help_text="None ticked: every tier.")
    active = forms.BooleanField(required=False, initial=True)
    note = forms.CharField(max_length=300, required=False)

