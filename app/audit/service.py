"""Reading the audit log. Writing it is app.kit.changes.record (with the change's events).

`record` here is the audited-but-unannounced write: the service's own administration
(users, API tokens, webhooks; app/kit/changes.py says why they are not announced), and the
importers' updates and the activity ingest's call audit (whose events its statement writes)
until they call the services. `diff` and `created` moved to the kit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import changes as kit
from app.kit.actor import Actor
from app.models.audit import AuditEntry

diff = kit.diff
created = kit.created


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    changes: dict[str, Any] | None = None,
) -> None:
    entry = kit.Audit(action, entity_type, entity_id, changes or {})
    await kit.record(session, actor=actor, audit=entry, events=None)


def list_query(entity: tuple[str, int] | None) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if entity is not None:
        query = query.where(AuditEntry.entity_type == entity[0], AuditEntry.entity_id == entity[1])
    return query
