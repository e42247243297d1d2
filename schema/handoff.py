"""Pipelines and handoffs: the foundation gives their shape, the handoff issue fills them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.relay import Node

if TYPE_CHECKING:
    from schema.users import User

UserRef = Annotated["User", strawberry.lazy("schema.users")]


@strawberry.type
class PipelineEntry:
    stage: str
    entered_at: datetime
    seconds_in_stage: float

    @strawberry.field
    async def owner(self, info: Info) -> UserRef | None:
        return None


@strawberry.type
class StageEvent(Node):
    from_stage: str | None
    to_stage: str
    trigger: str
    occurred_at: datetime
    reason: str | None
    benefit: str | None
    missing_recommended: list[str]
    seconds_in_previous_stage: float | None
    accepted_at: datetime | None
    next_step: str | None

    @strawberry.field
    async def actor(self, info: Info) -> UserRef | None:
        return None

    @strawberry.field
    async def from_owner(self, info: Info) -> UserRef | None:
        return None

    @strawberry.field
    async def to_owner(self, info: Info) -> UserRef | None:
        return None


@strawberry.type
class AccountHandoffFields:
    @strawberry.field
    async def pipeline_entry(self, info: Info, pipeline: str = "default") -> PipelineEntry | None:
        return None

    @strawberry.field
    async def stage_history(self, info: Info, pipeline: str = "default") -> list[StageEvent]:
        return []
