"""Pipelines and handoffs: definitions, entries, moves, stage history and reports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.handoff import errors as handoff_errors
from app.handoff import models, queries, reports, service
from app.handoff.definition import StageDef, StageKind, TransitionDef
from app.pagination import count, keyset_page
from schema import permissions
from schema.context import Context, Info
from schema.errors import UserError, register_error, to_user_errors
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
    from schema.accounts import Account
    from schema.users import User

UserRef = Annotated["User", strawberry.lazy("schema.users")]
AccountRef = Annotated["Account", strawberry.lazy("schema.accounts")]
DEFAULT = "default"

strawberry.enum(StageKind)


async def _user(context: Context, pk: int | None) -> User | None:
    from schema.users import load_user

    return await load_user(context, pk)


@strawberry.type
class Stage:
    key: str
    name: str
    kind: StageKind
    necessary: list[str]
    recommended: list[str]


@strawberry.type
class Transition:
    trigger: str
    sources: list[str]
    dest: str
    handoff: bool


@strawberry.type
class Pipeline:
    key: str
    name: str
    is_default: bool
    stages: list[Stage]
    transitions: list[Transition]

    @classmethod
    def from_model(cls, row: models.Pipeline) -> Self:
        return cls(
            key=row.key,
            name=row.name,
            is_default=row.is_default,
            stages=[
                Stage(
                    key=s["key"],
                    name=s["name"],
                    kind=StageKind(s["kind"]),
                    necessary=s["necessary"],
                    recommended=s["recommended"],
                )
                for s in row.stages
            ],
            transitions=[
                Transition(
                    trigger=t["trigger"], sources=t["sources"], dest=t["dest"], handoff=t["handoff"]
                )
                for t in row.transitions
            ],
        )


async def _pipeline(context: Context, pk: int) -> Pipeline:
    row = await context.loader(queries.pipelines_by_id).load(pk)
    assert row is not None
    return Pipeline.from_model(row)


@strawberry.type
class PipelineEntry:
    stage: str
    entered_at: datetime
    seconds_in_stage: float
    owner_pk: strawberry.Private[int | None]
    pipeline_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.PipelineEntry) -> Self:
        return cls(
            stage=row.stage,
            entered_at=row.entered_at,
            seconds_in_stage=max(0.0, (datetime.now(UTC) - row.entered_at).total_seconds()),
            owner_pk=row.owner_id,
            pipeline_pk=row.pipeline_id,
        )

    @strawberry.field
    async def owner(self, info: Info) -> UserRef | None:
        return await _user(info.context, self.owner_pk)

    @strawberry.field
    async def pipeline(self, info: Info) -> Pipeline:
        return await _pipeline(info.context, self.pipeline_pk)


@strawberry.type
class StageEvent(Node):
    from_stage: str | None
    to_stage: str
    trigger: str
    occurred_at: datetime
    handoff: bool
    reason: str | None
    benefit: str | None
    note: str | None
    missing_recommended: list[str]
    seconds_in_previous_stage: float | None
    touches_in_previous_stage: int | None = strawberry.field(
        description="Activities dated inside the stay this event ended, counted when it ended."
    )
    accepted_at: datetime | None
    next_step: str | None
    next_step_due: datetime | None
    row: strawberry.Private[models.StageEvent]

    @classmethod
    def from_model(cls, row: models.StageEvent) -> Self:
        return cls(
            id=to_global_id("StageEvent", row.id),
            from_stage=row.from_stage,
            to_stage=row.to_stage,
            trigger=row.trigger,
            occurred_at=row.occurred_at,
            handoff=row.is_handoff,
            reason=row.reason,
            benefit=row.benefit,
            note=row.note,
            missing_recommended=row.missing_recommended,
            seconds_in_previous_stage=row.seconds_in_previous_stage,
            touches_in_previous_stage=row.touches_in_previous_stage,
            accepted_at=row.accepted_at,
            next_step=row.next_step,
            next_step_due=row.next_step_due,
            row=row,
        )

    @strawberry.field
    async def account(self, info: Info) -> AccountRef:
        from schema.accounts import load_account

        found = await load_account(info.context, self.row.account_id)
        assert found is not None
        return found

    @strawberry.field
    async def actor(self, info: Info) -> UserRef | None:
        return await _user(info.context, self.row.actor_id)

    @strawberry.field
    async def from_owner(self, info: Info) -> UserRef | None:
        return await _user(info.context, self.row.from_owner_id)

    @strawberry.field
    async def to_owner(self, info: Info) -> UserRef | None:
        return await _user(info.context, self.row.to_owner_id)

    @strawberry.field
    async def accepted_by(self, info: Info) -> UserRef | None:
        return await _user(info.context, self.row.accepted_by_id)


async def load_event(context: Context, pk: int) -> StageEvent | None:
    row = await context.loader(queries.events_by_id).load(pk)
    return None if row is None else StageEvent.from_model(row)


register_node("StageEvent", "handoff.read", load_event)


@strawberry.type
class AccountHandoffFields:
    pk: strawberry.Private[int]

    @strawberry.field
    async def pipeline_entry(
        self, info: Info, pipeline: str | None = DEFAULT
    ) -> PipelineEntry | None:
        key = (self.pk, pipeline or DEFAULT)
        row = await info.context.loader(queries.entries_by_account).load(key)
        return None if row is None else PipelineEntry.from_model(row)

    @strawberry.field(description="The account's stage events in the pipeline, oldest first.")
    async def stage_history(self, info: Info, pipeline: str | None = DEFAULT) -> list[StageEvent]:
        key = (self.pk, pipeline or DEFAULT)
        rows = await info.context.loader(queries.history_by_account).load(key)
        return [StageEvent.from_model(row) for row in rows]


@strawberry.type(name="GateBlockedError")
class GateBlockedUserError(UserError):
    missing: list[str]

    @classmethod
    def from_error(cls, error: handoff_errors.GateBlockedError) -> Self:
        return cls(code=error.code, message=error.message, field=error.field, missing=error.missing)


register_error(handoff_errors.GateBlockedError, GateBlockedUserError)


@strawberry.type
class StageStats:
    stage: str
    entered: int
    exited: int
    current: int
    median_seconds_in_stage: float | None
    p90_seconds_in_stage: float | None
    conversion_rate: float | None
    touches_per_stay: float | None


@strawberry.type
class StageThroughputReport:
    pipeline: Pipeline
    from_: datetime = strawberry.field(name="from")
    to: datetime
    stages: list[StageStats]


@strawberry.type
class RequirementCount:
    requirement: str
    count: int
    share: float | None


@strawberry.type
class RequirementBlockCount:
    requirement: str
    count: int


@strawberry.type
class HandoffReport:
    handoffs: int
    accepted: int
    pending: int
    median_seconds_to_accept: float | None
    missing_recommended: list[RequirementCount]
    blocked_by: list[RequirementBlockCount] = strawberry.field(
        description="Blocked attempts of any transition in the range, per missing requirement."
    )


@strawberry.input
class StageInput:
    key: str
    name: str
    kind: StageKind = StageKind.OPEN
    necessary: list[str] | None = None
    recommended: list[str] | None = None

    def to_def(self) -> StageDef:
        return StageDef(
            key=self.key,
            name=self.name,
            kind=self.kind,
            necessary=tuple(self.necessary or ()),
            recommended=tuple(self.recommended or ()),
        )


@strawberry.input
class TransitionInput:
    trigger: str
    sources: list[str]
    dest: str
    handoff: bool | None = False

    def to_def(self) -> TransitionDef:
        return TransitionDef(self.trigger, tuple(self.sources), self.dest, bool(self.handoff))


@strawberry.input
class DefinePipelineInput:
    key: str
    name: str
    stages: list[StageInput]
    transitions: list[TransitionInput]
    is_default: bool | None = None


@strawberry.input
class EnterPipelineInput:
    account_id: strawberry.ID
    pipeline: str | None = DEFAULT
    owner_id: strawberry.ID | None = None


@strawberry.input
class TransitionAccountInput:
    account_id: strawberry.ID
    trigger: str
    pipeline: str | None = DEFAULT
    reason: str | None = None
    benefit: str | None = None
    to_owner_id: strawberry.ID | None = None
    note: str | None = None


@strawberry.input
class AcceptHandoffInput:
    event_id: strawberry.ID
    next_step: str
    next_step_due: datetime | None = None


@strawberry.type
class PipelinePayload:
    pipeline: Pipeline | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EntryPayload:
    entry: PipelineEntry | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TransitionPayload:
    entry: PipelineEntry | None = None
    event: StageEvent | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AcceptPayload:
    event: StageEvent | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


From = Annotated[datetime, strawberry.argument(name="from")]


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("pipeline.read")
    async def pipelines(self, info: Info) -> list[Pipeline]:
        async with info.context.db() as session:
            rows = await queries.list_pipelines(session)
        return [Pipeline.from_model(row) for row in rows]

    @strawberry.field(description="Handoffs not accepted yet, oldest first.")
    @permissions.query("handoff.read")
    async def pending_handoffs(
        self,
        info: Info,
        pipeline: str | None = DEFAULT,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StageEvent]:
        args = page_args(info, first, after)
        async with info.context.db() as session:
            found = await service.get_pipeline(session, pipeline or DEFAULT)
            query = queries.pending_handoffs_query(found.id)
            page = await keyset_page(session, query, order=queries.PENDING_ORDER, args=args)

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, StageEvent.from_model, total)

    @strawberry.field
    @permissions.query("report.read")
    async def stage_throughput(
        self, info: Info, from_: From, to: datetime, pipeline: str | None = DEFAULT
    ) -> StageThroughputReport:
        async with info.context.db() as session:
            found = await service.get_pipeline(session, pipeline or DEFAULT)
            rows = await reports.stage_throughput(session, pipeline=found, start=from_, end=to)
        return StageThroughputReport(
            pipeline=Pipeline.from_model(found),
            from_=from_,
            to=to,
            stages=[StageStats(**asdict(row)) for row in rows],
        )

    @strawberry.field
    @permissions.query("report.read")
    async def handoff_report(
        self, info: Info, from_: From, to: datetime, pipeline: str | None = DEFAULT
    ) -> HandoffReport:
        async with info.context.db() as session:
            found = await service.get_pipeline(session, pipeline or DEFAULT)
            stats = await reports.handoff_report(session, pipeline=found, start=from_, end=to)
        return HandoffReport(
            handoffs=stats.handoffs,
            accepted=stats.accepted,
            pending=stats.pending,
            median_seconds_to_accept=stats.median_seconds_to_accept,
            missing_recommended=[
                RequirementCount(requirement=r.requirement, count=r.count, share=r.share)
                for r in stats.missing_recommended
            ],
            blocked_by=[
                RequirementBlockCount(requirement=r.requirement, count=r.count)
                for r in stats.blocked_by
            ],
        )


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
        await permissions.require_account(info.context, account_id)
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
