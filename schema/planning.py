"""Account plans, forecasts and segmentation; the planning fields of Account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from graphql import GraphQLError
from sqlalchemy import Select

from app.accounts.models import BuyingRole
from app.pagination import count, keyset_page
from app.planning import figures, items, models, segments, service
from app.planning.figures import ForecastGrouping
from app.planning.models import (
    ActionStatus,
    GoalStatus,
    PlanStatus,
    WhiteSpaceKind,
    WhiteSpaceStatus,
)
from schema import permissions
from schema.context import Context, Info
from schema.enums import Classification
from schema.errors import UserError
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    decode_optional,
    page_args,
    register_node,
    to_global_id,
)

if TYPE_CHECKING:
    from schema.accounts import Account, Contact
    from schema.users import User

for _enum in (PlanStatus, GoalStatus, ActionStatus, WhiteSpaceKind, WhiteSpaceStatus):
    strawberry.enum(_enum)
strawberry.enum(ForecastGrouping)

AccountRef = Annotated["Account", strawberry.lazy("schema.accounts")]
ContactRef = Annotated["Contact", strawberry.lazy("schema.accounts")]
UserRef = Annotated["User", strawberry.lazy("schema.users")]
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


def rate(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def _user(info: Info, pk: int | None) -> User | None:
    from schema.users import load_user

    return await load_user(info.context, pk)


async def _account(info: Info, pk: int) -> Account:
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

    @classmethod
    def from_model(cls, row: models.PlanGoal) -> Self:
        return cls(
            id=to_global_id("PlanGoal", row.id),
            title=row.title,
            metric=row.metric,
            target=row.target,
            due=row.due,
            status=row.status,
        )


@strawberry.type
class ActionItem(Node):
    title: str
    due: date | None
    status: ActionStatus
    completed_at: datetime | None
    owner_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.PlanAction) -> Self:
        return cls(
            id=to_global_id("ActionItem", row.id),
            title=row.title,
            due=row.due,
            status=row.status,
            completed_at=row.completed_at,
            owner_pk=row.owner_id,
        )

    @strawberry.field
    async def owner(self, info: Info) -> UserRef | None:
        return await _user(info, self.owner_pk)


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
        return await _account(info, self.account_pk)

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


async def load_plan(context: Context, pk: int) -> AccountPlan | None:
    row = await context.loader(service.plans_by_id).load(pk)
    return None if row is None else AccountPlan.from_model(row)


register_node("AccountPlan", "plan.read", load_plan)


@strawberry.type
class ContactMap:
    decision_makers: list[ContactRef]
    influencers: list[ContactRef]
    coaches: list[ContactRef]
    champions: list[ContactRef]
    users: list[ContactRef]
    blockers: list[ContactRef]
    gaps: list[BuyingRole] = strawberry.field(
        description="Which of DECISION_MAKER, INFLUENCER and COACH have no contact."
    )


@strawberry.type
class AccountRollup:
    revenue_last_12_months: Decimal
    branch_count: int
    forecast_revenue: Decimal


def _require_plan_read(info: Info) -> None:
    # Account is readable by integrations; its plans and forecasts are not.
    if not permissions.allowed(info.context, "plan.read"):
        raise GraphQLError(permissions.FORBIDDEN_MESSAGE, extensions={"code": "FORBIDDEN"})


@strawberry.type
class AccountPlanningFields:
    pk: strawberry.Private[int]

    @strawberry.field
    async def plans(self, info: Info) -> list[AccountPlan]:
        _require_plan_read(info)
        rows = await info.context.loader(service.plans_by_account).load(self.pk)
        return [AccountPlan.from_model(r) for r in rows]

    @strawberry.field(description="Contacts by buying role; branches' too when asked.")
    async def contact_map(self, info: Info, include_branches: bool = False) -> ContactMap:
        from schema.accounts import Contact

        found = await info.context.loader(segments.contact_maps).load((self.pk, include_branches))

        def role(r: BuyingRole) -> list[Contact]:
            return [Contact.from_model(c) for c in found.get(r, [])]

        return ContactMap(
            decision_makers=role(BuyingRole.DECISION_MAKER),
            influencers=role(BuyingRole.INFLUENCER),
            coaches=role(BuyingRole.COACH),
            champions=role(BuyingRole.CHAMPION),
            users=role(BuyingRole.USER),
            blockers=role(BuyingRole.BLOCKER),
            gaps=[r for r in segments.KEY_ROLES if not found.get(r)],
        )

    @strawberry.field(description="The account with all its branches, recursively.")
    async def rollup(self, info: Info) -> AccountRollup:
        _require_plan_read(info)
        found = await info.context.loader(figures.rollups).load(self.pk)
        return AccountRollup(
            revenue_last_12_months=cents(found.revenue_last_12_months),
            branch_count=found.branch_count,
            forecast_revenue=cents(found.forecast_revenue),
        )


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
    def from_result(cls, found: figures.ChurnEstimate) -> Self:
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

    @classmethod
    def from_row(cls, group_by: ForecastGrouping, row: figures.ForecastRow) -> Self:
        key, label = _group_key(group_by, row.key, row.label)
        return cls(
            key=key,
            label=label,
            accounts=row.accounts,
            baseline_revenue=cents(row.baseline_revenue),
            forecast_revenue=cents(row.forecast_revenue),
            target_revenue=cents(row.target_revenue),
            gap=cents(row.gap),
        )


def _group_key(
    group_by: ForecastGrouping, key: int | str | None, label: str | None
) -> tuple[str, str]:
    if key is None:
        return "NONE", "Unassigned" if group_by is ForecastGrouping.OWNER else "Unclassified"
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
        return await _account(info, self.account_pk)


@strawberry.input
class CreatePlanInput:
    account_id: strawberry.ID
    period_start: date
    period_end: date
    growth_target_pct: Decimal
    owner_id: strawberry.ID | None = None
    executive_sponsor_id: strawberry.ID | None = None
    planned_net_new: Decimal | None = None
    price_change_pct: Decimal | None = None
    churn_rate: float | None = None
    satisfaction: int | None = None
    review_frequency_days: int | None = None
    renewal_date: date | None = None


@strawberry.input
class UpdatePlanInput:
    id: strawberry.ID
    expected_version: int | None = None
    growth_target_pct: Decimal | None = strawberry.UNSET
    planned_net_new: Decimal | None = strawberry.UNSET
    price_change_pct: Decimal | None = strawberry.UNSET
    churn_rate: float | None = strawberry.UNSET
    satisfaction: int | None = strawberry.UNSET
    review_frequency_days: int | None = strawberry.UNSET
    renewal_date: date | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    executive_sponsor_id: strawberry.ID | None = strawberry.UNSET


TERMS = (
    "growth_target_pct",
    "planned_net_new",
    "price_change_pct",
    "churn_rate",
    "satisfaction",
    "review_frequency_days",
    "renewal_date",
)


def _terms(input: CreatePlanInput | UpdatePlanInput) -> dict[str, Any]:
    found = {name: getattr(input, name) for name in TERMS}
    for name in ("owner_id", "executive_sponsor_id"):
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            field = "ownerId" if name == "owner_id" else "executiveSponsorId"
            found[name] = decode_optional(value, "User", field=field)
    return {k: v for k, v in found.items() if v is not strawberry.UNSET}


@strawberry.input
class SetPlanStatusInput:
    id: strawberry.ID
    status: PlanStatus


@strawberry.input
class AddPlanGoalInput:
    plan_id: strawberry.ID
    title: str
    metric: str | None = None
    target: Decimal | None = None
    due: date | None = None


@strawberry.input
class AddActionItemInput:
    plan_id: strawberry.ID
    title: str
    owner_id: strawberry.ID | None = None
    due: date | None = None


@strawberry.input
class CompleteActionItemInput:
    id: strawberry.ID


@strawberry.input
class AddWhiteSpaceInput:
    plan_id: strawberry.ID
    kind: WhiteSpaceKind
    description: str
    estimated_value: Decimal | None = None


@strawberry.input
class RecordReviewInput:
    plan_id: strawberry.ID
    notes: str | None = None


@strawberry.input
class ApplyClassificationInput:
    account_ids: list[strawberry.ID] | None = None
    dry_run: bool | None = None
    a_cutoff: float = 0.5
    b_cutoff: float = 0.8
    c_cutoff: float = 0.95


@strawberry.type
class PlanPayload:
    plan: AccountPlan | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class GoalPayload:
    goal: PlanGoal | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ActionPayload:
    action: ActionItem | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WhiteSpacePayload:
    white_space: WhiteSpace | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApplyClassificationPayload:
    changed_count: int = 0
    dry_run: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _plan_page(
    info: Info, query: Select[Any], order: Sequence[Any], first: int | None, after: str | None
) -> Connection[AccountPlan]:
    args = page_args(info, first, after)
    async with info.context.db() as session:
        page = await keyset_page(session, query, order=order, args=args)

    async def total() -> int:
        async with info.context.db() as session:
            return await count(session, query)

    return connection(page, AccountPlan.from_model, total)


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("report.read")
    async def churn_estimate(self, info: Info, years: int | None = 3) -> ChurnEstimate:
        years = figures.check_years(years)
        async with info.context.db() as session:
            found = await figures.churn_estimate(session, years=years, today=figures.utc_today())
        return ChurnEstimate.from_result(found)

    @strawberry.field(description="Active plans covering periodStart, summed per group.")
    @permissions.query("report.read")
    async def forecast(
        self, info: Info, group_by: ForecastGrouping, period_start: date
    ) -> list[ForecastRow]:
        async with info.context.db() as session:
            rows = await figures.forecast(session, group_by=group_by, period_start=period_start)
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
        async with info.context.db() as session:
            page = await segments.suggestion_page(session, cutoffs=cutoffs, args=args)

        async def total() -> int:
            async with info.context.db() as session:
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


async def _plan_scope(info: Info, plan_global_id: str, *, field: str) -> int:
    """Decode a plan id and apply the REP write scope to its account."""
    plan_id = decode_id(plan_global_id, "AccountPlan", field=field)
    account_id = await service.plan_account_id(info.context.session, plan_id, field=field)
    await permissions.require_account(info.context, account_id)
    return plan_id


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def create_plan(self, info: Info, input: CreatePlanInput) -> PlanPayload:
        account_id = decode_id(input.account_id, "Account", field="accountId")
        await permissions.require_account(info.context, account_id)
        row = await service.create_plan(
            info.context.session,
            actor=info.context.actor,
            account_id=account_id,
            period_start=input.period_start,
            period_end=input.period_end,
            **_terms(input),
        )
        return PlanPayload(plan=AccountPlan.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def update_plan(self, info: Info, input: UpdatePlanInput) -> PlanPayload:
        plan_id = await _plan_scope(info, input.id, field="id")
        row = await service.update_plan(
            info.context.session,
            actor=info.context.actor,
            plan_id=plan_id,
            expected_version=input.expected_version,
            **_terms(input),
        )
        return PlanPayload(plan=AccountPlan.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def set_plan_status(self, info: Info, input: SetPlanStatusInput) -> PlanPayload:
        plan_id = await _plan_scope(info, input.id, field="id")
        row = await service.set_plan_status(
            info.context.session, actor=info.context.actor, plan_id=plan_id, status=input.status
        )
        return PlanPayload(plan=AccountPlan.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def record_review(self, info: Info, input: RecordReviewInput) -> PlanPayload:
        plan_id = await _plan_scope(info, input.plan_id, field="planId")
        row = await service.record_review(
            info.context.session, actor=info.context.actor, plan_id=plan_id, notes=input.notes
        )
        return PlanPayload(plan=AccountPlan.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def add_plan_goal(self, info: Info, input: AddPlanGoalInput) -> GoalPayload:
        plan_id = await _plan_scope(info, input.plan_id, field="planId")
        row = await items.add_goal(
            info.context.session,
            actor=info.context.actor,
            plan_id=plan_id,
            title=input.title,
            metric=input.metric,
            target=input.target,
            due=input.due,
        )
        return GoalPayload(goal=PlanGoal.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def add_action_item(self, info: Info, input: AddActionItemInput) -> ActionPayload:
        plan_id = await _plan_scope(info, input.plan_id, field="planId")
        row = await items.add_action(
            info.context.session,
            actor=info.context.actor,
            plan_id=plan_id,
            title=input.title,
            owner_id=decode_optional(input.owner_id, "User", field="ownerId"),
            due=input.due,
        )
        return ActionPayload(action=ActionItem.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def complete_action_item(
        self, info: Info, input: CompleteActionItemInput
    ) -> ActionPayload:
        action_id = decode_id(input.id, "ActionItem")
        account_id = await items.action_account_id(info.context.session, action_id)
        await permissions.require_account(info.context, account_id)
        row = await items.complete_action(
            info.context.session, actor=info.context.actor, action_id=action_id
        )
        return ActionPayload(action=ActionItem.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def add_white_space(self, info: Info, input: AddWhiteSpaceInput) -> WhiteSpacePayload:
        plan_id = await _plan_scope(info, input.plan_id, field="planId")
        row = await items.add_white_space(
            info.context.session,
            actor=info.context.actor,
            plan_id=plan_id,
            kind=input.kind,
            description=input.description,
            estimated_value=input.estimated_value,
        )
        return WhiteSpacePayload(white_space=WhiteSpace.from_model(row))

    @strawberry.mutation(description="Set classifications to the suggestions, all or nothing.")
    @permissions.mutation("classification.apply")
    async def apply_classification(
        self, info: Info, input: ApplyClassificationInput
    ) -> ApplyClassificationPayload:
        ids = input.account_ids
        account_ids = (
            None if ids is None else [decode_id(i, "Account", field="accountIds") for i in ids]
        )
        cutoffs = segments.Cutoffs(input.a_cutoff, input.b_cutoff, input.c_cutoff).check()
        changed = await segments.apply_classification(
            info.context.session,
            actor=info.context.actor,
            account_ids=account_ids,
            dry_run=bool(input.dry_run),
            cutoffs=cutoffs,
        )
        return ApplyClassificationPayload(changed_count=changed, dry_run=bool(input.dry_run))
