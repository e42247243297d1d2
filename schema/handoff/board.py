"""pipelineBoard: the stages of a pipeline as columns of entries."""

from __future__ import annotations

import strawberry

from app.handoff import board
from schema import permissions, visibility
from schema.context import Info
from schema.handoff.types import DEFAULT, PipelineEntry
from schema.relay import Connection, connection, page_args


@strawberry.type
class BoardColumn:
    stage: str
    count: int
    median_seconds_in_stage: float | None = strawberry.field(
        description="Median time the current entries have spent in the stage so far."
    )
    pipeline_pk: strawberry.Private[int]

    @strawberry.field(description="Entries of the stage, longest waiting first.")
    async def entries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PipelineEntry]:
        args = page_args(info, first, after)
        seen = await visibility.seen(info.context)
        if seen is None:
            key = (self.pipeline_pk, self.stage, args)
            page, total = await info.context.loader(board.entry_pages).load(key)
        else:
            seen_key = (self.pipeline_pk, self.stage, args, seen)
            page, total = await info.context.loader(board.seen_entry_pages).load(seen_key)

        async def counted() -> int:
            return total

        now = info.context.now
        return connection(page, lambda row: PipelineEntry.from_model(row, now), counted)


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("pipeline.read")
    async def pipeline_board(self, info: Info, pipeline: str | None = DEFAULT) -> list[BoardColumn]:
        seen = await visibility.seen(info.context)
        async with info.context.db() as session:
            columns = await board.board(session, pipeline or DEFAULT, info.context.now, seen)
        return [
            BoardColumn(
                stage=c.stage,
                count=c.count,
                median_seconds_in_stage=c.median_seconds_in_stage,
                pipeline_pk=c.pipeline_id,
            )
            for c in columns
        ]
