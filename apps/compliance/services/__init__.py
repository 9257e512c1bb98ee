"""Writes for compliance and governance, one module per area; import them from here."""

from apps.compliance.services.frameworks import (
    framework_create,
    framework_update,
    gate_criterion_set,
    requirement_create,
    requirement_update,
)

__all__ = ["framework_create", "framework_update", "gate_criterion_set", "requirement_create", "requirement_update"]
