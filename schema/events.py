"""The event feed (`events`): the changes webhooks deliver, readable in order (app/feed.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON

from app import feed
from app.events import EventType
from app.webhooks.worker import message_id
from schema import permissions
from schema import webhooks as _webhooks  # noqa: F401 (names EventType WebhookEvent)
from schema.context import Info
from schema.relay import PageInfo, page_args, to_global_id


@strawberry.type(
    description="One change, as webhooks deliver it: `id` is the `webhook-id` header's value, "
    "`type` the dotted name the webhook body carries (`contact.removed`)."
)
class Event:
    id: strawberry.ID
    type: str
    occurred_at: datetime
    object_id: strawberry.ID | None
    account_id: strawberry.ID | None
    data: JSON

    @classmethod
    def from_row(cls, row: Any) -> Self:
        object_id = row.data.get("id")
        return cls(
            id=strawberry.ID(message_id(row.id)),
            type=row.type,
            occurred_at=row.created_at,
            object_id=strawberry.ID(object_id) if isinstance(object_id, str) else None,
            account_id=None if row.account_id is None else to_global_id("Account", row.account_id),
            data=JSON(row.data),
        )


@strawberry.type
class EventEdge:
    cursor: str
    node: Event


@strawberry.type
class EventConnection:
    page_info: PageInfo
    edges: list[EventEdge]


@strawberry.type
class Query:
    @strawberry.field(
        description="Committed events, oldest first (kept ACCOUNTFLOW_EVENT_RETENTION_DAYS). "
        "Paging from the last cursor misses none, also of transactions that commit late."
    )
    @permissions.query("event.read")
    async def events(
        self,
        info: Info,
        after: str | None = None,
        first: int | None = None,
        types: list[EventType] | None = None,
    ) -> EventConnection:
        args = page_args(info, first, after)
        async with info.context.db() as session:
            page = await feed.event_page(session, args=args, types=types)
        edges = [
            EventEdge(cursor=cursor, node=Event.from_row(row))
            for row, cursor in zip(page.items, page.cursors, strict=True)
        ]
        page_info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )
        return EventConnection(page_info=page_info, edges=edges)
