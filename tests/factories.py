"""factory_boy factories; domain objects with rules are created through the services, not raw saves."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from apps.accounts.choices import GlobalRole, UnitRole
from apps.accounts.models import BusinessUnit, User
from apps.accounts.services import business_unit_create, membership_set
from apps.kpis.models import KPI
from apps.kpis.services import kpi_create
from apps.portfolio.choices import AIType
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_create

_unit_counter = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


def make_unit(name: str | None = None, parent: BusinessUnit | None = None) -> BusinessUnit:
    return business_unit_create(name=name or f"Unit {next(_unit_counter)}", parent=parent)


def make_user(*, role: GlobalRole | None = None, unit: BusinessUnit | None = None, unit_role: str = UnitRole.LEAD,
              **fields) -> User:
    user = UserFactory(**fields)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    if unit is not None:
        membership_set(user=user, business_unit=unit, role=unit_role)
    return user


def make_admin(**fields) -> User:
    return make_user(role=GlobalRole.PORTFOLIO_ADMIN, **fields)


def make_initiative(*, actor: User, unit: BusinessUnit, name: str = "Claims triage", **fields) -> Initiative:
    fields.setdefault("ai_type", AIType.PREDICTIVE_ML)
    return initiative_create(actor=actor, business_unit=unit, name=name, **fields)


def make_kpi(*, actor: User, initiative: Initiative, **fields) -> KPI:
    defaults = {
        "name": f"KPI {next(_unit_counter)}", "category": "cost_reduction", "unit": "hours",
        "direction": "down", "baseline_value": Decimal("100"), "baseline_date": date(2026, 1, 1),
        "target_value": Decimal("60"), "target_date": date(2026, 12, 31), "value_per_unit": Decimal("50"),
    }
    defaults.update(fields)
    return kpi_create(actor=actor, initiative=initiative, **defaults)
