"""Planning mutations: plans, their items and applied classifications."""

from __future__ import annotations

from typing import Any

import strawberry

from app.models import planning as models
from app.planning import edits, items, segments, service
from schema import permissions
from schema.context import Info
from schema.planning.inputs import (
    ActionPayload,
    AddActionItemInput,
    AddPlanGoalInput,
    AddWhiteSpaceInput,
    ApplyClassificationInput,
    ApplyClassificationPayload,
    CompleteActionItemInput,
    CreatePlanInput,
    GoalPayload,
    PlanPayload,
    RecordReviewInput,
    RemovePlanItemInput,
    RemovePlanItemPayload,
    SetPlanStatusInput,
    UpdateActionItemInput,
    UpdatePlanGoalInput,
    UpdatePlanInput,
    UpdateWhiteSpaceInput,
    WhiteSpacePayload,
)
from schema.planning.types import AccountPlan, ActionItem, PlanGoal, WhiteSpace
from schema.relay import decode_id, decode_optional

TERMS = (
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


def _terms(input: CreatePlanInput | UpdatePlanInput) -> dict[str, Any]:
    found = {name: getattr(input, name) for name in TERMS}
    for name in ("owner_id", "executive_sponsor_id"):
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            field = "ownerId" if name == "owner_id" else "executiveSponsorId"
            found[name] = decode_optional(value, "User", field=field)
    return {k: v for k, v in found.items() if v is not strawberry.UNSET}


async def _plan_scope(info: Info, plan_global_id: str, *, field: str) -> int:
    """Decode a plan id; NOT_FOUND when there is no such plan (the REP scope is authz's)."""
    plan_id = decode_id(plan_global_id, "AccountPlan", field=field)
    await service.plan_account_id(info.context.session, plan_id, field=field)
    return plan_id


def _sent(input: object, *names: str) -> dict[str, Any]:
    """The input's fields the client sent (null included), by their Python names."""
    found = {name: getattr(input, name) for name in names}
    return {name: value for name, value in found.items() if value is not strawberry.UNSET}


async def _remove(
    info: Info, input: RemovePlanItemInput, model: Any, type_name: str
) -> strawberry.ID:
    item_id = decode_id(input.id, type_name)
    actor = info.context.actor
    await edits.remove_item(info.context.session, actor=actor, model=model, item_id=item_id)
    return input.id


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def create_plan(self, info: Info, input: CreatePlanInput) -> PlanPayload:
        account_id = decode_id(input.account_id, "Account", field="accountId")
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
        await items.action_account_id(info.context.session, action_id)
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

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def update_plan_goal(self, info: Info, input: UpdatePlanGoalInput) -> GoalPayload:
        goal_id = decode_id(input.id, "PlanGoal")
        fields = _sent(input, *edits.GOAL_FIELDS)
        row = await edits.update_goal(
            info.context.session, actor=info.context.actor, goal_id=goal_id, **fields
        )
        return GoalPayload(goal=PlanGoal.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def remove_plan_goal(
        self, info: Info, input: RemovePlanItemInput
    ) -> RemovePlanItemPayload:
        removed = await _remove(info, input, models.PlanGoal, "PlanGoal")
        return RemovePlanItemPayload(removed_id=removed)

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def update_action_item(self, info: Info, input: UpdateActionItemInput) -> ActionPayload:
        action_id = decode_id(input.id, "ActionItem")
        fields = _sent(input, *edits.ACTION_FIELDS)
        if "owner_id" in fields:
            fields["owner_id"] = decode_optional(fields["owner_id"], "User", field="ownerId")
        row = await edits.update_action(
            info.context.session, actor=info.context.actor, action_id=action_id, **fields
        )
        return ActionPayload(action=ActionItem.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def remove_action_item(
        self, info: Info, input: RemovePlanItemInput
    ) -> RemovePlanItemPayload:
        removed = await _remove(info, input, models.PlanAction, "ActionItem")
        return RemovePlanItemPayload(removed_id=removed)

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def update_white_space(
        self, info: Info, input: UpdateWhiteSpaceInput
    ) -> WhiteSpacePayload:
        item_id = decode_id(input.id, "WhiteSpace")
        fields = _sent(input, *edits.WHITE_SPACE_FIELDS)
        row = await edits.update_white_space(
            info.context.session, actor=info.context.actor, white_space_id=item_id, **fields
        )
        return WhiteSpacePayload(white_space=WhiteSpace.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def remove_white_space(
        self, info: Info, input: RemovePlanItemInput
    ) -> RemovePlanItemPayload:
        removed = await _remove(info, input, models.WhiteSpace, "WhiteSpace")
        return RemovePlanItemPayload(removed_id=removed)

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
