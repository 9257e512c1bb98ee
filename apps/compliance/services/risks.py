"""Writes for the risk register and for data assets and their links to initiatives."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import BusinessUnit, User
from apps.accounts.selectors import user_access_scope
from apps.compliance.choices import PERSONAL_DATA_CATEGORIES, SPECIAL_CATEGORIES
from apps.compliance.models import DataAsset, DataAssetLink, Risk
from apps.compliance.permissions import is_compliance_writer, require_initiative_compliance_write
from apps.core.access import can
from apps.portfolio.models import Initiative

RISK_FIELDS = frozenset({"title", "description", "category", "likelihood", "impact", "owner", "mitigation",
                         "residual_likelihood", "residual_impact", "status", "review_date"})
DATA_ASSET_FIELDS = frozenset({"name", "description", "owner", "source_system", "personal_data_categories",
                               "special_categories", "legal_basis", "retention_days", "retention_note",
                               "quality_status", "feature_store_ref"})


def _unknown(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be set here."))


def _validate_risk(risk: Risk) -> None:
    if (risk.residual_likelihood is None) != (risk.residual_impact is None):
        raise ValidationError({"residual_impact": "Give both residual likelihood and residual impact, or neither."})
    risk.full_clean()


@transaction.atomic
def risk_create(*, actor: User, initiative: Initiative, **fields: Any) -> Risk:
    """Add a risk to an initiative's register."""
    require_initiative_compliance_write(actor, initiative, "add risks to it")
    _unknown(fields, RISK_FIELDS)
    risk = Risk(initiative=initiative, created_by=actor, **fields)
    _validate_risk(risk)
    risk.save()
    return risk


@transaction.atomic
def risk_update(*, actor: User, risk: Risk, **fields: Any) -> Risk:
    """Change a risk: scores, mitigation, residual scores, status, next review date."""
    require_initiative_compliance_write(actor, risk.initiative, "change its risks")
    _unknown(fields, RISK_FIELDS)
    changed = [name for name, value in fields.items() if getattr(risk, name) != value]
    for name in changed:
        setattr(risk, name, fields[name])
    _validate_risk(risk)
    if changed:
        risk.save(update_fields=[*changed, "updated_at"])
    return risk


def _can_write_unit(actor: User, unit_id: int) -> bool:
    scope = user_access_scope(user=actor)
    return is_compliance_writer(actor) or scope.write_all or unit_id in scope.writable_units


def _clean_categories(fields: dict[str, Any]) -> None:
    errors = {}
    for name, choices in (("personal_data_categories", PERSONAL_DATA_CATEGORIES),
                          ("special_categories", SPECIAL_CATEGORIES)):
        if name in fields:
            allowed = [value for value, _ in choices]
            values = list(dict.fromkeys(fields[name] or []))
            bad = [value for value in values if value not in allowed]
            if bad:
                errors[name] = f"Unknown categories {bad}; choose from: {', '.join(allowed)}."
            fields[name] = values
    if errors:
        raise ValidationError(errors)


def _validate_asset(asset: DataAsset) -> None:
    asset.full_clean(exclude=["initiatives"])
    if asset.special_categories and not asset.legal_basis:
        raise ValidationError({"legal_basis": "Special-category data needs a documented legal basis."})


@transaction.atomic
def data_asset_create(*, actor: User, business_unit: BusinessUnit, **fields: Any) -> DataAsset:
    """Register a data asset of a business unit (its leads and contributors, compliance officers and admins)."""
    if not _can_write_unit(actor, business_unit.pk):
        raise PermissionDenied(f"You may not register data assets for {business_unit}.")
    _unknown(fields, DATA_ASSET_FIELDS)
    _clean_categories(fields)
    if DataAsset.objects.filter(business_unit=business_unit, name=fields.get("name", "")).exists():
        raise ValidationError({"name": f"{business_unit} already has a data asset called “{fields['name']}”."})
    asset = DataAsset(business_unit=business_unit, **fields)
    _validate_asset(asset)
    asset.save()
    return asset


@transaction.atomic
def data_asset_update(*, actor: User, data_asset: DataAsset, **fields: Any) -> DataAsset:
    """Change a data asset's facts (owner, categories, legal basis, retention, quality, feature-store reference)."""
    if not (_can_write_unit(actor, data_asset.business_unit_id) or can(actor, data_asset, "change")):
        raise PermissionDenied("You may view this data asset but not change it.")
    _unknown(fields, DATA_ASSET_FIELDS)
    _clean_categories(fields)
    changed = [name for name, value in fields.items() if getattr(data_asset, name) != value]
    for name in changed:
        setattr(data_asset, name, fields[name])
    _validate_asset(data_asset)
    if changed:
        data_asset.save(update_fields=[*changed, "updated_at"])
    return data_asset


@transaction.atomic
def data_asset_link(*, actor: User, data_asset: DataAsset, initiative: Initiative, purpose: str = "") -> DataAssetLink:
    """Record that an initiative uses a data asset."""
    require_initiative_compliance_write(actor, initiative, "link data assets to it")
    link, created = DataAssetLink.objects.get_or_create(
        initiative=initiative, data_asset=data_asset,
        defaults={"purpose": purpose.strip(), "linked_by": actor, "linked_at": timezone.now()},
    )
    if not created:
        raise ValidationError({"data_asset": f"{initiative.key} already uses “{data_asset}”."})
    return link


@transaction.atomic
def data_asset_unlink(*, actor: User, link: DataAssetLink) -> None:
    """Record that an initiative no longer uses a data asset."""
    require_initiative_compliance_write(actor, link.initiative, "unlink its data assets")
    link.delete()
