"""The list screens' root connections (contacts, leads, assignments, activities): their
`orderBy` inputs, and the one body that pages them both ways (first/after, last/before).

Each list's orders are its feature's `ListOrders` (app.kit.pagination), each then by id so
ties keep one order; cursors are sealed and name their order (app.kit.cursor). Another list
(tasks) joins by: a `ListOrders` beside its query, an enum and `<Type>Order` input here, one
ARGUMENT_RULES entry per order (schema/authz_arguments.py), and a resolver taking
`first/after/last/before/orderBy` that returns `ordered_connection(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol, TypeVar

import strawberry
from sqlalchemy import Select

from app.kit.pagination import ListOrders, Order, count, sorted_page, window
from schema.accounts.inputs import SortDirection
from schema.context import Info
from schema.relay import Connection, connection

T = TypeVar("T")


class OrderInput(Protocol):
    @property
    def field(self) -> Enum: ...

    @property
    def direction(self) -> SortDirection: ...


def picked(orders: ListOrders, order_by: OrderInput | None) -> Order:
    """The order an `orderBy` names; the list's default without one."""
    if order_by is None:
        return orders.default
    return orders.pick(order_by.field.value, order_by.direction is SortDirection.DESC)


async def ordered_connection(
    info: Info,
    query: Select[Any],
    *,
    orders: ListOrders,
    order_by: OrderInput | None,
    pages: tuple[int | None, str | None, int | None, str | None],
    convert: Callable[[Any], T],
    whole_row: bool = False,
) -> Connection[T]:
    """One page of `query` in the order asked, forward or backward: `pages` is the
    (first, after, last, before) the client sent."""
    limits = info.context.settings.limits
    checked = window(*pages, default=limits.default_page_size, maximum=limits.max_page_size)
    order = picked(orders, order_by)
    async with info.context.db() as session:
        page = await sorted_page(session, query, order=order, window=checked, whole_row=whole_row)

    async def total() -> int:
        async with info.context.db() as session:
            return await count(session, query)

    return connection(page, convert, total)


@strawberry.enum
class ContactOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input(description="Without an order: by name.")
class ContactOrder:
    field: ContactOrderField
    direction: SortDirection = SortDirection.ASC


@strawberry.enum
class LeadOrderField(Enum):
    CREATED_AT = "CREATED_AT"
    COMPANY = "COMPANY"
    STATUS = "STATUS"


@strawberry.input(description="Without an order: oldest first.")
class LeadOrder:
    field: LeadOrderField
    direction: SortDirection = SortDirection.ASC


@strawberry.enum
class AssignmentOrderField(Enum):
    NEXT_CONTACT_DUE = "NEXT_CONTACT_DUE"
    STARTED_AT = "STARTED_AT"


@strawberry.input(description="Without an order: most overdue first (NEXT_CONTACT_DUE).")
class AssignmentOrder:
    field: AssignmentOrderField
    direction: SortDirection = SortDirection.ASC


@strawberry.enum
class ActivityOrderField(Enum):
    OCCURRED_AT = "OCCURRED_AT"


@strawberry.input(description="Without an order: newest first (OCCURRED_AT, DESC).")
class ActivityOrder:
    field: ActivityOrderField
    direction: SortDirection = SortDirection.ASC
