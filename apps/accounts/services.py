"""Writes for accounts: business units and memberships."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.choices import UnitRole
from apps.accounts.models import ApiToken, BusinessUnit, Membership, User, hash_token


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


@transaction.atomic
def api_token_create(*, user: User, name: str, ttl_days: int | None = None) -> tuple[ApiToken, str]:
    """Create an API token for `user`; returns the token row and the key, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it, e.g. 'BI export'."})
    if ttl_days is None:
        ttl_days = settings.API_TOKEN_DEFAULT_TTL_DAYS
    if not 1 <= ttl_days <= 366:
        raise ValidationError({"ttl_days": "A token lives between 1 and 366 days."})
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:8], digest=hash_token(key),
        expires_at=timezone.now() + timedelta(days=ttl_days),
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token at once; only its owner or a superuser may."""
    if token.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied("You may only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
