"""Planning reports and the plans due for review or renewal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import strawberry
from sqlalchemy import Select

from app.kit.pagination import count, keyset_page
from app.models import planning as models
from app.models.planning import PlanStatus
from app.planning import churn, figures, listing, segments
from app.planning.figures import ForecastGrouping
from app.teams.visibility import account_filter
from schema import permissions, visibility
from schema.context import Info
from schema.planning.reports import ChurnEstimate, ClassificationSuggestion, ForecastRow
from schema.planning.types import AccountPlan
from schema.relay import Connection, connection, decode_optional, page_args


async def _plan_page(
    info: Info, query: Select[Any], order: Sequence[Any], first: int | None, after: str | None
) -> Connection[AccountPlan]:
    args = page_args(info, first, after)
    query = await visibility.scoped(info.context, query, models.AccountPlan.account_id)
    async with info.context.db() as session:
        page = await keyset_page(session, query, order=order, args=args)

    async def total() -> int:
        async with info.context.db() as session:
            return await count(session, query)

    return connection(page, AccountPlan.from_model, total)


@strawberry.input
class PlanFilter:
    status: list[PlanStatus] | None = None
    account_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = None
    period_includes: date | None = strawberry.field(
        default=None, description="Plans whose period (start to end, inclusive) holds the day."
    )

    def to_args(self) -> listing.PlanFilter:
        return listing.PlanFilter(
            status=self.status,
            account_id=decode_optional(self.account_id, "Account", field="filter.accountId"),
            owner_id=decode_optional(self.owner_id, "User", field="filter.ownerId"),
            period_includes=self.period_includes,
        )


@strawberry.type
class Query:
    @strawberry.field(description="Plans of the accounts the caller reads, newest period first.")
    @permissions.query("plan.read")
    async def plans(
        self,
        info: Info,
        filter: PlanFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AccountPlan]:
        args = page_args(info, first, after)
        wanted = filter.to_args() if filter else listing.PlanFilter()
        async with info.context.db() as session:
            visible = await account_filter(session, info.context.actor)
            query = listing.plans_query(wanted, visible)
            page = await keyset_page(
                session, query, order=listing.PLAN_ORDER, args=args, descending=True
            )

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, AccountPlan.from_model, total)

    @strawberry.field
    @permissions.query("report.read")
    async def churn_estimate(self, info: Info, years: int | None = 3) -> ChurnEstimate:
        years = churn.check_years(years)
        async with info.context.reports() as session:
            found = await churn.churn_estimate(session, years=years, today=figures.utc_today())
        return ChurnEstimate.from_result(found)

    @strawberry.field(
        description="Active plans covering periodStart, summed per group, largest forecast"
        " first. Every group without `first`; with it, that many after the `after` cursor"
        " (a row's `cursor`): fewer than `first` means the last page."
    )
    @permissions.query("report.read")
    async def forecast(
        self,
        info: Info,
        group_by: ForecastGrouping,
        period_start: date,
        first: int | None = None,
        after: str | None = None,
    ) -> list[ForecastRow]:
        if first is not None or after is not None:
            args = page_args(info, first, after)
            first, after = args.first, args.after
        async with info.context.reports() as session:
            rows = await figures.forecast(
                session, group_by=group_by, period_start=period_start, first=first, after=after
            )
        return [ForecastRow.from_row(group_by, row) for row in rows]

    @strawberry.field(description="Accounts ranked by revenue in the last 12 months.")
    @permissions.query("report.read")
    async def classification_suggestions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        a_cutoff: float = 0.5,
        b_cutoff: float = 0.8,
        c_cutoff: float = 0.95,
    ) -> Connection[ClassificationSuggestion]:
        args = page_args(info, first, after)
        cutoffs = segments.Cutoffs(a_cutoff, b_cutoff, c_cutoff).check()
        async with info.context.reports() as session:
            page = await segments.suggestion_page(session, cutoffs=cutoffs, args=args)

        async def total() -> int:
            async with info.context.reports() as session:
                return await segments.count_live_accounts(session)

        return connection(page, ClassificationSuggestion.from_result, total)

    @strawberry.field(
        description="Open plans whose next review is due within the days, soonest first."
    )
    @permissions.query("plan.read")
    async def plans_due_for_review(
        self, info: Info, within_days: int = 7, first: int | None = None, after: str | None = None
    ) -> Connection[AccountPlan]:
        query = segments.reviews_due_query(within_days)
        order = (models.AccountPlan.next_review_at, models.AccountPlan.id)
        return await _plan_page(info, query, order, first, after)

    @strawberry.field(description="Open plans renewing within the days, soonest first.")
    @permissions.query("plan.read")
    async def renewals_due(
        self, info: Info, within_days: int = 90, first: int | None = None, after: str | None = None
    ) -> Connection[AccountPlan]:
        query = segments.renewals_due_query(within_days)
        order = (models.AccountPlan.renewal_date, models.AccountPlan.id)
        return await _plan_page(info, query, order, first, after)
