"""Money helpers: amounts are Decimals, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


def quantize_money(amount: Decimal | int | str) -> Decimal:
    """Round an amount to cents, half up, as accountants do."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | None, currency: str | None = None) -> str:
    """Format an amount with thousands separators and its currency code, e.g. 'EUR 1,250,000'."""
    if amount is None:
        return "—"
    currency = currency or settings.REPORTING_CURRENCY
    amount = quantize_money(amount)
    if amount == amount.to_integral_value():
        return f"{currency} {amount:,.0f}"
    return f"{currency} {amount:,.2f}"
