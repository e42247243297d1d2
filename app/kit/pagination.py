"""The keyset paginator: pages in any sort order, forward (first/after) and backward
(last/before), of one query or of many parents at once.

A cursor (app.kit.cursor) names its order and holds the sort key of its row, never an
offset, so pages stay correct while rows are inserted; a cursor of another order is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from app.errors import InvalidCursorError, InvalidInputError
from app.kit.cursor import decode_cursor, encode_cursor

T = TypeVar("T")
Expression = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: Expression
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Order:
    name: str  # the first value of every cursor of this order
    keys: tuple[SortKey, ...]  # the last one unique

    @classmethod
    def of(cls, columns: Sequence[Expression], *, descending: bool = False) -> Order:
        """An order by plain columns in one direction, named after them ("-occurred_at,-id")."""
        sign = "-" if descending else ""
        name = ",".join(f"{sign}{getattr(c, 'key', None) or i}" for i, c in enumerate(columns))
        return cls(name, tuple(SortKey(c, descending) for c in columns))

    def decode(self, cursor: str, field: str = "after") -> list[Any]:
        """The sort key a cursor of this order holds (INVALID_CURSOR for any other)."""
        columns = [literal(self.name), *(key.expression for key in self.keys)]
        values = list(decode_cursor(cursor, columns))
        if values[0] != self.name:
            raise InvalidCursorError("The cursor belongs to another order.", field=field)
        return values[1:]

    def encode(self, key: Sequence[Any]) -> str:
        return encode_cursor((self.name, *key))


@dataclass(frozen=True, slots=True)
class ListOrders:
    """The orders a list offers by name (its GraphQL `orderBy` field), each then by a unique
    `tiebreak` in the same direction so ties keep one order; without one, `default`.

    An order that sorts as the default does is the default (its cursors serve both), so a
    client adding `orderBy` with the list's own order keeps its cursors.
    """

    fields: Mapping[str, Sequence[Expression]]  # the leading sort expressions of each
    tiebreak: Expression
    default: Order

    def pick(self, field: str | None, descending: bool = False) -> Order:
        if field is None:
            return self.default
        columns = (*self.fields[field], self.tiebreak)
        keys = tuple(SortKey(c, descending) for c in columns)
        if _same_keys(keys, self.default.keys):
            return self.default
        return Order(f"{field}:{int(descending)}", keys)


def _same_keys(one: Sequence[SortKey], other: Sequence[SortKey]) -> bool:
    return len(one) == len(other) and all(
        a.expression is b.expression and a.descending == b.descending
        for a, b in zip(one, other, strict=True)
    )


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int
    after: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Checked page arguments: `size` rows after `cursor`, or before it when backward."""

    size: int
    cursor: str | None
    backward: bool = False


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    total: int | None = None  # when asked for and the page is not empty


def check_page_args(
    first: int | None, after: str | None, *, default: int, maximum: int
) -> PageArgs:
    if first is None:
        first = default
    if first < 0 or first > maximum:
        raise InvalidInputError(f"first must be between 0 and {maximum}.", field="first")
    return PageArgs(first=first, after=after)


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


def beyond(keys: Sequence[SortKey], values: Sequence[Any], forward: bool) -> ColumnElement[bool]:
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


def _total_column(query: Select[Any], window: Window, over_rows: bool) -> Any:
    if over_rows and window.cursor is None:
        return func.count().over().label("_total")
    return _count_query(query).scalar_subquery().label("_total")


async def sorted_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    order: Order,
    window: Window,
    with_total: bool = False,
    total_over_rows: bool = False,
    whole_row: bool = True,
) -> Page[Any]:
    """The rows of `query` in the window, in `order`.

    With `whole_row` the row itself is the item and the statement runs in Core (plain rows
    skip the ORM's result processing: a read-only page builds no objects); without it, the
    query's first selected entity. `with_total` counts the whole query in the same
    statement (`Page.total`; None for an empty page). `total_over_rows` counts with a
    window over the matching rows instead of a second scan: cheaper when every match is
    read anyway (a search sorts all its matches), but it counts only the rows past the
    cursor, so it is used on first pages alone.
    """
    keys = order.keys
    extra: list[Any] = [k.expression.label(f"_k{i}") for i, k in enumerate(keys)]
    if with_total:
        extra.insert(0, _total_column(query, window, total_over_rows))
    paged = query.add_columns(*extra)
    forward = not window.backward
    if window.cursor is not None:
        field = "before" if window.backward else "after"
        paged = paged.where(beyond(keys, order.decode(window.cursor, field), forward))
    paged = paged.order_by(
        *[
            k.expression.desc() if k.descending != window.backward else k.expression.asc()
            for k in keys
        ]
    ).limit(window.size + 1)
    if whole_row:
        rows = list((await (await session.connection()).execute(paged)).all())
    else:
        rows = list((await session.execute(paged)).all())
    n = len(keys)
    visible = rows[: window.size]
    if window.backward:
        visible.reverse()
    more = len(rows) > window.size
    return Page(
        items=list(visible) if whole_row else [row[0] for row in visible],
        cursors=[order.encode(row[-n:]) for row in visible],
        has_next_page=more if forward else window.cursor is not None,
        has_previous_page=more if window.backward else window.cursor is not None,
        total=int(rows[0][-n - 1]) if with_total and rows else None,
    )


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    order: Sequence[Expression],
    args: PageArgs,
    descending: bool = False,
    whole_row: bool = False,
    with_total: bool = False,
) -> Page[Any]:
    """`sorted_page` forward, in the order of plain columns (see `Order.of`)."""
    return await sorted_page(
        session,
        query,
        order=Order.of(order, descending=descending),
        window=Window(size=args.first, cursor=args.after),
        with_total=with_total,
        whole_row=whole_row,
    )


def _count_query(query: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(query.order_by(None).subquery())


async def count(session: AsyncSession, query: Select[Any]) -> int:
    total = await session.scalar(_count_query(query))
    return int(total or 0)


async def partitioned_pages(
    session: AsyncSession,
    entity: Any,
    *,
    partition: str,
    order: Sequence[str],
    keys: Sequence[tuple[int, PageArgs]],
    where: Sequence[ColumnElement[bool]] = (),
    descending: bool = False,
) -> list[tuple[Page[Any], int]]:
    """One page per parent for many parents at once (a DataLoader's batch), with totals.

    Keys sharing the same page arguments are answered by one windowed query.
    """
    groups: dict[PageArgs, list[int]] = {}
    for parent_id, args in keys:
        groups.setdefault(args, []).append(parent_id)
    found: dict[tuple[int, PageArgs], tuple[Page[Any], int]] = {}
    for args, parent_ids in groups.items():
        pages = await _partition_group(
            session, entity, partition, order, parent_ids, args, where, descending
        )
        # A parent without rows past the cursor still has its total, and a page before.
        empty = [p for p in parent_ids if p not in pages]
        totals = await _totals(session, entity, partition, empty, where) if args.after else {}
        for parent_id in parent_ids:
            page: Page[Any] = Page([], [], False, args.after is not None)
            found[(parent_id, args)] = pages.get(parent_id, (page, totals.get(parent_id, 0)))
    return [found[key] for key in keys]


async def _totals(
    session: AsyncSession,
    entity: Any,
    partition: str,
    parent_ids: list[int],
    where: Sequence[ColumnElement[bool]],
) -> dict[int, int]:
    if not parent_ids:
        return {}
    part_col = entity.__table__.c[partition]
    query = (
        select(part_col, func.count()).where(part_col.in_(parent_ids), *where).group_by(part_col)
    )
    return {parent: int(n) for parent, n in (await session.execute(query)).all()}


async def _partition_group(
    session: AsyncSession,
    entity: Any,
    partition: str,
    order: Sequence[str],
    parent_ids: list[int],
    args: PageArgs,
    where: Sequence[ColumnElement[bool]],
    descending: bool,
) -> dict[int, tuple[Page[Any], int]]:
    table = entity.__table__
    part_col = table.c[partition]
    counted = (
        select(table, func.count().over(partition_by=part_col).label("_total"))
        .where(part_col.in_(parent_ids), *where)
        .subquery()
    )
    order_cols = [counted.c[name] for name in order]
    sort = Order.of(order_cols, descending=descending)
    inner = select(counted)
    if args.after is not None:
        inner = inner.where(beyond(sort.keys, sort.decode(args.after), forward=True))
    ordering = [c.desc() if descending else c.asc() for c in order_cols]
    numbered = inner.add_columns(
        func.row_number().over(partition_by=counted.c[partition], order_by=ordering).label("_rn")
    ).subquery()
    row = aliased(entity, numbered)
    query = (
        select(row, numbered.c._total, *[numbered.c[name] for name in order])
        .where(numbered.c._rn <= args.first + 1)
        .order_by(numbered.c[partition], numbered.c._rn)
    )
    result: dict[int, tuple[Page[Any], int]] = {}
    rows_by_parent: dict[int, list[Any]] = {}
    for record in (await session.execute(query)).all():
        rows_by_parent.setdefault(getattr(record[0], partition), []).append(record)
    for parent_id, rows in rows_by_parent.items():
        visible = rows[: args.first]
        page = Page(
            items=[r[0] for r in visible],
            cursors=[sort.encode(r[2:]) for r in visible],
            has_next_page=len(rows) > args.first,
            has_previous_page=args.after is not None,
        )
        result[parent_id] = (page, int(rows[0][1]))
    return result
