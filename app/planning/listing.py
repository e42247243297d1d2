"""The plans list: its filter and order, over the plans of the accounts the caller reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, select

from app.models.accounts import Account
from app.models.planning import AccountPlan, PlanStatus

# Newest period first (the paginator runs it descending).
PLAN_ORDER = (AccountPlan.period_start, AccountPlan.id)


@dataclass(frozen=True, slots=True)
class PlanFilter:
    status: list[PlanStatus] | None = None
    account_id: int | None = None
    owner_id: int | None = None
    period_includes: date | None = None


def plans_query(filter: PlanFilter, visible: ColumnElement[bool] | None) -> Select[AccountPlan]:
    """Plans matching `filter` on accounts meeting `visible` (app.teams.visibility)."""
    query = select(AccountPlan)
    if visible is not None:
        query = query.where(AccountPlan.account_id.in_(select(Account.id).where(visible)))
    if filter.status:
        query = query.where(AccountPlan.status.in_(filter.status))
    if filter.account_id is not None:
        query = query.where(AccountPlan.account_id == filter.account_id)
    if filter.owner_id is not None:
        query = query.where(AccountPlan.owner_id == filter.owner_id)
    if filter.period_includes is not None:
        day = filter.period_includes
        query = query.where(AccountPlan.period_start <= day, AccountPlan.period_end >= day)
    return query
