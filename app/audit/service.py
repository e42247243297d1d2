"""Reading the audit log. Writing it is app.kit.changes.record, with the change's events."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.models.audit import AuditEntry


def list_query(entity: tuple[str, int] | None) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if entity is not None:
        query = query.where(AuditEntry.entity_type == entity[0], AuditEntry.entity_id == entity[1])
    return query
