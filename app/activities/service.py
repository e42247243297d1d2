from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import rows_by_id
from app.kit.pagination import Page, PageArgs, partitioned_pages
from app.models.activities import Activity


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


async def lead_activity_pages(
    session: AsyncSession, keys: Sequence[tuple[int, PageArgs]]
) -> list[tuple[Page[Activity], int]]:
    """A lead's activities, newest first, for many leads in one query."""
    return await partitioned_pages(
        session,
        Activity,
        partition="lead_id",
        order=("occurred_at", "id"),
        keys=keys,
        descending=True,
    )


activities_by_id = rows_by_id(Activity)
