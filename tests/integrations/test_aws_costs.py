"""AWS Cost Explorer client against moto with configured Cost Explorer results (two pages)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import boto3
import pytest
import requests
from moto import mock_aws

from apps.integrations import aws_costs

RESULTS_URL = "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results"


def group(tag: str, service: str, unblended: str, amortized: str, unit: str = "USD") -> dict:
    return {"Keys": [tag, service], "Metrics": {"UnblendedCost": {"Amount": unblended, "Unit": unit},
                                                "AmortizedCost": {"Amount": amortized, "Unit": unit}}}


PAGE_1 = {
    "GroupDefinitions": [{"Type": "TAG", "Key": "pilotlight-initiative"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
    "ResultsByTime": [{
        "TimePeriod": {"Start": "2025-03-01", "End": "2025-03-02"}, "Total": {}, "Estimated": False,
        "Groups": [
            group("pilotlight-initiative$AI-001", "Amazon SageMaker", "120.0123456789", "110.5"),
            group("pilotlight-initiative$", "AmazonCloudWatch", "9.99", "9.99"),
        ],
    }],
    "NextPageToken": "page-2",
}
PAGE_2 = {
    "GroupDefinitions": PAGE_1["GroupDefinitions"],
    "ResultsByTime": [{
        "TimePeriod": {"Start": "2025-03-02", "End": "2025-03-03"}, "Total": {}, "Estimated": True,
        "Groups": [
            group("pilotlight-initiative$AI-002", "Amazon Bedrock", "42.42", "40.01"),
            group("pilotlight-initiative$AI-001", "Amazon SageMaker", "-5", "-5"),
        ],
    }],
}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def queue_results(*pages: dict) -> None:
    response = requests.post(RESULTS_URL, json={"results": list(pages)}, timeout=10)
    assert response.status_code == 201


def test_daily_costs_grouped_by_tag_and_service_follow_next_page_token(aws):
    # given Cost Explorer answering in two pages
    queue_results(PAGE_1, PAGE_2)

    # when March 1-2 are pulled
    pulled = aws_costs.fetch_daily_costs(start=date(2025, 3, 1), end=date(2025, 3, 3),
                                         tag_key="pilotlight-initiative", effective_metric="AmortizedCost")

    # then both pages are read and each group is a cost row with exact amounts
    assert pulled.pages == 2
    assert [(row.charge_period_start, row.service_name, row.billed_cost, row.effective_cost, row.tags,
             row.charge_category) for row in pulled.rows] == [
        (datetime(2025, 3, 1, tzinfo=UTC), "Amazon SageMaker", Decimal("120.0123456789"), Decimal("110.5"),
         {"pilotlight-initiative": "AI-001"}, "Usage"),
        (datetime(2025, 3, 1, tzinfo=UTC), "AmazonCloudWatch", Decimal("9.99"), Decimal("9.99"), {}, "Usage"),
        (datetime(2025, 3, 2, tzinfo=UTC), "Amazon Bedrock", Decimal("42.42"), Decimal("40.01"),
         {"pilotlight-initiative": "AI-002"}, "Usage"),
        (datetime(2025, 3, 2, tzinfo=UTC), "Amazon SageMaker", Decimal("-5"), Decimal("-5"),
         {"pilotlight-initiative": "AI-001"}, "Credit"),
    ]
    assert {row.billing_currency for row in pulled.rows} == {"USD"}
    assert {row.provider_name for row in pulled.rows} == {"AWS"}
    assert all(row.charge_period_end.day == row.charge_period_start.day + 1 for row in pulled.rows)


def test_the_request_asks_for_daily_cost_grouped_by_the_tag_and_service(aws):
    # given a client that records its calls
    client = boto3.client("ce", region_name="us-east-1")
    calls = []
    client.meta.events.register("provide-client-params.ce.GetCostAndUsage",
                                lambda params, **kwargs: calls.append(dict(params)))
    queue_results(PAGE_1, PAGE_2)

    # when a pull runs
    aws_costs.fetch_daily_costs(start=date(2025, 3, 1), end=date(2025, 3, 3), tag_key="pilotlight-initiative",
                                effective_metric="NetAmortizedCost", client=client)

    # then both requests ask the same daily question, the second with the page token
    assert calls[0] == {
        "TimePeriod": {"Start": "2025-03-01", "End": "2025-03-03"}, "Granularity": "DAILY",
        "Metrics": ["NetAmortizedCost", "UnblendedCost"],
        "GroupBy": [{"Type": "TAG", "Key": "pilotlight-initiative"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    assert calls[1] == {**calls[0], "NextPageToken": "page-2"}


def test_a_stored_role_is_assumed_through_sts(aws):
    # given a role in the account
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="pilotlight-costs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    queue_results(PAGE_2)

    # when the client is built with that role and an external id
    client = aws_costs.cost_explorer_client(role_arn=role, external_id="pilotlight")
    pulled = aws_costs.fetch_daily_costs(start=date(2025, 3, 2), end=date(2025, 3, 3), tag_key="pilotlight-initiative",
                                         client=client)

    # then it calls Cost Explorer with the role's temporary credentials
    credentials = client._request_signer._credentials
    assert credentials.access_key != "testing" and credentials.token
    assert len(pulled.rows) == 2


def test_cost_explorer_errors_become_a_readable_error(aws):
    client = boto3.client("ce", region_name="us-east-1")

    def refuse(**kwargs):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetCostAndUsage")

    client.get_cost_and_usage = refuse
    with pytest.raises(aws_costs.AwsCostError, match=r"AWS Cost Explorer: An error occurred \(AccessDenied"):
        aws_costs.fetch_daily_costs(start=date(2025, 3, 1), end=date(2025, 3, 2), tag_key="t", client=client)
