from __future__ import annotations

import strawberry

from app.db import rows_by_id
from app.models import audit as audit_models
from schema import permissions, visibility
from schema.audit import AuditEntry
from schema.context import Context, Info
from schema.relay import NODE_LOADERS, Node, from_global_id, register_node


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null when unknown.")
    @permissions.query("viewer")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = from_global_id(id)
        found = NODE_LOADERS.get(type_name)
        if found is None:
            return None
        _, load = found
        if not permissions.type_allowed(info.context, type_name):
            raise permissions.forbidden()
        loaded = await load(info.context, pk)
        if loaded is None or not await visibility.shows_row(info.context, type_name, pk, loaded):
            return None
        return loaded


audit_entries_by_id = rows_by_id(audit_models.AuditEntry)


async def load_audit_entry(context: Context, pk: int) -> AuditEntry | None:
    """An entry, unless it is about a row the caller may not read (as auditLog leaves out)."""
    row = await context.loader(audit_entries_by_id).load(pk)
    if row is None or row.entity_type in permissions.unreadable_types(context):
        return None
    return AuditEntry.from_model(row)


register_node("AuditEntry", "audit.read", load_audit_entry)
