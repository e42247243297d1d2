"""The event feed: the outbox read oldest first, so an integration that was away catches up.

Sequence ids commit out of order: a transaction holding id 5 may commit after one holding
id 6, so a reader paging by id could step past 5 for good. The feed pages by
(feed_position, id) instead and lists only positions up to the oldest transaction still
running (pg_snapshot_xmin of the reading statement's snapshot): every event that is not
committed yet has a position above it (migration 0018 says why), so no later commit lands
behind a cursor already handed out. A long transaction holds the feed back while
it runs; it never makes a reader miss an event.

Events are kept `Push.event_retention_days` (pruned by the webhook worker after that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.events import EventType
from app.kit.pagination import Order, Page, PageArgs, Window, sorted_page
from app.models.webhooks import OutboxEvent

ORDER = Order("feed", Order.of([OutboxEvent.feed_position, OutboxEvent.id]).keys)

# The oldest transaction id the reading statement saw running (or the next one to start).
_HORIZON = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)

_COLUMNS = (
    OutboxEvent.id,
    OutboxEvent.type,
    OutboxEvent.created_at,
    OutboxEvent.account_id,
    OutboxEvent.data,
)


async def event_page(
    session: AsyncSession, *, args: PageArgs, types: Sequence[EventType] | None = None
) -> Page[Any]:
    """Committed events after the cursor, oldest first, of the given types (default all)."""
    query = select(*_COLUMNS).where(OutboxEvent.feed_position <= _HORIZON)
    if types is not None:
        if not types:
            raise InvalidInputError("Name at least one type, or leave types out.", field="types")
        query = query.where(OutboxEvent.type.in_(sorted({t.value for t in types})))
    window = Window(size=args.first, cursor=args.after)
    return await sorted_page(session, query, order=ORDER, window=window)
