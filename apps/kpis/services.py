"""Writes for KPIs and their measurements."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from apps.accounts.models import User
from apps.core.access import can, restrict
from apps.kpis.choices import Direction, KPISource
from apps.kpis.models import KPI, Measurement
from apps.portfolio.models import Initiative

KPI_FIELDS = frozenset({
    "name", "category", "unit", "direction", "baseline_value", "baseline_date", "target_value", "target_date",
    "value_per_unit", "source", "cadence",
})
BULK_BATCH = 2000


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based position in the submitted list or CSV (header excluded)
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class BulkValidationError(ValidationError):
    """Some rows of a bulk write are invalid; nothing was written. `row_errors` names each row and field."""

    def __init__(self, row_errors: list[RowError]):
        self.row_errors = row_errors
        first = row_errors[0]
        summary = (f"{len(row_errors)} row(s) invalid, nothing was saved. "
                   f"Row {first.row}, {first.field}: {first.message}")
        super().__init__(summary)


def _check_initiative_writable(actor: User, initiative: Initiative) -> None:
    if not can(actor, initiative, "change"):
        raise PermissionDenied("You may not change this initiative's KPIs.")


def _validate_kpi(kpi: KPI) -> None:
    # Our own checks name the field; the database constraints stay as the backstop.
    kpi.full_clean(exclude=["initiative"], validate_constraints=False)
    if kpi.target_date <= kpi.baseline_date:
        raise ValidationError({"target_date": "The target date must be after the baseline date."})
    if kpi.direction == Direction.UP and kpi.target_value <= kpi.baseline_value:
        raise ValidationError({"target_value": "Higher is better, so the target must be above the baseline."})
    if kpi.direction == Direction.DOWN and kpi.target_value >= kpi.baseline_value:
        raise ValidationError({"target_value": "Lower is better, so the target must be below the baseline."})
    duplicate = KPI.objects.filter(initiative_id=kpi.initiative_id, name=kpi.name).exclude(pk=kpi.pk)
    if duplicate.exists():
        raise ValidationError({"name": f"This initiative already has a KPI named '{kpi.name}'."})


@transaction.atomic
def kpi_create(*, actor: User, initiative: Initiative, **fields: Any) -> KPI:
    """Define a KPI for an initiative: baseline and target with dates, direction and value per unit."""
    unknown = set(fields) - KPI_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown KPI field."))
    _check_initiative_writable(actor, initiative)
    kpi = KPI(initiative=initiative, **fields)
    _validate_kpi(kpi)
    kpi.save()
    return kpi


@transaction.atomic
def kpi_update(*, actor: User, kpi: KPI, **fields: Any) -> KPI:
    """Change a KPI's definition."""
    unknown = set(fields) - KPI_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    _check_initiative_writable(actor, kpi.initiative)
    changed = [name for name, value in fields.items() if getattr(kpi, name) != value]
    for name in changed:
        setattr(kpi, name, fields[name])
    _validate_kpi(kpi)
    if changed:
        kpi.save(update_fields=[*changed, "updated_at"])
    return kpi


def _parse_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError
    value = Decimal(str(raw).strip().replace(",", "")) if not isinstance(raw, Decimal) else raw
    if not value.is_finite():
        raise ValueError
    return value


def _parse_day(raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    parsed = parse_date(str(raw).strip())
    if parsed is None:
        raise ValueError
    return parsed


def measurements_record_bulk(
    *, actor: User, rows: list[dict[str, Any]], source: str = KPISource.MANUAL, kpi: KPI | None = None
) -> int:
    """Record many measurements at once, all or nothing; a measurement for an existing day replaces it.

    Each row has `date`, `value`, optional `note`, and `kpi` (an id) unless `kpi` is given for all rows.
    Raises BulkValidationError naming every bad row and field; nothing is written then.
    """
    limit = settings.MEASUREMENT_BULK_MAX
    if not rows:
        raise ValidationError({"rows": "Send at least one measurement."})
    if len(rows) > limit:
        raise ValidationError({"rows": f"At most {limit:,} measurements per request; got {len(rows):,}."})
    if source not in KPISource.values:
        raise ValidationError({"source": f"Unknown source '{source}'."})

    if kpi is not None:
        _check_initiative_writable(actor, kpi.initiative)
        kpis = {kpi.pk: kpi}
    else:
        ids = set()
        for row in rows:
            try:
                ids.add(int(row.get("kpi")))
            except (TypeError, ValueError, AttributeError):  # AttributeError: not an object; reported per row below
                continue
        kpis = {k.pk: k for k in restrict(KPI.objects.filter(pk__in=ids), actor, "change")}

    errors: list[RowError] = []
    seen: dict[tuple[int, date], int] = {}
    objects: list[Measurement] = []
    now = timezone.now()
    today = timezone.localdate()
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append(RowError(position, "row", "Each measurement must be an object."))
            continue
        target = kpi
        if target is None:
            try:
                target = kpis.get(int(row.get("kpi")))
            except (TypeError, ValueError):
                errors.append(RowError(position, "kpi", "Give the KPI's id as a whole number."))
                continue
            if target is None:
                errors.append(RowError(position, "kpi", f"KPI {row.get('kpi')} does not exist or you may not "
                                                        "record measurements for it."))
                continue
        try:
            day = _parse_day(row.get("date"))
        except (TypeError, ValueError):
            errors.append(RowError(position, "date", f"'{row.get('date')}' is not a date (use YYYY-MM-DD)."))
            continue
        if day > today:
            errors.append(RowError(position, "date", f"{day} is in the future."))
            continue
        try:
            value = _parse_decimal(row.get("value"))
        except (TypeError, ValueError, InvalidOperation):
            errors.append(RowError(position, "value", f"'{row.get('value')}' is not a number."))
            continue
        if abs(value) >= Decimal(10) ** 14:
            errors.append(RowError(position, "value", "The value is too large."))
            continue
        note = str(row.get("note") or "").strip()
        if len(note) > 500:
            errors.append(RowError(position, "note", "Keep the note under 500 characters."))
            continue
        natural_key = (target.pk, day)
        if natural_key in seen:
            errors.append(RowError(position, "date", f"Row {seen[natural_key]} already gives {day} for this KPI."))
            continue
        seen[natural_key] = position
        objects.append(Measurement(kpi=target, date=day, value=value, note=note, source=source, recorded_by=actor,
                                   recorded_at=now))
    if errors:
        raise BulkValidationError(errors)
    with transaction.atomic():
        for start in range(0, len(objects), BULK_BATCH):
            Measurement.objects.bulk_create(
                objects[start:start + BULK_BATCH], update_conflicts=True, unique_fields=["kpi", "date"],
                update_fields=["value", "note", "source", "recorded_by", "recorded_at"],
            )
    return len(objects)


def measurement_record(
    *, actor: User, kpi: KPI, date: date | str, value: Decimal | str, note: str = "",
    source: str = KPISource.MANUAL,
) -> Measurement:
    """Record one measurement (replacing the one of that day, if any)."""
    measurements_record_bulk(actor=actor, rows=[{"date": date, "value": value, "note": note}], kpi=kpi,
                             source=source)
    return Measurement.objects.get(kpi=kpi, date=_parse_day(date))


def measurements_parse_csv(*, text: str) -> list[dict[str, str]]:
    """Parse pasted CSV `date,value[,note]` (a header row is optional) into rows for measurements_record_bulk."""
    reader = csv.reader(io.StringIO(text.strip()))
    rows: list[dict[str, str]] = []
    for line in reader:
        if not line or not any(cell.strip() for cell in line):
            continue
        if not rows and line[0].strip().lower() == "date":
            continue
        rows.append({"date": line[0], "value": line[1] if len(line) > 1 else "",
                     "note": ",".join(line[2:]) if len(line) > 2 else ""})
    return rows
