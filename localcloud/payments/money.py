"""Amounts in minor units per currency: Stripe's minimum and maximum charge and how messages print money."""

from __future__ import annotations

# Currencies whose minor unit is the unit itself (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# Stripe's minimum charge amounts, in minor units, for the currencies that differ from 50.
_MINIMUMS = {"gbp": 30, "hkd": 400, "jpy": 50, "mxn": 1000, "sek": 300, "nok": 300, "dkk": 250, "czk": 1500}
MAXIMUM = 99_999_999


def minimum_amount(currency: str) -> int:
    return _MINIMUMS.get(currency, 50)


def format_amount(amount: int, currency: str) -> str:
    """`1050, "usd"` → `10.50 USD`; `500, "jpy"` → `500 JPY` (messages only; amounts stay integers)."""
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units}.{cents:02d} {currency.upper()}"
