"""Set-based SQL that turns allocation rules into CostAllocation rows and line items into the CostDaily rollup.

Called by apps.costs.pipeline (new dimensions of one import, the days it covers) and by the re-allocation job
(everything). Runs on the caller's cursor inside the caller's transaction; never loops over rows in Python.

Rule semantics (see AllocationRule): for each dimension, the matching rules with the lowest priority number win; the
built-in tag convention (COST_TAG_KEY = initiative key) is a rule at COST_TAG_CONVENTION_PRIORITY. The winners split
the cost by their shares; shares over 1 in total are scaled down to 1, and what is left under 1 is unallocated.
Shares per dimension always sum to exactly 1, so allocated totals equal imported totals to the last decimal.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings

WRITE_LOCK = 7_310_501  # advisory lock serialising writes to line items, allocations and rollups

_TAGS_SQL = """
CREATE TEMP TABLE cost_alloc_tags ON COMMIT DROP AS
SELECT d.id AS dim, t.key, t.value
FROM costs_costdimension d JOIN cost_alloc_dims x ON x.id = d.id, jsonb_each_text(d.tags) t
UNION ALL
-- Providers may prefix tag keys ("user:team"); a rule on "team" matches them too.
SELECT d.id, substring(t.key from '[^:]*$'), t.value
FROM costs_costdimension d JOIN cost_alloc_dims x ON x.id = d.id, jsonb_each_text(d.tags) t
WHERE t.key LIKE '%%:%%'
"""

_ALLOCATE_SQL = """
WITH rules AS (
    SELECT id, kind, tag_key, tag_value, sub_account_id, resource_prefix, initiative_id, business_unit_id,
           priority, share
    FROM costs_allocationrule WHERE enabled
    UNION ALL
    SELECT NULL, 'tag', %(tag_key)s, '', '', '', NULL, NULL, %(convention_priority)s, 1
),
candidates AS (
    SELECT DISTINCT t.dim, r.id AS rule_id, r.priority, r.share, r.initiative_id, r.business_unit_id
    FROM cost_alloc_tags t JOIN rules r ON r.kind = 'tag' AND r.tag_value <> ''
        AND t.key = r.tag_key AND t.value = r.tag_value
    UNION
    SELECT DISTINCT t.dim, r.id, r.priority, r.share, i.id, NULL::bigint
    FROM cost_alloc_tags t JOIN rules r ON r.kind = 'tag' AND r.tag_value = '' AND t.key = r.tag_key
    JOIN portfolio_initiative i ON i.key = upper(btrim(t.value))
    UNION
    SELECT d.id, r.id, r.priority, r.share, r.initiative_id, r.business_unit_id
    FROM costs_costdimension d JOIN cost_alloc_dims x ON x.id = d.id
    JOIN rules r ON r.kind = 'sub_account' AND d.sub_account_id = r.sub_account_id AND r.sub_account_id <> ''
    UNION
    SELECT d.id, r.id, r.priority, r.share, r.initiative_id, r.business_unit_id
    FROM costs_costdimension d JOIN cost_alloc_dims x ON x.id = d.id
    JOIN rules r ON r.kind = 'resource_prefix' AND r.resource_prefix <> ''
        AND starts_with(d.resource_id, r.resource_prefix)
),
ranked AS (
    SELECT *, rank() OVER (PARTITION BY dim ORDER BY priority) AS priority_rank FROM candidates
),
winners AS (
    SELECT dim, rule_id, initiative_id, business_unit_id, share::numeric AS share,
           SUM(share) OVER (PARTITION BY dim) AS total,
           row_number() OVER (PARTITION BY dim ORDER BY share DESC, rule_id NULLS LAST, initiative_id,
                              business_unit_id) AS position
    FROM ranked WHERE priority_rank = 1
),
scaled AS (
    SELECT dim, rule_id, initiative_id, business_unit_id, total, position,
           CASE WHEN total > 1 THEN trunc(share / total, 12) ELSE share END AS share
    FROM winners
),
balanced AS (
    -- Scaling may leave a rounding residue: the largest share takes it, so every dimension sums to exactly 1.
    SELECT dim, rule_id, initiative_id, business_unit_id, total,
           share + CASE WHEN total > 1 AND position = 1
                        THEN 1 - SUM(share) OVER (PARTITION BY dim) ELSE 0 END AS share
    FROM scaled
)
INSERT INTO costs_costallocation (dimension_id, rule_id, initiative_id, business_unit_id, share)
SELECT dim, rule_id, initiative_id, business_unit_id, share FROM balanced
UNION ALL
SELECT dim, NULL, NULL, NULL, 1 - total FROM (SELECT DISTINCT dim, total FROM winners) w WHERE total < 1
UNION ALL
SELECT x.id, NULL, NULL, NULL, 1 FROM cost_alloc_dims x WHERE NOT EXISTS (SELECT 1 FROM winners w WHERE w.dim = x.id)
"""

_ROLLUP_SQL = """
INSERT INTO costs_costdaily (source_id, day, initiative_id, business_unit_id, provider_name, service_name,
                             service_category, sub_account_id, charge_category, billing_currency, billed_cost,
                             effective_cost, cost, records)
WITH agg AS (
    SELECT r.source_id, (r.charge_period_start AT TIME ZONE 'UTC')::date AS day, a.initiative_id,
           a.business_unit_id, r.provider_name, r.service_name, r.service_category, r.sub_account_id,
           r.charge_category, r.billing_currency,
           SUM(r.billed_cost * a.share) AS billed, SUM(r.effective_cost * a.share) AS effective, COUNT(*) AS n
    FROM costs_costrecord r JOIN costs_costallocation a ON a.dimension_id = r.dimension_id
    WHERE {where}
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
),
keys AS (SELECT DISTINCT billing_currency, day FROM agg),
fx AS (
    SELECT k.billing_currency, k.day,
           CASE WHEN k.billing_currency = %(reporting)s THEN 1::numeric ELSE COALESCE(
               (SELECT f.rate FROM costs_fxrate f WHERE f.currency = k.billing_currency AND f.valid_from <= k.day
                ORDER BY f.valid_from DESC LIMIT 1),
               (SELECT f.rate FROM costs_fxrate f WHERE f.currency = k.billing_currency
                ORDER BY f.valid_from LIMIT 1)) END AS rate
    FROM keys k
)
SELECT agg.source_id, agg.day, agg.initiative_id, agg.business_unit_id, agg.provider_name, agg.service_name,
       agg.service_category, agg.sub_account_id, agg.charge_category, agg.billing_currency, agg.billed,
       agg.effective, agg.effective * fx.rate, agg.n
FROM agg JOIN fx ON fx.billing_currency = agg.billing_currency AND fx.day = agg.day
"""


def lock_cost_writes(cursor) -> None:
    """Serialise writers of line items, allocations and rollups until the end of the transaction."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])


def allocate(cursor, *, dimension_sql: str | None = None, params: list | tuple = ()) -> int:
    """(Re)compute the allocations of the dimensions selected by `dimension_sql` (a query returning ids), or of
    every dimension when it is None. Returns the number of allocation rows written."""
    cursor.execute("DROP TABLE IF EXISTS cost_alloc_dims")
    selection = dimension_sql or "SELECT id FROM costs_costdimension"
    cursor.execute(f"CREATE TEMP TABLE cost_alloc_dims ON COMMIT DROP AS {selection}", params)
    cursor.execute("CREATE INDEX ON cost_alloc_dims (id)")
    cursor.execute("ANALYZE cost_alloc_dims")
    if dimension_sql is None:
        cursor.execute("DELETE FROM costs_costallocation")
    else:
        cursor.execute("DELETE FROM costs_costallocation a USING cost_alloc_dims x WHERE a.dimension_id = x.id")
    cursor.execute("DROP TABLE IF EXISTS cost_alloc_tags")
    cursor.execute(_TAGS_SQL)
    cursor.execute(_ALLOCATE_SQL, {
        "tag_key": settings.COST_TAG_KEY, "convention_priority": settings.COST_TAG_CONVENTION_PRIORITY,
    })
    written = cursor.rowcount
    cursor.execute("DROP TABLE cost_alloc_tags")
    cursor.execute("DROP TABLE cost_alloc_dims")
    return written


def rebuild_rollup(cursor, *, source_id: int | None = None, day_from: date | None = None,
                   day_to: date | None = None) -> int:
    """Recompute CostDaily for one source and day range [day_from, day_to), or for everything. Returns rows."""
    conditions, params = [], {"reporting": settings.REPORTING_CURRENCY}
    delete_conditions = []
    if source_id is not None:
        conditions.append("r.source_id = %(source)s")
        delete_conditions.append("source_id = %(source)s")
        params["source"] = source_id
    if day_from is not None and day_to is not None:
        conditions.append("r.charge_period_start >= %(day_from)s::date::timestamp AT TIME ZONE 'UTC' "
                          "AND r.charge_period_start < %(day_to)s::date::timestamp AT TIME ZONE 'UTC'")
        delete_conditions.append("day >= %(day_from)s AND day < %(day_to)s")
        params.update(day_from=day_from, day_to=day_to)
    delete_where = " AND ".join(delete_conditions) or "TRUE"
    cursor.execute(f"DELETE FROM costs_costdaily WHERE {delete_where}", params)
    cursor.execute(_ROLLUP_SQL.format(where=" AND ".join(conditions) or "TRUE"), params)
    written = cursor.rowcount
    _rebuild_monthly(cursor, source_id=source_id, day_from=day_from, day_to=day_to)
    return written


_MONTHLY_SQL = """
INSERT INTO costs_costmonthly (source_id, month, initiative_id, business_unit_id, service_name, billing_currency,
                               billed_cost, effective_cost, cost, records, first_day, last_day)
SELECT source_id, date_trunc('month', day)::date, initiative_id, business_unit_id, service_name, billing_currency,
       SUM(billed_cost), SUM(effective_cost), SUM(cost), SUM(records), MIN(day), MAX(day)
FROM costs_costdaily WHERE {where}
GROUP BY 1, 2, 3, 4, 5, 6
"""


def _rebuild_monthly(cursor, *, source_id: int | None, day_from: date | None, day_to: date | None) -> None:
    """Recompute CostMonthly for the whole months around [day_from, day_to) of a source (or everything)."""
    conditions, params = [], {}
    if source_id is not None:
        conditions.append("source_id = %(source)s")
        params["source"] = source_id
    if day_from is not None and day_to is not None:
        last = day_to - timedelta(days=1)
        params["month_from"] = day_from.replace(day=1)
        params["month_to"] = (last.replace(day=1) + timedelta(days=32)).replace(day=1)
        conditions.append("{column} >= %(month_from)s AND {column} < %(month_to)s")
    where = " AND ".join(conditions) or "TRUE"
    cursor.execute(f"DELETE FROM costs_costmonthly WHERE {where.format(column='month')}", params)
    cursor.execute(_MONTHLY_SQL.format(where=where.format(column="day")), params)
