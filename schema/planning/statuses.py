"""Closing plan items (goal, action, white space statuses) and the action items list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from app.kit.pagination import count, keyset_page
from app.models.planning import (
    ActionStatus,
    GoalStatus,
    PlanAction,
    WhiteSpaceStatus,
)
from app.models.planning import (
    PlanGoal as GoalRow,
)
from app.models.planning import (
    WhiteSpace as WhiteSpaceRow,
)
from app.planning import statuses
from schema import permissions, visibility
from schema.context import Info
from schema.planning.inputs import ActionPayload, GoalPayload, WhiteSpacePayload
from schema.planning.types import ActionItem, PlanGoal, WhiteSpace
from schema.relay import Connection, connection, decode_id, decode_optional, page_args


@strawberry.input
class SetGoalStatusInput:
    id: strawberry.ID
    status: GoalStatus
    actual: Decimal | None = None


@strawberry.input
class CancelActionItemInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input
class SetWhiteSpaceStatusInput:
    id: strawberry.ID
    status: WhiteSpaceStatus


@strawberry.input
class ActionItemFilter:
    owner_id: strawberry.ID | None = None
    status: list[ActionStatus] | None = None
    due_before: date | None = strawberry.field(default=None, description="Exclusive.")

    def to_args(self) -> statuses.ActionFilter:
        return statuses.ActionFilter(
            owner_id=decode_optional(self.owner_id, "User", field="filter.ownerId"),
            status=self.status,
            due_before=self.due_before,
        )


async def _scope(info: Info, model: type[GoalRow | PlanAction | WhiteSpaceRow], pk: int) -> None:
    await statuses.item_account_id(info.context.session, model, pk)


@strawberry.type
class Query:
    @strawberry.field(description="Action items, soonest due first (undated last).")
    @permissions.query("plan.read")
    async def action_items(
        self,
        info: Info,
        filter: ActionItemFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ActionItem]:
        args = page_args(info, first, after)
        query = statuses.actions_query(filter.to_args() if filter else statuses.ActionFilter())
        query = await visibility.scoped(info.context, query, PlanAction.account_id)
        async with info.context.db() as session:
            page = await keyset_page(session, query, order=statuses.ACTION_ORDER, args=args)

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, ActionItem.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def set_goal_status(self, info: Info, input: SetGoalStatusInput) -> GoalPayload:
        goal_id = decode_id(input.id, "PlanGoal")
        await _scope(info, GoalRow, goal_id)
        row = await statuses.set_goal_status(
            info.context.session,
            actor=info.context.actor,
            goal_id=goal_id,
            status=input.status,
            actual=input.actual,
        )
        return GoalPayload(goal=PlanGoal.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def cancel_action_item(self, info: Info, input: CancelActionItemInput) -> ActionPayload:
        action_id = decode_id(input.id, "ActionItem")
        await _scope(info, PlanAction, action_id)
        row = await statuses.cancel_action(
            info.context.session, actor=info.context.actor, action_id=action_id, reason=input.reason
        )
        return ActionPayload(action=ActionItem.from_model(row))

    @strawberry.mutation
    @permissions.mutation("plan.write")
    async def set_white_space_status(
        self, info: Info, input: SetWhiteSpaceStatusInput
    ) -> WhiteSpacePayload:
        item_id = decode_id(input.id, "WhiteSpace")
        await _scope(info, WhiteSpaceRow, item_id)
        row = await statuses.set_white_space_status(
            info.context.session,
            actor=info.context.actor,
            white_space_id=item_id,
            status=input.status,
        )
        return WhiteSpacePayload(white_space=WhiteSpace.from_model(row))
