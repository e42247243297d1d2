"""Validation of a plan's editable terms: every bad value is reported with its field."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.kit.validation import Checks

CENT = Decimal("0.01")
CHURN_PLACES = Decimal("0.000001")

# (low, high) inclusive; None means unbounded on that side.
DECIMAL_RANGES: dict[str, tuple[Decimal | None, Decimal | None]] = {
    "growth_target_pct": (Decimal(-100), Decimal(1000)),
    "price_change_pct": (Decimal(-100), Decimal(1000)),
    "planned_net_new": (Decimal(0), Decimal("999999999999.99")),
    "churn_rate": (Decimal(0), Decimal(1)),
}
INT_RANGES = {"satisfaction": (0, 10), "review_frequency_days": (1, 366)}
TERM_FIELDS = (
    "growth_target_pct",
    "planned_net_new",
    "price_change_pct",
    "churn_rate",
    "satisfaction",
    "review_frequency_days",
    "renewal_date",
    "challenges",
    "strategy",
)
# The plan's narrative: free text, an empty one clears it.
TEXT_LIMITS = {"challenges": 4000, "strategy": 4000}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_decimal(value: Decimal | float | int | None) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("NaN")


def decimal_in(
    checks: Checks, field: str, value: Decimal | None, low: Decimal | None, high: Decimal | None
) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite():
        checks.fail(field, f"{field} must be a number.")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        checks.fail(field, f"{field} must be between {low} and {high}.")
        return None  # never quantized: a 60-digit value would overflow the context
    return value


def money(checks: Checks, field: str, value: Decimal | None) -> Decimal | None:
    """A non-negative amount of money, to the cent."""
    value = decimal_in(checks, field, value, Decimal(0), Decimal("999999999999.99"))
    return None if value is None else value.quantize(CENT, ROUND_HALF_UP)


def clean_terms(checks: Checks, values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in values.items():
        field = camel(key)
        if key in DECIMAL_RANGES:
            low, high = DECIMAL_RANGES[key]
            number = decimal_in(checks, field, to_decimal(value), low, high)
            places = CHURN_PLACES if key == "churn_rate" else CENT
            clean[key] = None if number is None else number.quantize(places, ROUND_HALF_UP)
        elif key in INT_RANGES:
            low_i, high_i = INT_RANGES[key]
            clean[key] = checks.int_range(field, value, low=low_i, high=high_i)
        elif key in TEXT_LIMITS:
            clean[key] = checks.text(field, value, max_length=TEXT_LIMITS[key])
        else:
            clean[key] = value
    return clean
