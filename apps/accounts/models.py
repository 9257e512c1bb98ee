from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from apps.accounts.choices import UnitRole
from apps.core.models import TimeStampedModel


class User(AbstractUser):
    """A person or integration account that signs in to Pilotlight."""

    title = models.CharField(max_length=120, blank=True, help_text="Job title, shown next to the name.")

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.display_name


class BusinessUnit(TimeStampedModel):
    """An organisational unit that owns initiatives; units form a tree."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="headed_units"
    )
    cost_centre = models.CharField(max_length=32, blank=True)
    # Materialised path of ids ("/1/4/9/"), maintained by the services; makes "this unit and everything below it"
    # one indexed prefix filter.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    scope_unit_field = "id"
    scope_owner_fields: tuple[str, ...] = ()

    class Meta:
        ordering = ["path"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="unique_unit_name_per_parent")]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(0, self.path.count("/") - 2)


class Membership(TimeStampedModel):
    """A user's role on a business unit (and, by inheritance, on its sub-units)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    business_unit = models.ForeignKey(BusinessUnit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=UnitRole.choices)

    scope_unit_field = "business_unit"
    scope_owner_fields: tuple[str, ...] = ()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "business_unit"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.business_unit}"


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token: only its SHA-256 digest is stored; it expires and can be revoked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, help_text="First characters of the key, to recognise it in lists.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
