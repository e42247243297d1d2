from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.models import Activity
from app.pagination import Page, PageArgs, partitioned_pages


async def activity_pages(
    session: AsyncSession, keys: Sequence[tuple[int, PageArgs]]
) -> list[tuple[Page[Activity], int]]:
    """An account's activities, newest first, for many accounts in one query."""
    return await partitioned_pages(
        session,
        Activity,
        partition="account_id",
        order=("occurred_at", "id"),
        keys=keys,
        descending=True,
    )


async def activities_by_id(session: AsyncSession, ids: Sequence[int]) -> list[Activity | None]:
    rows = await session.scalars(select(Activity).where(Activity.id.in_(ids)))
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]
