"""The one place where reads and writes are scoped to what a user may see or change.

Every model that holds governed data declares `scope_unit_field` (the path to its business unit id),
`scope_owner_fields` (paths to the users who own it) and, where it belongs to an initiative,
`scope_initiative_field` (the path to the initiative id, through which per-object guardian grants apply).
`restrict()` turns a user's AccessScope into one indexed filter; selectors call it for every read, services
call `can()` before every write.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet
from django.http import Http404

READ_ACTIONS = frozenset({"view"})
WRITE_ACTIONS = frozenset({"add", "change", "delete"})


def _unit_lookup(model: type[Model]) -> str:
    field = model.scope_unit_field
    return "id" if field == "id" else f"{field}_id"


def scope_filter(model: type[Model], user, action: str) -> Q | None:
    """The Q object limiting `model` to what `user` may do; None means no limit, Q(pk__in=[]) means nothing."""
    from apps.accounts.selectors import user_access_scope

    if action not in READ_ACTIONS | WRITE_ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    scope = user_access_scope(user=user)
    unit_lookup = f"{_unit_lookup(model)}__in"
    initiative_field = getattr(model, "scope_initiative_field", None)
    if action in READ_ACTIONS:
        if scope.read_all:
            return None
        condition = Q(**{unit_lookup: sorted(scope.read_units)}) if scope.read_units else Q(pk__in=[])
        if initiative_field and scope.granted_view:
            condition |= Q(**{f"{initiative_field}__in": sorted(scope.granted_view)})
        return condition
    if scope.write_all:
        return None
    condition = Q(pk__in=[])
    if initiative_field and scope.granted_change:
        condition |= Q(**{f"{initiative_field}__in": sorted(scope.granted_change)})
    if scope.lead_units:
        condition |= Q(**{unit_lookup: sorted(scope.lead_units)})
    owner_fields = getattr(model, "scope_owner_fields", ())
    if scope.contributor_units and owner_fields:
        owned = Q()
        for field in owner_fields:
            owned |= Q(**{field: user})
        condition |= Q(**{unit_lookup: sorted(scope.contributor_units)}) & owned
    return condition


def restrict(queryset: QuerySet, user, action: str = "view") -> QuerySet:
    """Limit a queryset to the objects `user` may `action` (view / add / change / delete)."""
    condition = scope_filter(queryset.model, user, action)
    if condition is None:
        return queryset
    return queryset.filter(condition)


def get_restricted_or_404(queryset: QuerySet, user, action: str = "view", **lookup) -> Model:
    """Fetch one object within the user's scope; anything outside it is a 404, never a 403."""
    try:
        return restrict(queryset, user, action).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


def can(user, obj: Model, action: str) -> bool:
    """Whether `user` may `action` this object (one query unless the user's scope is unlimited)."""
    condition = scope_filter(type(obj), user, action)
    if condition is None:
        return True
    return type(obj)._default_manager.filter(condition, pk=obj.pk).exists()


class ScopedByInitiative:
    """Scope declarations for a model with an `initiative` foreign key: it is visible and writable exactly as its
    initiative is (unit, owners, per-object grants)."""

    scope_unit_field = "initiative__business_unit"
    scope_owner_fields: tuple[str, ...] = ("initiative__owner", "initiative__technical_lead")
    scope_initiative_field = "initiative_id"
