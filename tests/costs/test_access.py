"""Access: cost data follows initiative visibility; unallocated cost only for executives and portfolio admins."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from apps.accounts.choices import GlobalRole
from apps.costs import selectors
from apps.costs.choices import RuleKind
from apps.costs.services import allocation_rule_create, cost_import_file
from apps.portfolio.services import initiative_grant
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName," \
         "ServiceName,SubAccountId,Tags"


def line(amount: str, key: str | None = None, account: str = "acct-1") -> str:
    tags = json.dumps({"pilotlight-initiative": key} if key else {}).replace('"', '""')
    return f'2025-01-02T00:00:00Z,2025-01-03T00:00:00Z,{amount},{amount},EUR,Usage,AWS,S3,{account},"{tags}"'


@pytest.fixture
def costs(admin_user, initiatives, focus_source, unit_b, tmp_path):
    """AI-001 10, AI-002 20 (Claims), AI-003 40 (Retail banking), 5 straight to Retail banking, 7 unallocated."""
    allocation_rule_create(actor=admin_user, name="Retail account", kind=RuleKind.SUB_ACCOUNT,
                           sub_account_id="acct-retail", business_unit=unit_b, priority=200)
    path = tmp_path / "costs.csv"
    path.write_text("\n".join([HEADER, line("10", "AI-001"), line("20", "AI-002"), line("40", "AI-003"),
                               line("5", account="acct-retail"), line("7")]) + "\n")
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    assert cost_import.status == "succeeded", cost_import.error
    return cost_import


def visible_total(user) -> Decimal:
    return selectors.cost_daily_list(user=user).aggregate(total=Sum("cost"))["total"] or Decimal(0)


def record_totals(user) -> Decimal:
    return sum((record.effective_cost for record in selectors.cost_record_list(user=user)), Decimal(0))


@pytest.mark.parametrize(("who", "total", "unallocated"), [
    ("admin", Decimal("82"), Decimal("7")),
    ("executive", Decimal("82"), Decimal("7")),
    ("compliance", Decimal("75"), None),
    ("auditor", Decimal("75"), None),
    ("lead_a", Decimal("30"), None),
    ("viewer_a", Decimal("30"), None),
    ("lead_b", Decimal("45"), None),
    ("grantee", Decimal("40"), None),
    ("nobody", Decimal("0"), None),
])
def test_cost_follows_initiative_visibility(costs, admin_user, executive, lead_a, viewer_a, lead_b, initiatives, who,
                                            total, unallocated):
    users = {"admin": admin_user, "executive": executive, "lead_a": lead_a, "viewer_a": viewer_a, "lead_b": lead_b,
             "compliance": make_user(role=GlobalRole.COMPLIANCE_OFFICER),
             "auditor": make_user(role=GlobalRole.AUDITOR), "nobody": make_user()}
    if who == "grantee":
        users["grantee"] = make_user()
        initiative_grant(actor=admin_user, initiative=initiatives[2], user=users["grantee"], access="view")
    user = users[who]

    # the rollup, the line items and the portfolio page's figures agree on what the user may see
    assert visible_total(user) == total
    assert record_totals(user) == total
    data = selectors.portfolio_financials(user=user)
    assert data.cost == total
    assert data.unallocated == unallocated


def test_a_lead_gets_404_for_another_units_initiative_costs(costs, lead_a, client):
    client.force_login(lead_a)
    assert client.get("/costs/initiatives/AI-001/").status_code == 200
    assert client.get("/costs/initiatives/AI-003/").status_code == 404
    api = APIClient()
    api.force_authenticate(lead_a)
    assert api.get("/api/v1/initiatives/AI-003/financials/").status_code == 404
    assert api.get("/api/v1/initiatives/AI-001/financials/").json()["cost_to_date"] == "10"


def test_line_items_show_only_the_shares_a_user_may_see(costs, admin_user, lead_a, initiatives, focus_source,
                                                        tmp_path):
    # given a line split between a Claims and a Retail initiative
    allocation_rule_create(actor=admin_user, name="Half A", kind=RuleKind.SUB_ACCOUNT, sub_account_id="acct-split",
                           initiative=initiatives[0], share=Decimal("0.5"), priority=1)
    allocation_rule_create(actor=admin_user, name="Half C", kind=RuleKind.SUB_ACCOUNT, sub_account_id="acct-split",
                           initiative=initiatives[2], share=Decimal("0.5"), priority=1)
    path = tmp_path / "split.csv"
    path.write_text("\n".join([HEADER, line("8", account="acct-split").replace("2025-01-02", "2025-02-02")
                               .replace("2025-01-03", "2025-02-03")]) + "\n")
    cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    api = APIClient()
    api.force_authenticate(lead_a)

    # when the Claims lead lists line items of that account
    rows = api.get("/api/v1/cost-records/?sub_account=acct-split").json()["results"]

    # then the line is listed with the Claims share only
    assert len(rows) == 1
    assert [(share["initiative"], share["share"]) for share in rows[0]["allocations"]] == [
        ("AI-001", "0.500000000000")]


def test_cost_configuration_is_for_executives_and_admins_only(costs, executive, lead_a, client):
    api = APIClient()
    api.force_authenticate(lead_a)
    assert api.get("/api/v1/cost-sources/").json()["results"] == []
    assert api.get("/api/v1/cost-imports/").json()["results"] == []
    assert api.get(f"/api/v1/cost-imports/{costs.pk}/").status_code == 404
    assert api.get("/api/v1/allocation-rules/").json()["results"] == []
    client.force_login(lead_a)
    for url in ("/costs/sources/", f"/costs/sources/{costs.source_id}/", f"/costs/imports/{costs.pk}/",
                "/costs/rules/", f"/costs/imports/{costs.pk}/errors.csv"):
        assert client.get(url).status_code == 404, url
    # an executive reads them but cannot change them
    api.force_authenticate(executive)
    assert len(api.get("/api/v1/cost-sources/").json()["results"]) == 1
    response = api.post("/api/v1/cost-sources/", {"name": "X", "kind": "focus"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only portfolio admins manage cost sources, imports, allocation rules and "
                                         "FX rates."}


def test_unallocated_filter_in_the_explorer_only_for_executives_and_admins(costs, admin_user, lead_a, client):
    client.force_login(admin_user)
    response = client.get("/costs/explorer/?allocation=unallocated&group_by=source")
    assert response.context["total"]["amount"] == Decimal("7")
    client.force_login(lead_a)
    response = client.get("/costs/explorer/?allocation=unallocated&group_by=source")
    assert response.context["total"]["amount"] is None
    assert b"Unallocated" not in response.content.split(b"<form")[1].split(b"</form>")[0]
