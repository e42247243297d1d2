"""Handoff mutation inputs and payloads, and the error a blocked gate returns."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from app.handoff import errors as handoff_errors
from app.handoff.definition import StageDef, StageKind, TransitionDef
from schema.errors import UserError, register_error
from schema.handoff.types import DEFAULT, Pipeline, PipelineEntry, StageEvent


@strawberry.type(name="GateBlockedError")
class GateBlockedUserError(UserError):
    missing: list[str]

    @classmethod
    def from_error(cls, error: handoff_errors.GateBlockedError) -> Self:
        return cls(code=error.code, message=error.message, field=error.field, missing=error.missing)


register_error(handoff_errors.GateBlockedError, GateBlockedUserError)


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
