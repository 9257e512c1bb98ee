"""Input and output serializers for KPIs and measurements. Inputs only validate; the services write."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.kpis.choices import TrackStatus
from apps.kpis.models import KPI, Measurement
from apps.kpis.selectors import kpi_list, kpi_status_of
from apps.portfolio.models import Initiative
from apps.portfolio.selectors import initiative_list

# --- outputs ---------------------------------------------------------------------------------------------------


class KPIOutputSerializer(serializers.ModelSerializer):
    """A KPI with its latest measurement, progress toward target, on-track status and realized value."""

    initiative = serializers.SlugRelatedField(slug_field="key", read_only=True, help_text="Initiative key.")
    latest_value = serializers.DecimalField(max_digits=20, decimal_places=6, read_only=True, allow_null=True)
    latest_date = serializers.DateField(read_only=True, allow_null=True)
    progress = serializers.FloatField(
        source="kpi_status.progress", read_only=True, allow_null=True,
        help_text="Share of the way from baseline to target at the latest measurement (1 = target met).",
    )
    expected = serializers.FloatField(
        source="kpi_status.expected", read_only=True, allow_null=True,
        help_text="Share of the way the straight line from baseline to target expects by that date.",
    )
    status = serializers.ChoiceField(choices=TrackStatus.choices, source="kpi_status.status", read_only=True)
    improvement = serializers.DecimalField(
        source="kpi_status.improvement", max_digits=28, decimal_places=6, read_only=True, allow_null=True,
        help_text="How much better than baseline, in the KPI's unit (negative when worse).",
    )
    realized_value = serializers.DecimalField(
        source="kpi_status.realized_value", max_digits=28, decimal_places=2, read_only=True, allow_null=True,
        help_text="Improvement × value per unit, in the reporting currency.",
    )

    class Meta:
        model = KPI
        fields = [
            "id", "initiative", "name", "category", "unit", "direction", "baseline_value", "baseline_date",
            "target_value", "target_date", "value_per_unit", "source", "cadence", "latest_value", "latest_date",
            "progress", "expected", "status", "improvement", "realized_value", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: KPI) -> dict[str, Any]:
        # Computed once per KPI from the latest_value/latest_date annotations of kpi_list().
        instance.kpi_status = kpi_status_of(instance)
        return super().to_representation(instance)


class MeasurementOutputSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Measurement
        fields = ["id", "kpi", "date", "value", "source", "note", "recorded_by", "recorded_at"]
        read_only_fields = fields


class BulkCreatedSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Measurements written (a day already measured is replaced).")


# --- inputs ----------------------------------------------------------------------------------------------------


class KPIInputSerializer(serializers.ModelSerializer):
    """A KPI definition: baseline and target (each with a date), direction and what one unit is worth."""

    class Meta:
        model = KPI
        fields = ["name", "category", "unit", "direction", "baseline_value", "baseline_date", "target_value",
                  "target_date", "value_per_unit", "source", "cadence"]
        validators: list = []  # the service checks uniqueness and dates, with messages per field


class KPICreateInputSerializer(KPIInputSerializer):
    initiative = serializers.SlugRelatedField(slug_field="key", queryset=Initiative.objects.none(),
                                              help_text="Key of the initiative, e.g. AI-042.")

    class Meta(KPIInputSerializer.Meta):
        fields = ["initiative", *KPIInputSerializer.Meta.fields]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["initiative"].queryset = initiative_list(user=request.user)


class MeasurementInputSerializer(serializers.Serializer):
    """One measurement; a measurement for a day the KPI already has replaces it."""

    kpi = serializers.PrimaryKeyRelatedField(queryset=KPI.objects.none(), help_text="KPI id.")
    date = serializers.DateField()
    value = serializers.DecimalField(max_digits=20, decimal_places=6)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["kpi"].queryset = kpi_list(user=request.user)


class MeasurementRowSerializer(serializers.Serializer):
    """One row of a bulk upload (documentation of the row shape; the service validates each row)."""

    kpi = serializers.IntegerField(help_text="KPI id.")
    date = serializers.DateField()
    value = serializers.DecimalField(max_digits=20, decimal_places=6)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)


@extend_schema_field(MeasurementRowSerializer(many=True))
class MeasurementRowsField(serializers.ListField):
    """A list of rows, passed unvalidated to measurements_record_bulk, which names each bad row and field."""

    def run_child_validation(self, data: list) -> list:
        return list(data)


class MeasurementBulkInputSerializer(serializers.Serializer):
    measurements = MeasurementRowsField(
        allow_empty=False,
        help_text="Up to MEASUREMENT_BULK_MAX (default 10,000) rows, written all or nothing.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measurements"] = MeasurementRowsField(
            allow_empty=False, max_length=settings.MEASUREMENT_BULK_MAX,
            help_text=f"Up to {settings.MEASUREMENT_BULK_MAX:,} rows, written all or nothing.",
        )
