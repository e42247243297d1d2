"""Revenue figures in SQL: plan figures, roll-ups and forecasts.

What counts as revenue, and over which periods, is app.planning.periods; the churn a plan
without its own rate assumes is app.planning.churn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.cursor import decode_cursor, encode_cursor
from app.models.accounts import Account
from app.models.activities import Activity
from app.models.auth import User
from app.models.planning import AccountPlan, AccountRevenueYear
from app.planning.churn import estimated_churn_rate
from app.planning.periods import (
    IS_REVENUE,
    TWELVE_MONTHS,
    active_on,
    custom_plans,
    last_12_months,
    utc_midnight,
)


class ForecastGrouping(StrEnum):
    OWNER = "OWNER"
    CLASSIFICATION = "CLASSIFICATION"
    PARENT = "PARENT"
    INDUSTRY = "INDUSTRY"


@dataclass(frozen=True, slots=True)
class PlanFigures:
    baseline_revenue: Decimal
    target_revenue: Decimal
    churn_rate: Decimal
    forecast_revenue: Decimal
    gap: Decimal


class ForecastRow(NamedTuple):
    """One group of a forecast; a tuple, since PARENT makes thousands."""

    key: int | str | None
    label: str | None
    accounts: int
    baseline_revenue: Decimal
    forecast_revenue: Decimal
    target_revenue: Decimal
    gap: Decimal


@dataclass(frozen=True, slots=True)
class Rollup:
    revenue_last_12_months: Decimal
    branch_count: int
    forecast_revenue: Decimal


# --- plan figures --------------------------------------------------------------------


def _baseline() -> ColumnElement[Decimal]:
    """A plan's baseline: its account's revenue in the 12 months before the plan starts."""
    plan = AccountPlan
    from_activities = (
        select(func.coalesce(func.sum(Activity.amount), 0))
        .where(
            Activity.account_id == plan.account_id,
            IS_REVENUE,
            Activity.occurred_at >= utc_midnight(plan.period_start - TWELVE_MONTHS),
            Activity.occurred_at < utc_midnight(plan.period_start),
        )
        .scalar_subquery()
    )
    # A plan starting on 1 January has the previous UTC calendar year as its baseline: one
    # row of the yearly sums instead of a year of activities. PostgreSQL runs only the
    # subquery of the branch taken.
    sums = AccountRevenueYear
    previous_year = (
        select(func.coalesce(func.sum(sums.revenue), 0))
        .where(
            sums.account_id == plan.account_id,
            sums.year == cast(func.extract("year", plan.period_start), Integer) - 1,
        )
        .scalar_subquery()
    )
    return case((func.extract("doy", plan.period_start) == 1, previous_year), else_=from_activities)


def plan_figures_query(where: Sequence[ColumnElement[bool]], *, today: date) -> Subquery:
    """Baseline, target, churn, forecast and gap of the plans matching `where`."""
    plan = AccountPlan
    churn = func.coalesce(plan.churn_rate, estimated_churn_rate(today=today))
    inner = (
        select(
            plan.id.label("plan_id"),
            plan.account_id,
            plan.owner_id,
            _baseline().label("baseline"),
            churn.label("churn"),
            plan.growth_target_pct,
            plan.price_change_pct,
            plan.planned_net_new,
        )
        .where(*where)
        # OFFSET 0 keeps PostgreSQL from inlining the baseline subquery into each figure.
        .offset(0)
        .subquery("plan_inputs")
    )
    target = func.round(inner.c.baseline * (1 + inner.c.growth_target_pct / 100), 2)
    forecast = func.round(
        inner.c.baseline * (1 - inner.c.churn) * (1 + inner.c.price_change_pct / 100)
        + inner.c.planned_net_new,
        2,
    )
    return select(
        inner.c.plan_id,
        inner.c.account_id,
        inner.c.owner_id,
        inner.c.baseline,
        inner.c.churn,
        target.label("target"),
        forecast.label("forecast"),
        (target - forecast).label("gap"),
    ).subquery("plan_figures")


async def plan_figures(session: AsyncSession, plan_ids: Sequence[int]) -> list[PlanFigures | None]:
    await custom_plans(session)
    figures = plan_figures_query([AccountPlan.id.in_(plan_ids)], today=utc_today())
    found = {
        row.plan_id: PlanFigures(row.baseline, row.target, row.churn, row.forecast, row.gap)
        for row in await session.execute(select(figures))
    }
    return [found.get(i) for i in plan_ids]


def utc_today() -> date:
    return datetime.now(UTC).date()


# --- forecast and roll-up ------------------------------------------------------------


async def forecast(
    session: AsyncSession,
    *,
    group_by: ForecastGrouping,
    period_start: date,
    first: int | None = None,
    after: str | None = None,
) -> list[ForecastRow]:
    """The groups in forecast order (largest first, then key); `first` after a cursor pages."""
    await custom_plans(session)
    figures = plan_figures_query(active_on(period_start), today=utc_today())
    key, source = _grouping(group_by, figures)
    # Summed per account first and then per group: counting accounts needs no DISTINCT
    # (a sort of every plan), and the sums are the same. Rounded here, so the sums arrive
    # as cents and need no quantising per field. Labels are joined to the groups kept.
    columns = ("baseline", "forecast", "target", "gap")
    per_account = (
        select(key.label("key"), *(func.sum(figures.c[c]).label(c) for c in columns))
        .select_from(source)
        .group_by(key, figures.c.account_id)
        .subquery("per_account")
    )
    grouped = per_account.c.key
    sums = [func.round(func.sum(per_account.c[c]), 2).label(c) for c in columns]
    groups = (
        select(grouped, func.count().label("accounts"), *sums)
        .group_by(grouped)
        .order_by(sums[1].desc(), grouped)
    )
    if after is not None:
        cursor = decode_cursor(after, (sums[1], grouped))
        groups = groups.having(_after(cursor, sums[1], grouped))
    if first is not None:
        groups = groups.limit(first)
    kept = groups.subquery("groups")
    label, labelled = _label(group_by, kept)
    query = (
        select(kept.c.key, label, kept.c.accounts, *(kept.c[c] for c in columns))
        .select_from(labelled)
        .order_by(kept.c.forecast.desc(), kept.c.key)
    )
    return list(map(ForecastRow._make, await session.execute(query)))


def forecast_cursor(row: ForecastRow) -> str:
    return encode_cursor((row.forecast_revenue, row.key))


def _after(
    cursor: tuple[Any, ...], total: ColumnElement[Any], key: ColumnElement[Any]
) -> ColumnElement[bool]:
    """Groups after (total, key) in the order total DESC, key ASC (no key last)."""
    value, last = cursor
    smaller: ColumnElement[bool] = total < value
    if last is None:
        return smaller
    return or_(smaller, and_(total == value, or_(key > last, key.is_(None))))


def _grouping(group_by: ForecastGrouping, figures: Subquery) -> tuple[Any, Any]:
    """(group key, source) of each plan's figures."""
    if group_by is ForecastGrouping.OWNER:
        return figures.c.owner_id, figures
    if group_by in (ForecastGrouping.CLASSIFICATION, ForecastGrouping.INDUSTRY):
        source = figures.join(Account, Account.id == figures.c.account_id)
        column = "classification" if group_by is ForecastGrouping.CLASSIFICATION else "industry"
        return Account.__table__.c[column], source
    tops = top_level(select(figures.c.account_id))
    return tops.c.top_id, figures.join(tops, tops.c.account_id == figures.c.account_id)


def _label(group_by: ForecastGrouping, groups: Subquery) -> tuple[Any, Any]:
    """(label, source): the name of each group's owner or top account, else the key."""
    if group_by is ForecastGrouping.OWNER:
        return User.name, groups.outerjoin(User, User.id == groups.c.key)
    if group_by is ForecastGrouping.PARENT:
        top = Account.__table__.alias("top")
        return top.c.name, groups.join(top, top.c.id == groups.c.key)
    return groups.c.key, groups


def top_level(account_ids: Select[Any]) -> Subquery:
    """(account_id, top_id): each account's top-level company, following parents up."""
    up = (
        select(Account.id.label("account_id"), Account.id, Account.parent_id)
        .where(Account.id.in_(account_ids))
        .cte("up", recursive=True)
    )
    parent = Account.__table__.alias("parent")
    # UNION, not UNION ALL: a row met again is dropped, so a parent cycle (which updates
    # guard against, but a bulk SQL fix could plant) ends the walk instead of looping.
    up = up.union(
        select(up.c.account_id, parent.c.id, parent.c.parent_id).join(
            parent, parent.c.id == up.c.parent_id
        )
    )
    return (
        select(up.c.account_id, up.c.id.label("top_id"))
        .where(up.c.parent_id.is_(None))
        .subquery("tops")
    )


def _branches(account_ids: Sequence[int]) -> CTE:
    """(root, id): each given account and its live branches, all the way down."""
    tree = (
        select(Account.id.label("root"), Account.id)
        .where(Account.id.in_(account_ids))
        .cte("tree", recursive=True)
    )
    branch = Account.__table__.alias("branch")
    return tree.union(  # UNION ends a parent cycle (see top_level)
        select(tree.c.root, branch.c.id).join(
            branch, and_(branch.c.parent_id == tree.c.id, branch.c.archived_at.is_(None))
        )
    )


async def rollups(session: AsyncSession, account_ids: Sequence[int]) -> list[Rollup]:
    await custom_plans(session)
    tree = _branches(account_ids)
    revenue = (
        select(tree.c.root, func.sum(Activity.amount).label("revenue"))
        .join(Activity, Activity.account_id == tree.c.id)
        .where(IS_REVENUE, last_12_months())
        .group_by(tree.c.root)
        .subquery()
    )
    today = utc_today()
    in_tree = AccountPlan.account_id.in_(select(tree.c.id))
    figures = plan_figures_query([*active_on(today), in_tree], today=today)
    planned = (
        select(tree.c.root, func.sum(figures.c.forecast).label("forecast"))
        .join(figures, figures.c.account_id == tree.c.id)
        .group_by(tree.c.root)
        .subquery()
    )
    branches = (
        select(tree.c.root, (func.count() - 1).label("branches")).group_by(tree.c.root).subquery()
    )
    query = (
        select(
            branches.c.root,
            func.coalesce(revenue.c.revenue, 0),
            branches.c.branches,
            func.coalesce(planned.c.forecast, 0),
        )
        .outerjoin(revenue, revenue.c.root == branches.c.root)
        .outerjoin(planned, planned.c.root == branches.c.root)
    )
    found = {row[0]: Rollup(*row[1:]) for row in await session.execute(query)}
    empty = Rollup(Decimal("0.00"), 0, Decimal("0.00"))
    return [found.get(i, empty) for i in account_ids]
