"""The pipeline board: per stage, how many entries sit there, how long, and a page of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import DateTime, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.handoff.service import get_pipeline
from app.kit.pagination import Page, PageArgs, partitioned_pages
from app.models.handoff import Pipeline, PipelineEntry
from app.teams.visibility import Seen, seen_clause


@dataclass(frozen=True, slots=True)
class Column:
    pipeline_id: int
    stage: str
    count: int
    median_seconds_in_stage: float | None


async def board(
    session: AsyncSession, pipeline_key: str, now: datetime, seen: Seen | None = None
) -> list[Column]:
    """Every stage of the pipeline in its order, with its current entries' count and median
    time in stage at `now` (one statement besides the pipeline's row); of the entries a REP
    reads when the record visibility restricts them (`seen`)."""
    pipeline: Pipeline = await get_pipeline(session, pipeline_key)
    at = bindparam("now", now, type_=DateTime(timezone=True))
    seconds = func.extract("epoch", at - PipelineEntry.entered_at)
    query = (
        select(
            PipelineEntry.stage,
            func.count(),
            func.percentile_cont(0.5).within_group(seconds),
        )
        .where(PipelineEntry.pipeline_id == pipeline.id)
        .group_by(PipelineEntry.stage)
    )
    if seen is not None:
        query = query.where(seen_clause(PipelineEntry.account_id, seen))
    found = {stage: (int(n), median) for stage, n, median in await session.execute(query)}
    columns = []
    for stage in pipeline.stages:
        n, median = found.get(stage["key"], (0, None))
        median_value = None if median is None else max(0.0, float(median))
        columns.append(Column(pipeline.id, stage["key"], n, median_value))
    return columns


async def seen_entry_pages(
    session: AsyncSession, keys: Sequence[tuple[int, str, PageArgs, Seen]]
) -> list[tuple[Page[PipelineEntry], int]]:
    """entry_pages of a REP under TEAM or OWN record visibility: the entries they read."""
    shown = seen_clause(PipelineEntry.account_id, keys[0][3])
    return await entry_pages(session, [(p, stage, args) for p, stage, args, _ in keys], shown)


async def entry_pages(
    session: AsyncSession, keys: Sequence[tuple[int, str, PageArgs]], *where: Any
) -> list[tuple[Page[PipelineEntry], int]]:
    """A page of each (pipeline, stage), longest waiting first, in one statement per pipeline."""
    found: dict[tuple[int, str, PageArgs], tuple[Page[PipelineEntry], int]] = {}
    for pipeline_id in {k[0] for k in keys}:
        wanted = [(stage, args) for pid, stage, args in keys if pid == pipeline_id]
        pages = await partitioned_pages(
            session,
            PipelineEntry,
            partition="stage",
            order=("entered_at", "id"),
            keys=cast(Any, wanted),
            where=[PipelineEntry.pipeline_id == pipeline_id, *where],
        )
        for (stage, args), page in zip(wanted, pages, strict=True):
            found[(pipeline_id, stage, args)] = page
    return [found[key] for key in keys]
