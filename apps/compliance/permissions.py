"""Who may write compliance data. Reads are scoped by restrict() in the selectors; writes are checked here.

- Compliance officers and portfolio admins write all compliance data (frameworks, gate criteria, assessments and
  sign-offs, classifications, evidence, risks, data assets) for every initiative, but compliance officers never
  write portfolio data (initiatives, stages, KPIs).
- People who may change an initiative (its owner or technical lead as contributors, leads of its unit, per-object
  change grants) write its evidence, risks, classification answers and self-assessed results.
- Auditors, executives and viewers write nothing.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.accounts.choices import GlobalRole
from apps.accounts.selectors import user_access_scope
from apps.core.access import can
from apps.portfolio.models import Initiative


def is_compliance_writer(user) -> bool:
    """Compliance officers and portfolio admins."""
    scope = user_access_scope(user=user)
    return scope.write_all or scope.has_role(GlobalRole.COMPLIANCE_OFFICER)


def can_write_initiative_compliance(user, initiative: Initiative) -> bool:
    """Compliance writers, and whoever may change the initiative."""
    return is_compliance_writer(user) or can(user, initiative, "change")


def require_compliance_writer(user, what: str) -> None:
    if not is_compliance_writer(user):
        raise PermissionDenied(f"Only compliance officers and portfolio admins can {what}.")


def require_initiative_compliance_write(user, initiative: Initiative, what: str) -> None:
    if not can_write_initiative_compliance(user, initiative):
        raise PermissionDenied(f"You may view {initiative.key} but not {what}.")
