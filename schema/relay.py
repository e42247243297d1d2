"""Relay plumbing: opaque global ids, the Node interface and keyset connections."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from app.errors import InvalidIdError, NotFoundError
from app.kit.pagination import Page, PageArgs, check_page_args
from schema.context import Context, Info
from schema.engine.selection import selects as _selects

T = TypeVar("T")


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{pk}".encode()).decode())


_GLOBAL_ID = re.compile(r"([A-Z][A-Za-z]{0,63}):([1-9][0-9]{0,18})")
MAX_PK = 2**63 - 1  # bigint
MAX_GLOBAL_ID = 120  # characters: base64 of the longest valid "Type:pk"


def from_global_id(global_id: str, *, field: str = "id") -> tuple[str, int]:
    """(type name, primary key) of an id; anything but one we made is INVALID_ID."""
    found = None
    if len(global_id) <= MAX_GLOBAL_ID:
        try:
            found = _GLOBAL_ID.fullmatch(base64.b64decode(global_id, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            found = None
    if found is None or int(found.group(2)) > MAX_PK:
        raise InvalidIdError("Malformed id.", field=field)
    return found.group(1), int(found.group(2))


def decode_id(global_id: str, type_name: str, *, field: str = "id") -> int:
    found, pk = from_global_id(global_id, field=field)
    if found != type_name:
        raise NotFoundError(f"Expected an id of a {type_name}.", field=field)
    return pk


def decode_optional(global_id: str | None, type_name: str, *, field: str) -> int | None:
    return None if global_id is None else decode_id(global_id, type_name, field=field)


@strawberry.interface(description="An object with an opaque global id.")
class Node:
    id: strawberry.ID


NodeLoader = Callable[[Context, int], Awaitable[Node | None]]
NODE_LOADERS: dict[str, tuple[str, NodeLoader]] = {}


def register_node(type_name: str, action: str, load: NodeLoader) -> None:
    """Make a type reachable through `node(id:)`, guarded by the read action it names."""
    NODE_LOADERS[type_name] = (action, load)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    page_info: PageInfo
    edges: list[Edge[T]]
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self._count()


def page_args(info: Info, first: int | None, after: str | None) -> PageArgs:
    limits = info.context.settings.limits
    return check_page_args(
        first, after, default=limits.default_page_size, maximum=limits.max_page_size
    )


# Plain lists (no `first`) that return at most `Limits.max_list_items` items each: the cost
# prices them by that bound (schema/engine/limits.py) and the compiled path's SQL caps them.
BOUNDED_LISTS = frozenset({"Account.contacts", "Account.assignments", "Account.stageHistory"})


def at_most(info: Info, items: Sequence[T], *, newest: bool = False) -> Sequence[T]:
    """A bounded list's items: the first `max_list_items` of them, or the last (`newest`)."""
    bound = info.context.settings.limits.max_list_items
    return items[-bound:] if newest else items[:bound]


def selects(info: Info, name: str) -> bool:
    """Whether the current field's selection asks for `name` (fragments included)."""
    return _selects(info, name)


def connection(
    page: Page[Any], convert: Callable[[Any], T], count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    edges = [
        Edge(cursor=c, node=convert(item)) for item, c in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        edges=edges,
        _count=count,
    )


def list_connection(page: Page[Any], convert: Callable[[Any], T], total: int) -> Connection[T]:
    """A connection over a page already loaded (e.g. by a DataLoader), with its total."""

    async def fixed() -> int:
        return total

    return connection(page, convert, fixed)
