"""The posture cache behind the BU × framework heatmap.

Working out which of ~165 requirements apply to each of 10,000 initiatives is 1.6 million applicability tests; done
in one SQL statement per page view it takes seconds. So each initiative's per-framework counts (applicable,
compliant, partial, non-compliant, not applicable) are kept in InitiativePosture, stamped in PostureProfile with the
profile they were computed for (risk tier | operator role | AI type | stage | personal data) and the version of the
reference data (frameworks and requirements). Reading the heatmap first recomputes the rows of the initiatives in
scope whose stamp no longer matches (a reclassified or moved initiative, edited requirements), then sums.

Recomputing groups initiatives by profile and requirements by their applicability lists, so a whole portfolio is a
few thousand set operations in Python plus three queries, and an upsert.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from apps.compliance.choices import ResultStatus
from apps.compliance.models import Framework, Requirement, RequirementResult
from apps.portfolio.choices import TERMINAL_STAGES
from apps.portfolio.models import Initiative

COUNTED = (ResultStatus.COMPLIANT, ResultStatus.PARTIAL, ResultStatus.NON_COMPLIANT, ResultStatus.NOT_APPLICABLE)
# The profile as SQL over portfolio_initiative (alias i), equal to profile_of() below.
PROFILE_SQL = ("concat_ws('|', i.risk_tier, i.operator_role, i.ai_type, i.stage, "
               "CASE WHEN i.processes_personal_data THEN 't' ELSE 'f' END)")


def profile_of(risk_tier: str, operator_role: str, ai_type: str, stage: str, personal_data: bool) -> str:
    return "|".join((risk_tier, operator_role, ai_type, stage, "t" if personal_data else "f"))


def reference_version() -> str:
    """Changes whenever a framework or requirement is added, edited, (de)activated or deleted."""
    requirements = Requirement.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    frameworks = Framework.objects.aggregate(n=Count("id"), at=Max("updated_at"))
    text = f"{requirements['n']}:{requirements['at']}:{frameworks['n']}:{frameworks['at']}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _signatures() -> list[tuple[tuple, dict[int, set[int]]]]:
    """Active requirements grouped by applicability: [((tiers, roles, types, stages, pd_only), {framework: ids})]."""
    groups: dict[tuple, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    rows = Requirement.objects.filter(active=True, framework__active=True).values_list(
        "id", "framework_id", "risk_tiers", "operator_roles", "ai_types", "stages", "personal_data_only")
    for pk, framework_id, tiers, roles, types, stages, pd_only in rows:
        key = (frozenset(tiers), frozenset(roles), frozenset(types), frozenset(stages), pd_only)
        groups[key][framework_id].add(pk)
    return [(key, dict(frameworks)) for key, frameworks in groups.items()]


def _applies(signature: tuple, profile: tuple) -> bool:
    tiers, roles, types, stages, pd_only = signature
    tier, role, ai_type, stage, personal_data = profile
    return ((not tiers or tier in tiers) and (not roles or role in roles) and (not types or ai_type in types)
            and (not stages or stage in stages) and (personal_data or not pd_only))


def posture_refresh(*, initiative_ids: Iterable[int] | None = None) -> int:
    """Recompute the cached counts of the given initiatives (all active ones when None); returns how many."""
    version = reference_version()
    initiatives = Initiative.objects.exclude(stage__in=TERMINAL_STAGES)
    if initiative_ids is not None:
        initiatives = initiatives.filter(pk__in=list(initiative_ids))
    rows = list(initiatives.values_list("id", "risk_tier", "operator_role", "ai_type", "stage",
                                        "processes_personal_data"))
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    signatures = _signatures()
    by_profile: dict[tuple, dict[int, set[int]]] = {}
    for row in rows:
        profile = row[1:]
        if profile not in by_profile:
            applicable: dict[int, set[int]] = defaultdict(set)
            for signature, frameworks in signatures:
                if _applies(signature, profile):
                    for framework_id, requirement_ids in frameworks.items():
                        applicable[framework_id] |= requirement_ids
            by_profile[profile] = applicable
    statuses: dict[int, list[tuple[int, str]]] = defaultdict(list)
    results = RequirementResult.objects.filter(initiative_id__in=ids, status__in=COUNTED).values_list(
        "initiative_id", "requirement_id", "status")
    for initiative_id, requirement_id, status in results.iterator(chunk_size=20_000):
        statuses[initiative_id].append((requirement_id, status))
    columns: dict[str, list] = defaultdict(list)
    for row in rows:
        initiative_id = row[0]
        for framework_id, requirement_ids in by_profile[row[1:]].items():
            counts = dict.fromkeys(COUNTED, 0)
            for requirement_id, status in statuses.get(initiative_id, ()):
                if requirement_id in requirement_ids:
                    counts[status] += 1
            columns["initiative"].append(initiative_id)
            columns["framework"].append(framework_id)
            columns["applicable"].append(len(requirement_ids))
            for status in COUNTED:
                columns[status].append(counts[status])
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_initiativeposture WHERE initiative_id = ANY(%s::bigint[])", [ids])
        if columns:
            cursor.execute(
                """INSERT INTO compliance_initiativeposture
                       (initiative_id, framework_id, applicable, compliant, partial, non_compliant, not_applicable)
                   SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::int[], %s::int[],
                                        %s::int[])""",
                [columns["initiative"], columns["framework"], columns["applicable"], columns["compliant"],
                 columns["partial"], columns["non_compliant"], columns["not_applicable"]],
            )
        cursor.execute(
            """INSERT INTO compliance_postureprofile (initiative_id, profile, version, refreshed_at)
               SELECT t.id, t.profile, %s, %s FROM unnest(%s::bigint[], %s::varchar[]) AS t(id, profile)
               ON CONFLICT (initiative_id) DO UPDATE SET profile = EXCLUDED.profile, version = EXCLUDED.version,
                   refreshed_at = EXCLUDED.refreshed_at""",
            [version, now, ids, [profile_of(*row[1:]) for row in rows]],
        )
    return len(rows)


def posture_stale_ids(*, scoped_sql: str, params: list, version: str) -> list[int]:
    """Active initiatives among `scoped_sql` (a SELECT of ids) whose cached counts are missing or out of date."""
    sql = f"""
        SELECT i.id FROM portfolio_initiative i
        LEFT JOIN compliance_postureprofile p ON p.initiative_id = i.id
        WHERE i.id IN ({scoped_sql}) AND i.stage <> ALL(%s)
          AND (p.initiative_id IS NULL OR p.version <> %s OR p.profile <> {PROFILE_SQL})
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(TERMINAL_STAGES), version])
        return [row[0] for row in cursor.fetchall()]

