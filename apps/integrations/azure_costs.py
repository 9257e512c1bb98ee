"""Azure Cost Management client: daily cost grouped by a tag and by service, as FOCUS CostRows.

Uses azure-mgmt-costmanagement's `query.usage`. Result rows are positional arrays described by `columns`;
`UsageDate` is an integer like 20251128. Further pages are announced by `next_link`, whose `$skiptoken` is sent with
the same query. Throttled requests (429) carry `x-ms-ratelimit-microsoft.costmanagement-*-retry-after` headers that
azure-core's default retry policy ignores (and it never retries a POST): CostManagementRetryPolicy waits exactly as
long as those headers ask, through the transport's own sleep.

Wire format and client only: no Django, returns dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from azure.core.pipeline.policies import RetryPolicy

from apps.integrations.focus import CostRow

PROVIDER = "Microsoft"
MAX_PAGES = 1000
MAX_RETRY_AFTER_SECONDS = 300.0
RETRY_AFTER_HEADERS = (
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
    "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after",
)
COST_COLUMNS = ("cost", "pretaxcost", "costinbillingcurrency", "totalcost")


class AzureCostError(Exception):
    """Cost Management could not be read (credentials, scope, throttling after retries, bad response)."""


@dataclass(frozen=True)
class AzurePull:
    rows: list[CostRow]
    pages: int


class CostManagementRetryPolicy(RetryPolicy):
    """Retry 429s of the Cost Management query API, waiting as long as its rate-limit headers ask."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", 6)
        kwargs.setdefault("retry_status", 6)
        kwargs.setdefault("retry_backoff_factor", 2.0)
        super().__init__(**kwargs)

    def get_retry_after(self, response) -> float | None:
        headers = response.http_response.headers
        waits = []
        for name in RETRY_AFTER_HEADERS:
            value = headers.get(name)
            if value:
                try:
                    waits.append(float(value))
                except ValueError:
                    continue
        if waits:
            return min(MAX_RETRY_AFTER_SECONDS, max(waits))
        return super().get_retry_after(response)

    def is_retry(self, settings: dict[str, Any], response) -> bool:
        if response.http_response.status_code == 429:
            return settings["total"] > 0
        return super().is_retry(settings, response)


def cost_management_client(*, credential=None, transport=None, **kwargs: Any):
    """A CostManagementClient with the 429-aware retry policy (DefaultAzureCredential unless one is given)."""
    from azure.mgmt.costmanagement import CostManagementClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    if transport is not None:
        kwargs["transport"] = transport
    return CostManagementClient(credential, retry_policy=CostManagementRetryPolicy(), **kwargs)


def query_definition(*, start: date, end: date, tag_key: str, cost_type: str = "ActualCost") -> dict[str, Any]:
    """The body of a daily cost query for [start, end) grouped by tag and service name."""
    last_day = end - timedelta(days=1)
    return {
        "type": cost_type,
        "timeframe": "Custom",
        "timePeriod": {"from": f"{start.isoformat()}T00:00:00Z", "to": f"{last_day.isoformat()}T23:59:59Z"},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": "TagKey", "name": tag_key}, {"type": "Dimension", "name": "ServiceName"}],
        },
    }


def _usage_day(value: Any) -> datetime:
    text = str(value).split(".")[0]
    if len(text) == 8 and text.isdigit():
        day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    else:
        day = date.fromisoformat(text[:10])
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def parse_rows(columns: list[dict], rows: list[list[Any]], *, tag_key: str) -> list[CostRow]:
    """Positional result rows as CostRows, whatever the order of the columns."""
    names = [str(column.get("name", "")).lower() for column in columns]

    def index(*candidates: str) -> int | None:
        for candidate in candidates:
            if candidate in names:
                return names.index(candidate)
        return None

    cost_at = index(*COST_COLUMNS)
    day_at = index("usagedate", "date")
    if cost_at is None or day_at is None:
        raise AzureCostError(f"Unexpected Cost Management columns: {', '.join(names)}")
    currency_at = index("currency", "billingcurrency", "billingcurrencycode")
    service_at = index("servicename", "metercategory")
    tag_key_at, tag_value_at = index("tagkey"), index("tagvalue")
    parsed = []
    for row in rows:
        start = _usage_day(row[day_at])
        amount = Decimal(str(row[cost_at]))
        value = str(row[tag_value_at] or "") if tag_value_at is not None else ""
        key = str(row[tag_key_at] or tag_key) if tag_key_at is not None else tag_key
        parsed.append(CostRow(
            charge_period_start=start, charge_period_end=start + timedelta(days=1), billed_cost=amount,
            effective_cost=amount, billing_currency=str(row[currency_at] if currency_at is not None else "USD").upper(),
            provider_name=PROVIDER, service_name=str(row[service_at] or "") if service_at is not None else "",
            charge_category="Credit" if amount < 0 else "Usage", tags={key: value} if value else {},
        ))
    return parsed


def fetch_daily_costs(*, scope: str, start: date, end: date, tag_key: str, cost_type: str = "ActualCost",
                      client=None, credential=None, transport=None) -> AzurePull:
    """Daily costs in [start, end) grouped by `tag_key` and service, following every next_link."""
    from azure.core.exceptions import AzureError

    client = client or cost_management_client(credential=credential, transport=transport)
    body = query_definition(start=start, end=end, tag_key=tag_key, cost_type=cost_type)
    rows: list[CostRow] = []
    params: dict[str, str] = {}
    pages = 0
    try:
        while True:
            result = client.query.usage(scope.strip("/"), body, params=params) if params else \
                client.query.usage(scope.strip("/"), body)
            pages += 1
            if result is None:
                break
            columns = [{"name": column.name, "type": column.type} for column in result.columns or []]
            rows.extend(parse_rows(columns, result.rows or [], tag_key=tag_key))
            next_link = result.next_link
            if not next_link:
                break
            params = {name: value for name, value in parse_qsl(urlsplit(next_link).query)
                      if name.lower() != "api-version"}
            if pages >= MAX_PAGES:
                raise AzureCostError(f"Cost Management kept paging after {MAX_PAGES} pages; giving up.")
    except AzureError as exc:
        raise AzureCostError(f"Azure Cost Management: {exc}") from exc
    return AzurePull(rows=rows, pages=pages)
