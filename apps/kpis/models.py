from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.access import ScopedByInitiative
from apps.core.models import TimeStampedModel
from apps.kpis.choices import Cadence, Direction, KPICategory, KPISource
from apps.portfolio.models import Initiative


class KPI(ScopedByInitiative, TimeStampedModel):
    """A business measure an initiative must move, from a dated baseline to a dated target."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="kpis")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=KPICategory.choices)
    unit = models.CharField(max_length=32, help_text="e.g. %, hours, EUR, claims/day")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.UP)
    baseline_value = models.DecimalField(max_digits=20, decimal_places=6)
    baseline_date = models.DateField()
    target_value = models.DecimalField(max_digits=20, decimal_places=6)
    target_date = models.DateField()
    value_per_unit = models.DecimalField(
        max_digits=16, decimal_places=4, null=True, blank=True,
        help_text="Money (reporting currency) one unit of improvement is worth; used for realized value and ROI.",
    )
    source = models.CharField(max_length=16, choices=KPISource.choices, default=KPISource.MANUAL)
    cadence = models.CharField(max_length=16, choices=Cadence.choices, default=Cadence.MONTHLY)


    class Meta:
        ordering = ["initiative_id", "id"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(fields=["initiative", "name"], name="unique_kpi_name_per_initiative"),
            models.CheckConstraint(condition=models.Q(target_date__gt=models.F("baseline_date")),
                                   name="kpi_target_after_baseline"),
        ]

    def __str__(self) -> str:
        return self.name


class Measurement(models.Model):
    """One dated value of a KPI."""

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="measurements")
    date = models.DateField()
    value = models.DecimalField(max_digits=20, decimal_places=6)
    source = models.CharField(max_length=16, choices=KPISource.choices, default=KPISource.MANUAL)
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    scope_unit_field = "kpi__initiative__business_unit"
    scope_owner_fields = ("kpi__initiative__owner", "kpi__initiative__technical_lead")
    scope_initiative_field = "kpi__initiative_id"

    class Meta:
        ordering = ["kpi_id", "date"]
        constraints = [models.UniqueConstraint(fields=["kpi", "date"], name="unique_measurement_per_day")]

    def __str__(self) -> str:
        return f"{self.kpi_id} {self.date}: {self.value}"
