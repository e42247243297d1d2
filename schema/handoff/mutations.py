"""Handoff mutations: define pipelines, enter them, move accounts and accept handoffs."""

from __future__ import annotations

import strawberry

from app.handoff import errors as handoff_errors
from app.handoff import service
from schema import permissions
from schema.context import Info
from schema.errors import to_user_errors
from schema.handoff.inputs import (
    AcceptHandoffInput,
    AcceptPayload,
    DefinePipelineInput,
    EnterPipelineInput,
    EntryPayload,
    PipelinePayload,
    TransitionAccountInput,
    TransitionPayload,
)
from schema.handoff.types import DEFAULT, Pipeline, PipelineEntry, StageEvent
from schema.relay import decode_id, decode_optional


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("pipeline.define")
    async def define_pipeline(self, info: Info, input: DefinePipelineInput) -> PipelinePayload:
        row = await service.define_pipeline(
            info.context.session,
            actor=info.context.actor,
            key=input.key,
            name=input.name,
            stages=[stage.to_def() for stage in input.stages],
            transitions=[transition.to_def() for transition in input.transitions],
            is_default=input.is_default,
        )
        return PipelinePayload(pipeline=Pipeline.from_model(row))

    @strawberry.mutation
    @permissions.mutation("pipeline.enter")
    async def enter_pipeline(self, info: Info, input: EnterPipelineInput) -> EntryPayload:
        account_id = decode_id(input.account_id, "Account", field="accountId")
        row = await service.enter_pipeline(
            info.context.session,
            actor=info.context.actor,
            account_id=account_id,
            pipeline_key=input.pipeline or DEFAULT,
            owner_id=decode_optional(input.owner_id, "User", field="ownerId"),
        )
        return EntryPayload(entry=PipelineEntry.from_model(row))

    @strawberry.mutation
    @permissions.mutation("pipeline.move")
    async def transition_account(
        self, info: Info, input: TransitionAccountInput
    ) -> TransitionPayload:
        move = service.MoveInput(
            trigger=input.trigger,
            reason=input.reason,
            benefit=input.benefit,
            to_owner_id=decode_optional(input.to_owner_id, "User", field="toOwnerId"),
            note=input.note,
        )
        try:
            done = await service.transition_account(
                info.context.session,
                actor=info.context.actor,
                account_id=decode_id(input.account_id, "Account", field="accountId"),
                pipeline_key=input.pipeline or DEFAULT,
                move=move,
            )
        except handoff_errors.GateBlockedError as blocked:
            # Returned, not raised: the guard then commits the recorded attempt, the only write.
            return TransitionPayload(errors=to_user_errors(blocked))
        return TransitionPayload(
            entry=PipelineEntry.from_model(done.entry), event=StageEvent.from_model(done.event)
        )

    @strawberry.mutation
    @permissions.mutation("handoff.accept")
    async def accept_handoff(self, info: Info, input: AcceptHandoffInput) -> AcceptPayload:
        row = await service.accept_handoff(
            info.context.session,
            actor=info.context.actor,
            event_id=decode_id(input.event_id, "StageEvent", field="eventId"),
            next_step=input.next_step,
            next_step_due=input.next_step_due,
        )
        return AcceptPayload(event=StageEvent.from_model(row))
