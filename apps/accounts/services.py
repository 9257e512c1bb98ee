"""Writes for accounts: business units and memberships."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.choices import GlobalRole, UnitRole
from apps.accounts.models import ApiToken, BusinessUnit, Membership, User, hash_token
from apps.accounts.selectors import user_access_scope
from apps.audit.choices import SecurityAction
from apps.audit.services import audit_security_event


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
    audit_security_event(action=SecurityAction.TOKEN_CREATED, actor=user,
                         detail={"token_id": token.pk, "name": token.name, "prefix": token.prefix,
                                 "expires_at": token.expires_at.isoformat()})
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token at once; only its owner or a superuser may."""
    if token.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied("You may only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_security_event(action=SecurityAction.TOKEN_REVOKED, actor=actor,
                             detail={"token_id": token.pk, "name": token.name, "owner_id": token.user_id})
    return token


def can_manage_unit(actor: User, business_unit: BusinessUnit) -> bool:
    """Portfolio admins manage every unit; BU leads manage their own units and the units below them."""
    scope = user_access_scope(user=actor)
    return scope.write_all or business_unit.pk in scope.lead_units


@transaction.atomic
def membership_assign(*, actor: User, user: User, business_unit: BusinessUnit, role: UnitRole | str) -> Membership:
    """Give `user` a role on a unit the actor manages; recorded as a permission change."""
    if not can_manage_unit(actor, business_unit):
        raise PermissionDenied(f"You may not manage memberships of '{business_unit}'.")
    membership = membership_set(user=user, business_unit=business_unit, role=role)
    audit_security_event(action=SecurityAction.PERMISSION_CHANGED, actor=actor, business_unit_id=business_unit.pk,
                         detail={"change": "membership_set", "user_id": user.pk, "role": str(role)})
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    """Take a user's role on a unit away; recorded as a permission change."""
    if not can_manage_unit(actor, membership.business_unit):
        raise PermissionDenied(f"You may not manage memberships of '{membership.business_unit}'.")
    detail = {"change": "membership_removed", "user_id": membership.user_id, "role": membership.role}
    unit_id = membership.business_unit_id
    membership.delete()
    audit_security_event(action=SecurityAction.PERMISSION_CHANGED, actor=actor, business_unit_id=unit_id,
                         detail=detail)


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivate a user: their sessions and API tokens stop working on the very next request."""
    if not user_access_scope(user=actor).write_all:
        raise PermissionDenied("Only portfolio admins deactivate users.")
    if user.pk == actor.pk:
        raise ValidationError({"user": "You cannot deactivate yourself."})
    user.is_active = False
    user.save(update_fields=["is_active"])
    now = timezone.now()
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    _delete_sessions_of(user)
    audit_security_event(action=SecurityAction.USER_DEACTIVATED, actor=actor, detail={"user_id": user.pk})
    return user


def _delete_sessions_of(user: User) -> None:
    """Delete the user's stored sessions (the auth backend also refuses inactive users on every request)."""
    from django.contrib.sessions.models import Session

    user_key = str(user.pk)
    stale = [
        session.pk for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000)
        if session.get_decoded().get("_auth_user_id") == user_key
    ]
    Session.objects.filter(pk__in=stale).delete()


@transaction.atomic
def user_create(
    *, username: str, password: str, first_name: str = "", last_name: str = "", email: str = "", title: str = "",
    global_roles: tuple[GlobalRole | str, ...] = (), is_superuser: bool = False,
) -> User:
    """Create an active user with a password and global roles; superusers are also staff (Django admin)."""
    from django.contrib.auth.models import Group

    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "Enter a username."})
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"The username '{username}' is taken."})
    unknown = sorted(set(global_roles) - set(GlobalRole.values))
    if unknown:
        raise ValidationError({"global_roles": f"Unknown role(s): {', '.join(unknown)}."})
    user = User(username=username, first_name=first_name, last_name=last_name, email=email, title=title,
                is_superuser=is_superuser, is_staff=is_superuser)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    if global_roles:
        user.groups.set(Group.objects.filter(name__in=global_roles))
    return user
