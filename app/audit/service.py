from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.actor import Actor
from app.models.audit import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"before": x, "after": y}} for the fields whose values differ."""
    return {
        key: {"before": _plain(before.get(key)), "after": _plain(after[key])}
        for key in after
        if before.get(key) != after[key]
    }


def created(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: {"before": None, "after": _plain(v)} for key, v in values.items() if v is not None}


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes=changes or {},
        request_id=actor.request_id,
    )
    session.add(entry)
    return entry


def list_query(entity: tuple[str, int] | None) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if entity is not None:
        query = query.where(AuditEntry.entity_type == entity[0], AuditEntry.entity_id == entity[1])
    return query
