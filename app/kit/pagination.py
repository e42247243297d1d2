"""Keyset pagination: a cursor is the sort key of the last row seen, never an offset."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from app.errors import InvalidCursorError, InvalidInputError

T = TypeVar("T")
Key = tuple[Any, ...]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if hasattr(value, "value"):  # StrEnum
        return value.value
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        if "d" in value:
            return date.fromisoformat(value["d"])
        if "n" in value:
            return Decimal(value["n"])
    return value


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_encode_value(v) for v in key])).decode()


MAX_CURSOR = 2000  # characters; ours are a few dozen


def decode_cursor(cursor: str, columns: Sequence[Any]) -> Key:
    """The key a cursor holds, checked against the types of the order columns.

    A cursor is client input: one of the wrong shape, or holding values of the wrong type
    (which PostgreSQL would refuse mid-query), is INVALID_CURSOR.
    """
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        key = tuple(_decode_value(v) for v in values)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, ArithmeticError):
        raise InvalidCursorError("Malformed cursor.", field="after") from None
    if not all(_fits(value, column) for value, column in zip(key, columns, strict=True)):
        raise InvalidCursorError("Malformed cursor.", field="after")
    return key


def _fits(value: Any, column: Any) -> bool:
    if value is None:
        return True
    try:
        expected = column.type.python_type
    except (AttributeError, NotImplementedError):
        return True
    if issubclass(expected, Enum):
        return value in {m.value for m in expected}
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and _bigint(value)
    if expected is str:
        return isinstance(value, str) and "\x00" not in value
    if expected is datetime:
        if isinstance(value, datetime) and value.tzinfo is None and value.year == 9999:
            return True  # asyncpg's 'infinity' (datetime.max): a sort key for "never"
        return isinstance(value, datetime) and value.tzinfo is not None and 2 <= value.year < 9999
    if expected is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    return isinstance(value, expected)


def _bigint(value: int) -> bool:
    return -(2**63) <= value < 2**63


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int
    after: str | None = None


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


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    order: Sequence[ColumnElement[Any] | QueryableAttribute[Any]],
    args: PageArgs,
    descending: bool = False,
    whole_row: bool = False,
    with_total: bool = False,
) -> Page[Any]:
    """Rows of `query` after the cursor in `order` (the last column must be unique).

    The query's first selected entity is returned as the item, or with `whole_row` the
    row itself (for a query of plain columns: no ORM objects to build for a read-only
    page); the order columns are selected alongside so the cursor comes from SQL values,
    not Python attributes. `with_total` counts the whole query in the same statement
    (`Page.total`; None for an empty page).
    """
    key_cols = [c.label(f"_k{i}") for i, c in enumerate(order)]
    if with_total:
        key_cols.insert(0, _count_query(query).scalar_subquery().label("_total"))
    query = query.add_columns(*key_cols)
    if args.after is not None:
        key = decode_cursor(args.after, order)
        row_key = tuple_(*order)
        query = query.where(row_key < tuple_(*key) if descending else row_key > tuple_(*key))
    query = query.order_by(*[c.desc() if descending else c.asc() for c in order])
    query = query.limit(args.first + 1)
    if whole_row:  # Core execution: plain rows skip the ORM's result processing entirely
        rows = list((await (await session.connection()).execute(query)).all())
    else:
        rows = list((await session.execute(query)).all())
    n = len(order)
    visible = rows[: args.first]
    return Page(
        items=list(visible) if whole_row else [row[0] for row in visible],
        cursors=[encode_cursor(tuple(row[-n:])) for row in visible],
        has_next_page=len(rows) > args.first,
        has_previous_page=args.after is not None,
        total=int(rows[0][-n - 1]) if with_total and rows else None,
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
    inner = select(counted)
    if args.after is not None:
        key = decode_cursor(args.after, order_cols)
        row_key = tuple_(*order_cols)
        inner = inner.where(row_key < tuple_(*key) if descending else row_key > tuple_(*key))
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
            cursors=[encode_cursor(tuple(r[2:])) for r in visible],
            has_next_page=len(rows) > args.first,
            has_previous_page=args.after is not None,
        )
        result[parent_id] = (page, int(rows[0][1]))
    return result
