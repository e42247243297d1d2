"""Pipeline entries sitting in an open stage for longer than a number of days."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.handoff.definition import StageKind
from app.kit.pagination import Page, PageArgs, count, keyset_page
from app.models.accounts import Account
from app.models.auth import User
from app.models.handoff import Pipeline, PipelineEntry
from app.reports.teams import check_team, in_team

MAX_DAYS = 36_500
# Longest first: the oldest entry into its stage; id breaks ties.
ORDER = (PipelineEntry.entered_at, PipelineEntry.id)


def stuck_query(
    pipeline: Pipeline, *, older_than_days: int, team_id: int | None = None
) -> Select[Any]:
    """Entries of live accounts in an open (not won, not lost) stage since before the cutoff;
    with a team, those its members own."""
    if not 0 <= older_than_days <= MAX_DAYS:
        raise InvalidInputError(
            f"olderThanDays must be between 0 and {MAX_DAYS}.", field="olderThanDays"
        )
    open_stages = [s["key"] for s in pipeline.stages if s["kind"] == StageKind.OPEN]
    cutoff = func.now() - func.make_interval(0, 0, 0, older_than_days)
    query = (
        select(
            PipelineEntry.id,
            PipelineEntry.account_id,
            PipelineEntry.pipeline_id,
            PipelineEntry.owner_id,
            PipelineEntry.stage,
            PipelineEntry.entered_at,
            Account.name.label("account_name"),
            User.name.label("owner_name"),
        )
        .join(Account, Account.id == PipelineEntry.account_id)
        .outerjoin(User, User.id == PipelineEntry.owner_id)
        .where(
            PipelineEntry.pipeline_id == pipeline.id,
            PipelineEntry.stage.in_(open_stages),
            PipelineEntry.entered_at < cutoff,
            Account.archived_at.is_(None),
        )
    )
    if team_id is not None:
        query = query.where(in_team(PipelineEntry.owner_id, team_id))
    return cast("Select[Any]", query)


async def stuck_entries(
    session: AsyncSession,
    *,
    pipeline: Pipeline,
    older_than_days: int,
    args: PageArgs,
    team_id: int | None = None,
) -> Page[Any]:
    """A page of rows (id, account_id, pipeline_id, owner_id, stage, entered_at, names)."""
    await check_team(session, team_id, field="teamId")
    query = stuck_query(pipeline, older_than_days=older_than_days, team_id=team_id)
    return await keyset_page(session, query, order=ORDER, args=args, whole_row=True)


async def count_stuck(
    session: AsyncSession, *, pipeline: Pipeline, older_than_days: int, team_id: int | None = None
) -> int:
    query = stuck_query(pipeline, older_than_days=older_than_days, team_id=team_id)
    return await count(session, query)


def seconds_since(entered_at: datetime, now: datetime) -> float:
    return max(0.0, (now - entered_at).total_seconds())
