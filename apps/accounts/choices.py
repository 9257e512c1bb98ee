from django.db import models


class GlobalRole(models.TextChoices):
    """Portfolio-wide roles, held as Django groups."""

    EXECUTIVE = "Executive", "Executive"
    PORTFOLIO_ADMIN = "Portfolio admin", "Portfolio admin"
    COMPLIANCE_OFFICER = "Compliance officer", "Compliance officer"
    AUDITOR = "Auditor", "Auditor"


READ_ALL_ROLES = frozenset(
    {GlobalRole.EXECUTIVE, GlobalRole.PORTFOLIO_ADMIN, GlobalRole.COMPLIANCE_OFFICER, GlobalRole.AUDITOR}
)
WRITE_ALL_ROLES = frozenset({GlobalRole.PORTFOLIO_ADMIN})


class UnitRole(models.TextChoices):
    """Roles on a business unit, inherited by its sub-units."""

    LEAD = "lead", "BU lead"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"
