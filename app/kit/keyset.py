"""Keyset pages in any sort order, forward (first/after) and backward (last/before).

A cursor holds the name of its order and the sort key of its row, never an offset, so
pages stay correct while rows are inserted; a cursor of another order is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.errors import InvalidCursorError, InvalidInputError
from app.kit.pagination import Page, decode_cursor, encode_cursor


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: ColumnElement[Any] | QueryableAttribute[Any]
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Order:
    name: str
    keys: tuple[SortKey, ...]  # the last one unique


@dataclass(frozen=True, slots=True)
class Window:
    """Checked page arguments: `size` rows after `after`, or before `before` when backward."""

    size: int
    cursor: str | None
    backward: bool


def window(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    *,
    default: int,
    maximum: int,
) -> Window:
    if first is not None and last is not None:
        raise InvalidInputError("Give first or last, not both.", field="last")
    if last is None and before is not None:
        raise InvalidInputError("before needs last.", field="before")
    if last is not None and after is not None:
        raise InvalidInputError("after needs first.", field="after")
    backward = last is not None
    given = last if backward else first
    size = default if given is None else given
    field = "last" if backward else "first"
    if not 0 <= size <= maximum:
        raise InvalidInputError(f"{field} must be between 0 and {maximum}.", field=field)
    return Window(size=size, cursor=before if backward else after, backward=backward)


def _beyond(keys: Sequence[SortKey], values: Sequence[Any], forward: bool) -> ColumnElement[bool]:
    """Rows after (forward) or before the key `values` in the order of `keys`."""
    exprs = [k.expression for k in keys]
    if len({k.descending for k in keys}) == 1:
        later = forward != keys[0].descending
        return tuple_(*exprs) > tuple_(*values) if later else tuple_(*exprs) < tuple_(*values)
    branches = []
    for i, key in enumerate(keys):
        later = forward != key.descending
        step = key.expression > values[i] if later else key.expression < values[i]
        branches.append(and_(*[exprs[j] == values[j] for j in range(i)], step))
    return or_(*branches)


def _decode(order: Order, cursor: str, field: str) -> list[Any]:
    columns = [literal(order.name), *(key.expression for key in order.keys)]
    values = list(decode_cursor(cursor, columns))
    if values[0] != order.name:
        raise InvalidCursorError("The cursor belongs to another order.", field=field)
    return values[1:]


async def sorted_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    order: Order,
    window: Window,
    with_total: bool = False,
    total_over_rows: bool = False,
) -> Page[Any]:
    """Rows of a plain-column `query` (returned as rows) for the window in `order`.

    `total_over_rows` counts with a window over the matching rows instead of a second scan:
    cheaper when every match is read anyway (a search sorts all its matches), but it
    counts only the rows past the cursor, so it is used on first pages alone.
    """
    keys = order.keys
    labelled = [k.expression.label(f"_k{i}") for i, k in enumerate(keys)]
    extra: list[Any] = list(labelled)
    if with_total and total_over_rows and window.cursor is None:
        extra.insert(0, func.count().over().label("_total"))
    elif with_total:
        counted = select(func.count()).select_from(query.order_by(None).subquery())
        extra.insert(0, counted.scalar_subquery().label("_total"))
    paged = query.add_columns(*extra)
    forward = not window.backward
    if window.cursor is not None:
        field = "before" if window.backward else "after"
        paged = paged.where(_beyond(keys, _decode(order, window.cursor, field), forward))
    reverse = window.backward
    paged = paged.order_by(
        *[k.expression.desc() if k.descending != reverse else k.expression.asc() for k in keys]
    ).limit(window.size + 1)
    rows = list((await (await session.connection()).execute(paged)).all())
    n = len(keys)
    visible = rows[: window.size]
    if window.backward:
        visible.reverse()
    more = len(rows) > window.size
    return Page(
        items=visible,
        cursors=[encode_cursor((order.name, *row[-n:])) for row in visible],
        has_next_page=more if forward else window.cursor is not None,
        has_previous_page=more if window.backward else window.cursor is not None,
        total=int(rows[0][-n - 1]) if with_total and rows else None,
    )
