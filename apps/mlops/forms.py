"""HTML input validation for the MLOps pages. Forms only clean input; the views hand cleaned_data to a service."""

from __future__ import annotations

from django import forms

from apps.mlops.choices import AlertStatus, AuthType, LinkKind, RuleKind, Severity
from apps.mlops.models import MLflowConnection, MonitoringRule


class ConnectionForm(forms.Form):
    """An MLflow connection. The secret field is never filled in: leave it empty to keep the stored one."""

    name = forms.CharField(max_length=100)
    tracking_uri = forms.CharField(max_length=500, label="Tracking URI",
                                   help_text="e.g. https://mlflow.example.com, or the Databricks workspace URL.")
    auth_type = forms.ChoiceField(choices=AuthType.choices, label="Authentication")
    username = forms.CharField(max_length=150, required=False, help_text="Basic authentication only.")
    secret = forms.CharField(required=False, strip=False, label="Password or token",
                             widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    verify_tls = forms.BooleanField(required=False, initial=True, label="Verify the TLS certificate")
    timeout_seconds = forms.IntegerField(min_value=1, max_value=120, initial=10, label="Timeout (seconds)")
    enabled = forms.BooleanField(required=False, initial=True, label="Sync on schedule")

    def __init__(self, *args, has_secret: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if has_secret:
            self.fields["secret"].help_text = "A secret is stored (never shown). Leave empty to keep it."
        else:
            self.fields["secret"].help_text = "Stored encrypted; never shown again."


class ModelLinkForm(forms.Form):
    connection = forms.ModelChoiceField(queryset=MLflowConnection.objects.none(), empty_label=None,
                                        label="MLflow server")
    kind = forms.ChoiceField(choices=LinkKind.choices, label="Link")
    target = forms.CharField(max_length=500, label="Experiment id / name, or model name")

    def __init__(self, *args, connections=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if connections is not None:
            self.fields["connection"].queryset = connections


class RuleForm(forms.Form):
    """A monitoring rule; which fields matter depends on the kind (the service checks)."""

    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the kind and metric.")
    kind = forms.ChoiceField(choices=RuleKind.choices)
    metric_key = forms.CharField(max_length=250, required=False, label="Metric key",
                                 help_text="The MLflow metric, e.g. auc or psi_income (not for staleness).")
    model_name = forms.CharField(max_length=500, required=False, label="Only this registered model")
    min_value = forms.FloatField(required=False, label="Minimum", help_text="Threshold: breach below.")
    max_value = forms.FloatField(required=False, label="Maximum", help_text="Threshold: breach above.")
    drop_tolerance = forms.FloatField(required=False, min_value=0, max_value=1, label="Tolerated drop",
                                      help_text="Relative drop: a share, 0.05 = 5%.")
    higher_is_better = forms.BooleanField(required=False, initial=True, label="Higher is better")
    window_days = forms.IntegerField(min_value=1, max_value=365, initial=7, label="Recent window (days)")
    baseline_days = forms.IntegerField(min_value=1, max_value=730, initial=30, label="Baseline window (days)")
    drift_limit = forms.FloatField(required=False, label="Drift limit", help_text="Default 0.25 (PSI major shift).")
    stale_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label="Stale after (days)")
    consecutive_breaches = forms.IntegerField(min_value=1, max_value=100, initial=1,
                                              label="Consecutive breaches before alerting")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.WARNING)
    recipients = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text="Emails notified besides the owner, comma-separated.")
    active = forms.BooleanField(required=False, initial=True)

    @classmethod
    def initial_from(cls, rule: MonitoringRule) -> dict:
        initial = {name: getattr(rule, name) for name in cls.base_fields}
        initial["recipients"] = ", ".join(rule.recipients or [])
        return initial


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("active", "Open and acknowledged"), *AlertStatus.choices, ("all", "All")],
                               required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    initiative = forms.CharField(required=False, max_length=17)
