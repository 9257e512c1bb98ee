"""Azure Cost Management client against recorded responses replayed through the SDK's transport."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.integrations import azure_costs
from tests.integrations.azure_replay import RecordingTransport, ReplayAdapter, StaticCredential, replay

SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000000"


def test_daily_costs_follow_next_link_and_wait_out_a_429_as_its_headers_ask():
    # given a recording of two pages, the second first throttled with retry-after headers of 7, 3 and 1 seconds
    transport = replay("azure_query_daily_by_tag.json")

    # when March 1-2 are pulled
    pulled = azure_costs.fetch_daily_costs(scope=SCOPE, start=date(2025, 3, 1), end=date(2025, 3, 3),
                                           tag_key="pilotlight-initiative", credential=StaticCredential(),
                                           transport=transport)

    # then both pages were read (three requests: page 1, the throttled page 2, page 2 again)
    assert pulled.pages == 2
    assert len(transport.adapter.requests) == 3 and not transport.adapter.interactions
    # and the client waited the longest retry-after the service asked for, once
    assert transport.slept == [7.0]
    # and every page asked the same question
    bodies = [json.loads(request.body) for request in transport.adapter.requests]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["timePeriod"] == {"from": "2025-03-01T00:00:00Z", "to": "2025-03-02T23:59:59Z"}
    assert bodies[0]["dataset"]["granularity"] == "Daily"
    assert bodies[0]["dataset"]["grouping"] == [{"type": "TagKey", "name": "pilotlight-initiative"},
                                                {"type": "Dimension", "name": "ServiceName"}]
    assert transport.adapter.requests[0].headers["Authorization"] == "Bearer recorded-token"
    # and the positional rows became cost rows with exact amounts
    assert len(pulled.rows) == 8
    first = pulled.rows[0]
    assert (first.charge_period_start, first.charge_period_end) == (datetime(2025, 3, 1, tzinfo=UTC),
                                                                    datetime(2025, 3, 2, tzinfo=UTC))
    assert (first.billed_cost, first.effective_cost, first.billing_currency) == (
        Decimal("412.1833629871"), Decimal("412.1833629871"), "EUR")
    assert (first.service_name, first.tags, first.provider_name) == (
        "Azure OpenAI", {"pilotlight-initiative": "ai-001"}, "Microsoft")
    untagged = pulled.rows[3]
    assert (untagged.tags, untagged.billed_cost) == ({}, Decimal("31.2200000001"))
    assert pulled.rows[-1].charge_category == "Credit"
    assert sum(row.effective_cost for row in pulled.rows) == Decimal("1063.3345629872")


def test_columns_are_read_by_name_whatever_their_order():
    columns = [{"name": "Currency"}, {"name": "ServiceName"}, {"name": "PreTaxCost"}, {"name": "UsageDate"}]
    rows = azure_costs.parse_rows(columns, [["USD", "Storage", 1.25, 20251128]], tag_key="team")
    assert (rows[0].billed_cost, rows[0].billing_currency, rows[0].service_name) == (Decimal("1.25"), "USD",
                                                                                     "Storage")
    assert rows[0].charge_period_start == datetime(2025, 11, 28, tzinfo=UTC)
    with pytest.raises(azure_costs.AzureCostError, match="Unexpected Cost Management columns: currency"):
        azure_costs.parse_rows([{"name": "Currency"}], [], tag_key="team")


def test_throttling_that_never_ends_is_an_error():
    # given a service that answers 429 to every attempt
    throttled = {"request": {"method": "POST", "path": f"{SCOPE}/providers/Microsoft.CostManagement/query",
                             "query": {"api-version": "2025-03-01"}},
                 "response": {"status": 429, "headers": {
                     "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "2"}, "body": {"error": {}}}}
    transport = RecordingTransport(ReplayAdapter([throttled] * 7))

    # when a pull is attempted
    with pytest.raises(azure_costs.AzureCostError, match="Azure Cost Management"):
        azure_costs.fetch_daily_costs(scope=SCOPE, start=date(2025, 3, 1), end=date(2025, 3, 2), tag_key="t",
                                      credential=StaticCredential(), transport=transport)

    # then it retried six times, each after the 2 seconds asked for
    assert transport.slept == [2.0] * 6
