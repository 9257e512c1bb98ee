"""Money: FX conversion to the reporting currency, FX rate entry, and the ROI arithmetic."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from apps.costs import selectors
from apps.costs.models import CostDaily, FxRate
from apps.costs.selectors import initiative_financials, payback_month, portfolio_financials, roi, run_rate
from apps.costs.services import cost_import_file, cost_reallocate_run, fx_rate_set, fx_rates_import_csv
from apps.kpis.selectors import kpi_list, kpi_status_of
from apps.kpis.services import measurement_record
from tests.factories import make_initiative, make_kpi, make_unit

pytestmark = pytest.mark.django_db

HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName," \
         "ServiceName,Tags"


def line(day: str, amount: str, currency: str = "EUR", key: str = "AI-001", service: str = "S3") -> str:
    tags = json.dumps({"pilotlight-initiative": key}).replace('"', '""')
    return f'{day}T00:00:00Z,{day}T23:00:00Z,{amount},{amount},{currency},Usage,AWS,{service},"{tags}"'


def load(admin_user, source, tmp_path, *lines: str, name: str = "costs.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    cost_import = cost_import_file(actor=admin_user, source=source, paths=[path])
    assert cost_import.status == "succeeded", cost_import.error
    return cost_import


# --- FX ----------------------------------------------------------------------------------------------------------


def test_cost_converts_with_the_rate_valid_on_its_day(admin_user, initiatives, focus_source, tmp_path):
    # given USD rates from 1 January (0.90) and from 15 January (0.95)
    FxRate.objects.create(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("0.90"))
    FxRate.objects.create(currency="USD", valid_from=date(2025, 1, 15), rate=Decimal("0.95"))

    # when USD cost from before, between and after those days is imported
    load(admin_user, focus_source, tmp_path, line("2024-12-31", "100", "USD"), line("2025-01-14", "100", "USD"),
         line("2025-01-15", "100", "USD"), line("2025-01-20", "10", "EUR"))

    # then each day uses the latest rate on or before it (the first rate before any), and EUR stays as it is
    costs = dict(CostDaily.objects.values_list("day", "cost"))
    assert costs == {date(2024, 12, 31): Decimal("90.00"), date(2025, 1, 14): Decimal("90.00"),
                     date(2025, 1, 15): Decimal("95.00"), date(2025, 1, 20): Decimal("10")}


def test_cost_without_any_rate_is_flagged_not_counted_until_a_rate_arrives(admin_user, initiatives, focus_source,
                                                                           tmp_path):
    # given GBP cost and no GBP rate
    load(admin_user, focus_source, tmp_path, line("2025-01-10", "100", "GBP"), line("2025-01-10", "5", "EUR"))
    financials = initiative_financials(user=admin_user, initiative=initiatives[0], today=date(2025, 1, 31))

    # then it is named as unconverted and not counted
    assert financials.unconverted_currencies == ["GBP"]
    assert financials.cost_to_date == Decimal("5")

    # when a rate is set and the rollup re-converted (the job the service queued)
    fx_rate_set(actor=admin_user, currency="gbp", valid_from=date(2025, 1, 1), rate=Decimal("1.17"))
    cost_reallocate_run(actor=admin_user)

    # then it counts
    financials = initiative_financials(user=admin_user, initiative=initiatives[0], today=date(2025, 1, 31))
    assert financials.unconverted_currencies == []
    assert financials.cost_to_date == Decimal("122")


def test_a_wrong_currency_code_or_the_reporting_currency_is_refused(admin_user):
    with pytest.raises(ValidationError) as error:
        fx_rate_set(actor=admin_user, currency="DOLLAR", valid_from=date(2025, 1, 1), rate=Decimal("1"))
    assert error.value.message_dict == {"currency": ["“DOLLAR” is not an ISO 4217 currency code (e.g. EUR, USD)."]}
    with pytest.raises(ValidationError) as error:
        fx_rate_set(actor=admin_user, currency="EUR", valid_from=date(2025, 1, 1), rate=Decimal("1"))
    assert error.value.message_dict == {"currency": ["EUR is the reporting currency: its rate is always 1."]}
    assert not FxRate.objects.exists()


def test_setting_a_rate_again_for_the_same_day_replaces_it(admin_user):
    fx_rate_set(actor=admin_user, currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("0.9"))
    fx_rate_set(actor=admin_user, currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("0.91"))
    assert list(FxRate.objects.values_list("currency", "rate")) == [("USD", Decimal("0.9100000000"))]


def test_fx_csv_upload_is_all_or_nothing_with_line_and_column_errors(admin_user):
    # given CSV with a header, two good lines and three bad ones
    text = "currency,valid_from,rate\nUSD,2025-01-01,0.92\nXXX,2025-01-01,1\nGBP,2025-13-01,1.2\nCHF,2025-01-01,-1\n" \
           "JPY,2025-01-01,0.0061\n"

    # when it is uploaded
    with pytest.raises(ValidationError) as error:
        fx_rates_import_csv(actor=admin_user, text=text)

    # then each bad line is named with its column and nothing is saved
    assert error.value.message_dict["csv"] == [
        "Line 3, currency: “XXX” is not an ISO 4217 currency code (e.g. EUR, USD).",
        "Line 4, valid_from: “2025-13-01” is not a date (YYYY-MM-DD).",
        "Line 5, rate: “-1” is not a positive number.",
    ]
    assert not FxRate.objects.exists()
    # and a clean upload saves every line
    assert fx_rates_import_csv(actor=admin_user, text="USD,2025-01-01,0.92\nJPY,2025-01-01,0.0061\n") == 2
    assert FxRate.objects.count() == 2


# --- ROI arithmetic (pure) ---------------------------------------------------------------------------------------


def test_run_rate_averages_the_last_three_complete_months_since_costs_began():
    today = date(2025, 6, 10)
    assert run_rate(first_day=date(2024, 1, 1), window_cost=Decimal("900"), month_to_date=Decimal("50"),
                    today=today) == Decimal("300")
    # costs began in April: two complete months in the window
    assert run_rate(first_day=date(2025, 4, 20), window_cost=Decimal("500"), month_to_date=Decimal("0"),
                    today=today) == Decimal("250")
    # costs began this month: the month so far, scaled to 30 days
    assert run_rate(first_day=date(2025, 6, 1), window_cost=Decimal("0"), month_to_date=Decimal("100"),
                    today=today) == Decimal("300")
    assert run_rate(first_day=None, window_cost=Decimal("0"), month_to_date=Decimal("0"), today=today) == 0


def test_roi_is_value_minus_cost_over_cost():
    assert roi(value=Decimal("150"), cost=Decimal("100")) == Decimal("0.5")
    assert roi(value=Decimal("40"), cost=Decimal("100")) == Decimal("-0.6")
    assert roi(value=None, cost=Decimal("100")) is None
    assert roi(value=Decimal("10"), cost=Decimal("0")) is None


def test_payback_is_the_month_cumulative_value_first_covers_cumulative_cost():
    months = [(date(2025, 1, 1), Decimal("100")), (date(2025, 2, 1), Decimal("100")),
              (date(2025, 3, 1), Decimal("100"))]
    # value 600 by March: 200 a month from January; cumulative cost 100, 200, 300 -> covered in January
    assert payback_month(monthly_costs=months, value=Decimal("600"), value_date=date(2025, 3, 20),
                         rate=Decimal("100")) == date(2025, 1, 1)
    # value 150 by March: 50 a month; cost keeps growing by 100 a month -> never
    assert payback_month(monthly_costs=months, value=Decimal("150"), value_date=date(2025, 3, 20),
                         rate=Decimal("100")) is None
    # value 150 by March, costs stop after March: 50 a month catches up with 300 in June
    assert payback_month(monthly_costs=months, value=Decimal("150"), value_date=date(2025, 3, 20),
                         rate=Decimal("0")) == date(2025, 6, 1)
    assert payback_month(monthly_costs=months, value=None, value_date=None, rate=Decimal("0")) is None


# --- financials from the database --------------------------------------------------------------------------------


def test_initiative_financials_use_the_kpi_selectors_for_value(admin_user, initiatives, focus_source, tmp_path):
    # given AI-001 (budget 50,000) with cost over three months and a KPI whose latest value is an improvement
    load(admin_user, focus_source, tmp_path,
         line("2025-01-15", "1000", service="SageMaker"), line("2025-02-15", "2000", service="SageMaker"),
         line("2025-02-20", "500", service="S3"), line("2025-03-05", "1500", service="S3"))
    kpi = make_kpi(actor=admin_user, initiative=initiatives[0], baseline_value=Decimal("100"),
                   target_value=Decimal("60"), value_per_unit=Decimal("250"), baseline_date=date(2024, 12, 1),
                   target_date=date(2025, 12, 31))
    measurement_record(actor=admin_user, kpi=kpi, date=date(2025, 3, 31), value=Decimal("80"))

    # when its financials are read on 10 April
    financials = initiative_financials(user=admin_user, initiative=initiatives[0], today=date(2025, 4, 10))

    # then cost, run rate, burn, value (the KPI selector's realized value), ROI and payback follow
    expected_value = kpi_status_of(kpi_list(user=admin_user, initiative_id=initiatives[0].pk).get()).realized_value
    assert expected_value == Decimal("5000")
    assert financials.cost_to_date == Decimal("5000")
    assert financials.run_rate == Decimal("5000") / 3
    assert financials.budget_used == Decimal("0.1")
    assert financials.realized_value == expected_value
    assert financials.roi == Decimal("0")
    # 5,000 of value spread over January-March (1,666.67 a month) already covers January's 1,000
    assert financials.payback_month == date(2025, 1, 1)
    assert [(item.month, item.cost, item.cumulative) for item in financials.months] == [
        (date(2025, 1, 1), Decimal("1000"), Decimal("1000")), (date(2025, 2, 1), Decimal("2500"), Decimal("3500")),
        (date(2025, 3, 1), Decimal("1500"), Decimal("5000"))]
    assert financials.months[1].by_service == {"SageMaker": Decimal("2000"), "S3": Decimal("500")}
    assert financials.services == [("SageMaker", Decimal("3000")), ("S3", Decimal("2000"))]
    # 45,000 left at 1,666.67 a month: 27 more months after March 2025
    assert financials.budget_exhausted_month == date(2027, 6, 1)


def test_portfolio_rolls_up_per_business_unit_including_sub_units(admin_user, focus_source, tmp_path):
    # given a unit with a sub-unit, an initiative in each, and one in another unit
    parent = make_unit("Insurance")
    child = make_unit("Motor claims", parent=parent)
    other = make_unit("Retail")
    for key, unit in (("AI-101", parent), ("AI-102", child), ("AI-103", other)):
        make_initiative(actor=admin_user, unit=unit, key=key, name=key, budget=Decimal("1000"))
    load(admin_user, focus_source, tmp_path, line("2025-01-02", "10", key="AI-101"),
         line("2025-01-02", "20", key="AI-102"), line("2025-01-02", "40", key="AI-103"),
         line("2025-01-02", "7", key="AI-404"))

    # when the portfolio is read by an admin
    data = portfolio_financials(user=admin_user, today=date(2025, 2, 1))

    # then the parent includes its sub-unit, and unallocated cost is shown apart
    units = {row.unit.name: (row.cost, row.initiatives, row.budget) for row in data.units}
    assert units == {"Insurance": (Decimal("30"), 2, Decimal("2000")), "Motor claims": (Decimal("20"), 1,
                                                                                        Decimal("1000")),
                     "Retail": (Decimal("40"), 1, Decimal("1000"))}
    assert (data.allocated, data.unallocated, data.cost) == (Decimal("70"), Decimal("7"), Decimal("77"))
    assert sum(row.cost for row in data.initiatives) == Decimal("70")
    assert selectors.cost_daily_list(user=admin_user).aggregate(total=Sum("cost"))["total"] == Decimal("77")


def test_initiatives_with_costs_are_listed_for_readiness_checks(admin_user, initiatives, focus_source, tmp_path):
    load(admin_user, focus_source, tmp_path, line("2025-01-02", "3", key="AI-002"))
    ids = [initiative.pk for initiative in initiatives]
    assert selectors.initiative_ids_with_costs(initiative_ids=ids) == {initiatives[1].pk}
