"""Planning mutation inputs and payloads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from app.models.planning import PlanStatus, WhiteSpaceKind
from schema.errors import UserError
from schema.planning.types import AccountPlan, ActionItem, PlanGoal, WhiteSpace


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
    challenges: str | None = None
    strategy: str | None = None


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
    challenges: str | None = strawberry.UNSET
    strategy: str | None = strawberry.UNSET


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


@strawberry.input(description="Fields left out keep their values; null clears one.")
class UpdatePlanGoalInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    metric: str | None = strawberry.UNSET
    target: Decimal | None = strawberry.UNSET
    due: date | None = strawberry.UNSET


@strawberry.input(description="Fields left out keep their values; null clears one.")
class UpdateActionItemInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    due: date | None = strawberry.UNSET


@strawberry.input(description="Fields left out keep their values; null clears one.")
class UpdateWhiteSpaceInput:
    id: strawberry.ID
    kind: WhiteSpaceKind | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    estimated_value: Decimal | None = strawberry.UNSET


@strawberry.input
class RemovePlanItemInput:
    id: strawberry.ID


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
class RemovePlanItemPayload:
    removed_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApplyClassificationPayload:
    changed_count: int = 0
    dry_run: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
