"""AWS Cost Explorer client: daily cost grouped by a cost-allocation tag and by service, as FOCUS CostRows.

`get_cost_and_usage` has no boto3 paginator: pages are followed with NextPageToken. Credentials come from the
standard AWS chain (environment, shared config, instance or task role) or, when a role ARN is configured, from STS
AssumeRole on top of it. Every Cost Explorer request is billed by AWS, so callers pull only the days they need.

Wire format and client only: no Django, returns dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from apps.integrations.focus import CostRow

BILLED_METRIC = "UnblendedCost"
PROVIDER = "AWS"
MAX_PAGES = 1000


class AwsCostError(Exception):
    """Cost Explorer could not be read (credentials, permissions, throttling after retries, bad response)."""


@dataclass(frozen=True)
class AwsPull:
    rows: list[CostRow]
    pages: int


def cost_explorer_client(*, region: str = "us-east-1", role_arn: str = "", external_id: str = "", session=None):
    """A Cost Explorer client from the default credential chain, or from an assumed role."""
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    if role_arn:
        request = {"RoleArn": role_arn, "RoleSessionName": "pilotlight-costs", "DurationSeconds": 3600}
        if external_id:
            request["ExternalId"] = external_id
        credentials = session.client("sts", region_name=region).assume_role(**request)["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"], region_name=region,
        )
    config = Config(retries={"max_attempts": 6, "mode": "adaptive"}, connect_timeout=10, read_timeout=60)
    return session.client("ce", region_name=region, config=config)


def _midnight(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def parse_results(results: list[dict], *, tag_key: str, effective_metric: str) -> list[CostRow]:
    """ResultsByTime (grouped by TAG then SERVICE) as CostRows; untagged groups ("key$") carry no tag."""
    rows: list[CostRow] = []
    for result in results:
        start = _midnight(result["TimePeriod"]["Start"])
        end = _midnight(result["TimePeriod"]["End"]) if result["TimePeriod"].get("End") else start + timedelta(1)
        for group in result.get("Groups", []):
            keys = group.get("Keys", [])
            tag_part = keys[0] if keys else ""
            service = keys[1] if len(keys) > 1 else ""
            _, _, value = tag_part.partition("$")
            metrics = group.get("Metrics", {})
            billed = metrics.get(BILLED_METRIC) or metrics.get(effective_metric)
            effective = metrics.get(effective_metric) or billed
            if billed is None:
                raise AwsCostError(f"Cost Explorer returned a group without {BILLED_METRIC}: {group!r}")
            billed_amount, effective_amount = Decimal(billed["Amount"]), Decimal(effective["Amount"])
            rows.append(CostRow(
                charge_period_start=start, charge_period_end=end, billed_cost=billed_amount,
                effective_cost=effective_amount, billing_currency=(billed.get("Unit") or "USD").upper(),
                provider_name=PROVIDER, service_name=service,
                charge_category="Credit" if effective_amount < 0 else "Usage",
                tags={tag_key: value} if value else {},
            ))
    return rows


def fetch_daily_costs(*, start: date, end: date, tag_key: str, effective_metric: str = "AmortizedCost",
                      client=None, region: str = "us-east-1", role_arn: str = "", external_id: str = "") -> AwsPull:
    """Daily costs in [start, end) grouped by `tag_key` and service, following every NextPageToken."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or cost_explorer_client(region=region, role_arn=role_arn, external_id=external_id)
    request = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": sorted({BILLED_METRIC, effective_metric}),
        "GroupBy": [{"Type": "TAG", "Key": tag_key}, {"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    rows: list[CostRow] = []
    token = None
    pages = 0
    try:
        while True:
            response = client.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
            pages += 1
            rows.extend(parse_results(response.get("ResultsByTime", []), tag_key=tag_key,
                                      effective_metric=effective_metric))
            token = response.get("NextPageToken")
            if not token:
                break
            if pages >= MAX_PAGES:
                raise AwsCostError(f"Cost Explorer kept paging after {MAX_PAGES} pages; giving up.")
    except (ClientError, BotoCoreError) as exc:
        raise AwsCostError(f"AWS Cost Explorer: {exc}") from exc
    return AwsPull(rows=rows, pages=pages)
