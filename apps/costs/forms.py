"""HTML input validation for the cost pages; the services do the writing and the rules."""

from __future__ import annotations

from django import forms

from apps.accounts.models import BusinessUnit
from apps.costs.models import AllocationRule, CostSource, FxRate
from apps.costs.selectors import GROUPINGS
from apps.portfolio.models import Initiative

SOURCE_FORM_FIELDS = ["name", "kind", "enabled", "folder", "tag_key", "aws_role_arn", "aws_external_id", "aws_region",
                      "aws_metric", "azure_scope", "azure_cost_type", "lookback_days", "initial_days"]


def _model_field(model, name: str, **kwargs) -> forms.Field:
    return model._meta.get_field(name).formfield(**kwargs)


class CostSourceForm(forms.Form):
    """A cost source's settings; the fields of other kinds are ignored."""

    name = _model_field(CostSource, "name")
    kind = _model_field(CostSource, "kind")
    enabled = _model_field(CostSource, "enabled", label="Pull every day")
    folder = _model_field(CostSource, "folder", required=False)
    tag_key = _model_field(CostSource, "tag_key", label="Cost-allocation tag")
    aws_role_arn = _model_field(CostSource, "aws_role_arn", required=False, label="AWS role ARN")
    aws_external_id = _model_field(CostSource, "aws_external_id", required=False, label="AWS external id")
    aws_region = _model_field(CostSource, "aws_region", label="AWS region")
    aws_metric = _model_field(CostSource, "aws_metric", label="AWS metric for effective cost")
    azure_scope = _model_field(CostSource, "azure_scope", required=False, label="Azure scope")
    azure_cost_type = _model_field(CostSource, "azure_cost_type", label="Azure cost type")
    lookback_days = _model_field(CostSource, "lookback_days", label="Look-back days")
    initial_days = _model_field(CostSource, "initial_days", label="First pull: days back")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the parts of one export)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,.gz,.parquet"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class CostUploadForm(forms.Form):
    files = MultipleFileField(
        label="FOCUS files",
        help_text="CSV, gzip CSV or Parquet (FOCUS 1.0–1.2). Choose all the parts of one export together: the import "
                  "replaces this source's costs for the charge periods the files cover.",
    )


class PullForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Until (exclusive)")


class AllocationRuleForm(forms.Form):
    """A rule: a condition and a target with a share. The views pass the initiatives and units to choose from."""

    name = _model_field(AllocationRule, "name")
    kind = _model_field(AllocationRule, "kind", label="Match on")
    tag_key = _model_field(AllocationRule, "tag_key", required=False)
    tag_value = _model_field(AllocationRule, "tag_value", required=False,
                             help_text="Leave empty (and the target empty) to read the value as an initiative key.")
    sub_account_id = _model_field(AllocationRule, "sub_account_id", required=False, label="Sub-account id")
    resource_prefix = _model_field(AllocationRule, "resource_prefix", required=False, label="Resource id prefix")
    initiative = forms.ModelChoiceField(queryset=Initiative.objects.none(), required=False, to_field_name="key")
    business_unit = forms.ModelChoiceField(queryset=BusinessUnit.objects.none(), required=False,
                                           to_field_name="slug", label="Business unit")
    priority = _model_field(AllocationRule, "priority")
    share = _model_field(AllocationRule, "share")
    enabled = _model_field(AllocationRule, "enabled")
    note = _model_field(AllocationRule, "note", required=False)

    def __init__(self, *args, initiatives, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["initiative"].queryset = initiatives
        self.fields["business_unit"].queryset = units


class FxRateForm(forms.Form):
    currency = forms.CharField(max_length=8, help_text="ISO 4217 code, e.g. USD.")
    valid_from = _model_field(FxRate, "valid_from", widget=forms.DateInput(attrs={"type": "date"}),
                              label="Valid from")
    rate = _model_field(FxRate, "rate", help_text="Units of the reporting currency for one unit of this currency.")
    note = _model_field(FxRate, "note", required=False)


class FxCSVForm(forms.Form):
    csv = forms.CharField(
        label="Paste CSV",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false",
                                     "placeholder": "currency,valid_from,rate\nUSD,2025-01-01,0.92"}),
        help_text="One rate per line: currency, valid from (YYYY-MM-DD), rate, optional note. All or nothing.",
    )


class ExplorerGroupForm(forms.Form):
    group_by = forms.MultipleChoiceField(
        choices=[(name, label) for name, (label, _) in GROUPINGS.items()], required=False, label="Group by",
    )
