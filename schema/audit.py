"""The audit log: every change, newest first; an entry about a row the caller may not read
(a webhook, for a MANAGER) is left out, and secret values are redacted (app.audit.redact)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry.scalars import JSON

from app.audit import redact, service
from app.kit.pagination import count, keyset_page
from app.models import audit as models
from schema import permissions
from schema.context import Info
from schema.relay import (
    Connection,
    Node,
    connection,
    from_global_id,
    page_args,
    to_global_id,
)

if TYPE_CHECKING:
    from schema.users import User


@strawberry.type
class AuditEntry(Node):
    at: datetime
    action: str
    entity_type: str
    entity_id: strawberry.ID | None
    changes: JSON
    request_id: str | None
    actor_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.AuditEntry) -> Self:
        entity_id = None
        if row.entity_id is not None:
            entity_id = to_global_id(row.entity_type, row.entity_id)
        return cls(
            id=to_global_id("AuditEntry", row.id),
            at=row.at,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=entity_id,
            changes=JSON(redact.changes(row.changes)),
            request_id=row.request_id,
            actor_pk=row.actor_user_id,
        )

    @strawberry.field
    async def actor(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        from schema.users import load_user

        return await load_user(info.context, self.actor_pk)


@strawberry.type
class Query:
    @strawberry.field(description="Every change, newest first; filtered to one entity by id.")
    @permissions.query("audit.read")
    async def audit_log(
        self,
        info: Info,
        entity_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        args = page_args(info, first, after)
        entity = None if entity_id is None else from_global_id(entity_id, field="entityId")
        hidden = permissions.unreadable_types(info.context)
        query = service.list_query(entity, hidden_types=hidden)
        async with info.context.db() as session:
            page = await keyset_page(
                session, query, order=(models.AuditEntry.id,), args=args, descending=True
            )

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, AuditEntry.from_model, total)
