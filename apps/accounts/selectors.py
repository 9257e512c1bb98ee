"""Reads for accounts: who may see and write which business units."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from apps.accounts.choices import READ_ALL_ROLES, WRITE_ALL_ROLES, GlobalRole, UnitRole
from apps.accounts.models import BusinessUnit, User

_SCOPE_CACHE_ATTR = "_pilotlight_access_scope"


@dataclass(frozen=True)
class AccessScope:
    """What one user may read and write, resolved once per request."""

    read_all: bool
    write_all: bool
    read_units: frozenset[int]
    lead_units: frozenset[int]
    contributor_units: frozenset[int]
    global_roles: frozenset[str]
    granted_view: frozenset[int] = frozenset()  # initiative ids readable through a per-object grant
    granted_change: frozenset[int] = frozenset()  # initiative ids writable through a per-object grant

    @property
    def writable_units(self) -> frozenset[int]:
        """Units where the user may create initiatives (leads and contributors)."""
        return self.lead_units | self.contributor_units

    def can_read_unit(self, unit_id: int) -> bool:
        return self.read_all or unit_id in self.read_units

    def can_create_in_unit(self, unit_id: int) -> bool:
        return self.write_all or unit_id in self.writable_units

    def has_role(self, role: GlobalRole) -> bool:
        return role in self.global_roles


EMPTY_SCOPE = AccessScope(False, False, frozenset(), frozenset(), frozenset(), frozenset())


def user_access_scope(*, user) -> AccessScope:
    """Resolve the user's global roles and unit memberships (with sub-units); cached on the user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return EMPTY_SCOPE
    cached = getattr(user, _SCOPE_CACHE_ATTR, None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = AccessScope(True, True, frozenset(), frozenset(), frozenset(), frozenset(GlobalRole.values))
    else:
        roles = frozenset(user.groups.filter(name__in=GlobalRole.values).values_list("name", flat=True))
        memberships = list(user.memberships.values_list("role", "business_unit__path"))
        by_role: dict[str, set[int]] = {role: set() for role in UnitRole.values}
        if memberships:
            condition = Q()
            for _, path in memberships:
                condition |= Q(path__startswith=path)
            units = list(BusinessUnit.objects.filter(condition).values_list("id", "path"))
            for role, member_path in memberships:
                by_role[role].update(unit_id for unit_id, path in units if path.startswith(member_path))
        granted_view, granted_change = _initiative_grants(user)
        lead = frozenset(by_role[UnitRole.LEAD])
        contributor = frozenset(by_role[UnitRole.CONTRIBUTOR]) - lead
        read = lead | contributor | frozenset(by_role[UnitRole.VIEWER])
        scope = AccessScope(
            read_all=bool(roles & READ_ALL_ROLES),
            write_all=bool(roles & WRITE_ALL_ROLES),
            read_units=read,
            lead_units=lead,
            contributor_units=contributor,
            global_roles=roles,
            granted_view=granted_view | granted_change,
            granted_change=granted_change,
        )
    setattr(user, _SCOPE_CACHE_ATTR, scope)
    return scope


def _initiative_grants(user) -> tuple[frozenset[int], frozenset[int]]:
    """Initiative ids the user holds view / change grants on, directly or through a group (one query)."""
    from apps.portfolio.models import InitiativeGroupObjectPermission, InitiativeUserObjectPermission

    direct = InitiativeUserObjectPermission.objects.filter(user=user).values_list(
        "content_object_id", "permission__codename"
    )
    via_group = InitiativeGroupObjectPermission.objects.filter(group__user=user).values_list(
        "content_object_id", "permission__codename"
    )
    view: set[int] = set()
    change: set[int] = set()
    for initiative_id, codename in direct.union(via_group, all=True):
        (change if codename == "change_initiative" else view).add(initiative_id)
    return frozenset(view), frozenset(change)


def business_unit_list(*, user) -> QuerySet[BusinessUnit]:
    """Business units the user may see, tree-ordered, with their head."""
    from apps.core.access import restrict

    return restrict(BusinessUnit.objects.select_related("head", "parent"), user, "view")


def user_list_active() -> QuerySet[User]:
    """Active users, for owner and sponsor pickers."""
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def membership_list(*, user, business_unit: BusinessUnit) -> QuerySet:
    """Memberships that give access to `business_unit`: its own and those inherited from the units above it."""
    from apps.accounts.models import Membership
    from apps.core.access import get_restricted_or_404

    get_restricted_or_404(BusinessUnit.objects.all(), user, "view", pk=business_unit.pk)
    ancestor_ids = [int(part) for part in business_unit.path.strip("/").split("/") if part]
    return (Membership.objects.filter(business_unit_id__in=ancestor_ids)
            .select_related("user", "business_unit").order_by("business_unit__path", "role", "user__username"))


def business_unit_get(*, user, slug: str) -> BusinessUnit:
    """One business unit by slug within the user's scope, or 404."""
    from apps.core.access import get_restricted_or_404

    return get_restricted_or_404(BusinessUnit.objects.select_related("head", "parent"), user, "view", slug=slug)
