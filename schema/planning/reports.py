"""Churn, forecast and classification reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

import strawberry

from app.planning import churn, figures, segments
from app.planning.figures import ForecastGrouping
from schema.context import Info
from schema.enums import Classification
from schema.planning.types import AccountRef, cents, required_account
from schema.relay import to_global_id

strawberry.enum(ForecastGrouping)


def rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@strawberry.type
class ChurnYear:
    year: int
    customers_at_start: int
    churned: int
    revenue_at_start: Decimal
    revenue_lost: Decimal


@strawberry.type
class ChurnEstimate:
    by_count: float | None = strawberry.field(description="Mean of churned / customers.")
    by_revenue: float | None = strawberry.field(description="Mean of revenue lost / at start.")
    years: list[ChurnYear]

    @classmethod
    def from_result(cls, found: churn.ChurnEstimate) -> Self:
        return cls(
            by_count=rate(found.by_count),
            by_revenue=rate(found.by_revenue),
            years=[
                ChurnYear(
                    year=y.year,
                    customers_at_start=y.customers_at_start,
                    churned=y.churned,
                    revenue_at_start=cents(y.revenue_at_start),
                    revenue_lost=cents(y.revenue_lost),
                )
                for y in found.years
            ],
        )


@strawberry.type
class ForecastRow:
    key: str
    label: str
    accounts: int
    baseline_revenue: Decimal
    forecast_revenue: Decimal
    target_revenue: Decimal
    gap: Decimal
    row: strawberry.Private[figures.ForecastRow]

    @strawberry.field(description="Pass as `after` for the groups after this one.")
    def cursor(self) -> str:
        return figures.forecast_cursor(self.row)

    @classmethod
    def from_row(cls, group_by: ForecastGrouping, row: figures.ForecastRow) -> Self:
        """A group of figures.forecast, whose sums come rounded to cents from SQL."""
        key, label = _group_key(group_by, row.key, row.label)
        return cls(
            key=key,
            label=label,
            accounts=row.accounts,
            baseline_revenue=row.baseline_revenue,
            forecast_revenue=row.forecast_revenue,
            target_revenue=row.target_revenue,
            gap=row.gap,
            row=row,
        )


_NO_GROUP = {
    ForecastGrouping.OWNER: "Unassigned",
    ForecastGrouping.CLASSIFICATION: "Unclassified",
    ForecastGrouping.PARENT: "Unclassified",
    ForecastGrouping.INDUSTRY: "No industry",
}


def _group_key(
    group_by: ForecastGrouping, key: int | str | None, label: str | None
) -> tuple[str, str]:
    if key is None:
        return "NONE", _NO_GROUP[group_by]
    if group_by is ForecastGrouping.OWNER:
        return to_global_id("User", int(key)), label or ""
    if group_by is ForecastGrouping.PARENT:
        return to_global_id("Account", int(key)), label or ""
    return str(key), str(label)


@strawberry.type
class ClassificationSuggestion:
    revenue_last_12_months: Decimal
    cumulative_share_before: float = strawberry.field(
        description="Share of total revenue held by the accounts ranked above this one."
    )
    suggested: Classification
    account_pk: strawberry.Private[int]

    @classmethod
    def from_result(cls, found: segments.Suggestion) -> Self:
        return cls(
            revenue_last_12_months=cents(found.revenue_last_12_months),
            cumulative_share_before=float(found.cumulative_share_before),
            suggested=found.suggested,
            account_pk=found.account_id,
        )

    @strawberry.field
    async def account(self, info: Info) -> AccountRef:
        return await required_account(info, self.account_pk)
