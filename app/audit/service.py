"""Reading the audit log. Writing it is app.kit.changes.record, with the change's events."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, select

from app.models.audit import AuditEntry


def list_query(
    entity: tuple[str, int] | None, *, hidden_types: Collection[str] = ()
) -> Select[AuditEntry]:
    """Entries newest first, about `entity` when given, none about a row of `hidden_types`."""
    query = select(AuditEntry)
    if hidden_types:
        query = query.where(AuditEntry.entity_type.not_in(sorted(hidden_types)))
    if entity is not None:
        query = query.where(AuditEntry.entity_type == entity[0], AuditEntry.entity_id == entity[1])
    return query
