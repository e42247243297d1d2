"""Account plans and their goals, action items and white space."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.models import planning as models
from app.models.planning import (
    ActionStatus,
    GoalStatus,
    PlanStatus,
    WhiteSpaceKind,
    WhiteSpaceStatus,
)
from app.planning import figures, items, service
from app.planning.reviews import reviews_by_plan
from schema.context import Context, Info
from schema.relay import Node, register_node, to_global_id

if TYPE_CHECKING:
    from schema.accounts import Account
    from schema.users import User

for _enum in (PlanStatus, GoalStatus, ActionStatus, WhiteSpaceKind, WhiteSpaceStatus):
    strawberry.enum(_enum)

AccountRef = Annotated["Account", strawberry.lazy("schema.accounts")]
UserRef = Annotated["User", strawberry.lazy("schema.users")]
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


async def _user(info: Info, pk: int | None) -> User | None:
    from schema.users import load_user

    return await load_user(info.context, pk)


async def required_account(info: Info, pk: int) -> Account:
    from schema.accounts import load_account

    found = await load_account(info.context, pk)
    assert found is not None
    return found


@strawberry.type
class PlanGoal(Node):
    title: str
    metric: str | None
    target: Decimal | None
    due: date | None
    status: GoalStatus
    actual: Decimal | None = strawberry.field(description="Set with ACHIEVED or MISSED.")

    @classmethod
    def from_model(cls, row: models.PlanGoal) -> Self:
        return cls(
            id=to_global_id("PlanGoal", row.id),
            title=row.title,
            metric=row.metric,
            target=row.target,
            due=row.due,
            status=row.status,
            actual=row.actual,
        )


@strawberry.type
class ActionItem(Node):
    title: str
    due: date | None
    status: ActionStatus
    completed_at: datetime | None
    owner_pk: strawberry.Private[int | None]
    plan_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.PlanAction) -> Self:
        return cls(
            id=to_global_id("ActionItem", row.id),
            title=row.title,
            due=row.due,
            status=row.status,
            completed_at=row.completed_at,
            owner_pk=row.owner_id,
            plan_pk=row.plan_id,
        )

    @strawberry.field
    async def owner(self, info: Info) -> UserRef | None:
        return await _user(info, self.owner_pk)

    @strawberry.field
    async def plan(self, info: Info) -> AccountPlan:
        found = await load_plan(info.context, self.plan_pk)
        assert found is not None
        return found


@strawberry.type
class WhiteSpace(Node):
    kind: WhiteSpaceKind
    description: str
    estimated_value: Decimal | None
    status: WhiteSpaceStatus

    @classmethod
    def from_model(cls, row: models.WhiteSpace) -> Self:
        return cls(
            id=to_global_id("WhiteSpace", row.id),
            kind=row.kind,
            description=row.description,
            estimated_value=row.estimated_value,
            status=row.status,
        )


@strawberry.type(description="A review of a plan (recordReview): who, when, and the notes.")
class PlanReview:
    at: datetime
    notes: str | None
    reviewer_pk: strawberry.Private[int | None]

    @strawberry.field
    async def reviewer(self, info: Info) -> UserRef | None:
        return await _user(info, self.reviewer_pk)


@strawberry.type
class AccountPlan(Node):
    status: PlanStatus
    period_start: date
    period_end: date
    version: int
    growth_target_pct: Decimal
    planned_net_new: Decimal
    price_change_pct: Decimal
    satisfaction: int | None
    review_frequency_days: int | None
    last_reviewed_at: datetime | None
    next_review_at: datetime | None
    renewal_date: date | None
    challenges: str | None
    strategy: str | None
    pk: strawberry.Private[int]
    account_pk: strawberry.Private[int]
    owner_pk: strawberry.Private[int | None]
    sponsor_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.AccountPlan) -> Self:
        return cls(
            id=to_global_id("AccountPlan", row.id),
            pk=row.id,
            account_pk=row.account_id,
            owner_pk=row.owner_id,
            sponsor_pk=row.executive_sponsor_id,
            status=row.status,
            period_start=row.period_start,
            period_end=row.period_end,
            version=row.version,
            growth_target_pct=row.growth_target_pct,
            planned_net_new=row.planned_net_new,
            price_change_pct=row.price_change_pct,
            satisfaction=row.satisfaction,
            review_frequency_days=row.review_frequency_days,
            last_reviewed_at=row.last_reviewed_at,
            next_review_at=row.next_review_at,
            renewal_date=row.renewal_date,
            challenges=row.challenges,
            strategy=row.strategy,
        )

    async def _figures(self, info: Info) -> figures.PlanFigures:
        found = await info.context.loader(figures.plan_figures).load(self.pk)
        assert found is not None
        return found

    @strawberry.field(description="Revenue in the 12 months before periodStart.")
    async def baseline_revenue(self, info: Info) -> Decimal:
        return cents((await self._figures(info)).baseline_revenue)

    @strawberry.field(description="baseline * (1 + growthTargetPct / 100).")
    async def target_revenue(self, info: Info) -> Decimal:
        return cents((await self._figures(info)).target_revenue)

    @strawberry.field(description="The plan's own churn rate, else churnEstimate.byRevenue.")
    async def churn_rate(self, info: Info) -> float:
        return float((await self._figures(info)).churn_rate)

    @strawberry.field(
        description="baseline * (1 - churnRate) * (1 + priceChangePct / 100) + plannedNetNew."
    )
    async def forecast_revenue(self, info: Info) -> Decimal:
        return cents((await self._figures(info)).forecast_revenue)

    @strawberry.field(description="targetRevenue - forecastRevenue.")
    async def gap(self, info: Info) -> Decimal:
        return cents((await self._figures(info)).gap)

    @strawberry.field
    async def account(self, info: Info) -> AccountRef:
        return await required_account(info, self.account_pk)

    @strawberry.field
    async def owner(self, info: Info) -> UserRef | None:
        return await _user(info, self.owner_pk)

    @strawberry.field
    async def executive_sponsor(self, info: Info) -> UserRef | None:
        return await _user(info, self.sponsor_pk)

    @strawberry.field
    async def goals(self, info: Info) -> list[PlanGoal]:
        rows = await info.context.loader(items.goals_by_plan).load(self.pk)
        return [PlanGoal.from_model(r) for r in rows]

    @strawberry.field
    async def actions(self, info: Info) -> list[ActionItem]:
        rows = await info.context.loader(items.actions_by_plan).load(self.pk)
        return [ActionItem.from_model(r) for r in rows]

    @strawberry.field
    async def white_space(self, info: Info) -> list[WhiteSpace]:
        rows = await info.context.loader(items.white_space_by_plan).load(self.pk)
        return [WhiteSpace.from_model(r) for r in rows]

    @strawberry.field(description="The plan's reviews, newest first.")
    async def reviews(self, info: Info) -> list[PlanReview]:
        rows = await info.context.loader(reviews_by_plan).load(self.pk)
        return [PlanReview(at=r.at, notes=r.notes, reviewer_pk=r.reviewer_id) for r in rows]


async def load_plan(context: Context, pk: int) -> AccountPlan | None:
    row = await context.loader(service.plans_by_id).load(pk)
    return None if row is None else AccountPlan.from_model(row)


register_node("AccountPlan", "plan.read", load_plan)


async def load_goal(context: Context, pk: int) -> PlanGoal | None:
    row = await context.loader(items.goals_by_id).load(pk)
    return None if row is None else PlanGoal.from_model(row)


async def load_action(context: Context, pk: int) -> ActionItem | None:
    row = await context.loader(items.actions_by_id).load(pk)
    return None if row is None else ActionItem.from_model(row)


async def load_white_space(context: Context, pk: int) -> WhiteSpace | None:
    row = await context.loader(items.white_space_by_id).load(pk)
    return None if row is None else WhiteSpace.from_model(row)


register_node("PlanGoal", "plan.read", load_goal)
register_node("ActionItem", "plan.read", load_action)
register_node("WhiteSpace", "plan.read", load_white_space)
