"""Pipelines, pipeline entries and stage events; the handoff fields of Account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.handoff import queries
from app.handoff.definition import StageKind
from app.models import handoff as models
from schema.context import Context, Info
from schema.relay import Node, at_most, register_node, to_global_id

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
    account_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.PipelineEntry, now: datetime | None = None) -> Self:
        now = now or datetime.now(UTC)
        return cls(
            stage=row.stage,
            entered_at=row.entered_at,
            seconds_in_stage=max(0.0, (now - row.entered_at).total_seconds()),
            owner_pk=row.owner_id,
            pipeline_pk=row.pipeline_id,
            account_pk=row.account_id,
        )

    @strawberry.field
    async def account(self, info: Info) -> AccountRef:
        from schema.accounts import load_account

        found = await load_account(info.context, self.account_pk)
        assert found is not None
        return found

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
        return None if row is None else PipelineEntry.from_model(row, info.context.now)

    @strawberry.field(
        description="The account's stage events in the pipeline, oldest first: the newest"
        " ACCOUNTFLOW_MAX_LIST_ITEMS (100) of them."
    )
    async def stage_history(self, info: Info, pipeline: str | None = DEFAULT) -> list[StageEvent]:
        key = (self.pk, pipeline or DEFAULT)
        rows = await info.context.loader(queries.history_by_account).load(key)
        return [StageEvent.from_model(row) for row in at_most(info, rows, newest=True)]
