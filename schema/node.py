from __future__ import annotations

import strawberry

from schema import permissions, visibility
from schema.context import Info
from schema.relay import NODE_LOADERS, Node, from_global_id


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
