"""Writes for accounts: business units and memberships."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from apps.accounts.choices import UnitRole
from apps.accounts.models import BusinessUnit, Membership, User


@transaction.atomic
def business_unit_create(
    *, name: str, parent: BusinessUnit | None = None, slug: str = "", head: User | None = None, cost_centre: str = ""
) -> BusinessUnit:
    """Create a business unit under `parent` and stamp its materialised path."""
    slug = slug or slugify(name)[:64]
    if not slug:
        raise ValidationError({"name": "Enter a name with at least one letter or digit."})
    if BusinessUnit.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A business unit with the slug '{slug}' already exists."})
    unit = BusinessUnit(name=name, slug=slug, parent=parent, head=head, cost_centre=cost_centre)
    unit.full_clean(exclude=["path"])
    unit.save()
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.save(update_fields=["path"])
    return unit


@transaction.atomic
def membership_set(*, user: User, business_unit: BusinessUnit, role: UnitRole | str) -> Membership:
    """Give `user` `role` on `business_unit` (replacing any role they had there)."""
    if role not in UnitRole.values:
        raise ValidationError({"role": f"Unknown role '{role}'. Choose one of: {', '.join(UnitRole.values)}."})
    membership, _ = Membership.objects.update_or_create(
        user=user, business_unit=business_unit, defaults={"role": role}
    )
    return membership
