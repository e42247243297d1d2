"""The accounts list compiled: its orders, the filters with SQL, its cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.accounts import listing
from app.errors import AppError
from app.kit.keyset import _decode as decode_keyset_cursor
from schema.engine.compiled import sqltext as js
from schema.engine.compiled.compiler import (
    Bind,
    Compiler,
    Field,
    NotCompilable,
    Refused,
)
from schema.engine.compiled.pages import Page, first_param, keyset_after, page_sql
from schema.relay import from_global_id

# Orders with SQL: (column, the sort key's JSON in a cursor, its parameter's cast).
ORDERS: dict[str, tuple[str, Callable[[str], str], str]] = {
    "NAME": ("name", lambda r: f"to_json({r}.name)::text", "text"),
    "CREATED_AT": (
        "created_at",
        lambda r: f"'{{\"dt\":' || af_json_time({r}.created_at) || '}}'",
        "timestamptz",
    ),
    "UPDATED_AT": (
        "updated_at",
        lambda r: f"'{{\"dt\":' || af_json_time({r}.updated_at) || '}}'",
        "timestamptz",
    ),
}
UNCOMPILED_FILTERS = ("search", "assignedUserId", "managerType", "cadenceStatus", "stage")


def _order_of(arguments: dict[str, Any]) -> tuple[str, bool]:
    order = arguments.get("orderBy")
    if order is None:
        return "NAME", False
    field_name = getattr(order["field"], "value", order["field"])
    direction = getattr(order.get("direction"), "value", order.get("direction"))
    return str(field_name), direction == "DESC"


def accounts(c: Compiler, f: Field) -> str:
    given = c.compile_time_arguments(f)
    if given.get("last") is not None or given.get("before") is not None:
        raise NotCompilable("backward pages")
    arguments = c.arguments(f)
    field_name, descending = c.decide(lambda bind: _order_of(arguments(bind)), c.bind)
    if field_name not in ORDERS:
        raise NotCompilable(f"the order {field_name}")
    shape = given.get("filter") or {}
    if any(shape.get(name) is not None for name in UNCOMPILED_FILTERS):
        raise NotCompilable("a filter field without SQL")

    def filtered(name: str, bind: Bind) -> Any:
        value = (arguments(bind).get("filter") or {}).get(name)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and "\x00" in text:
                raise Refused("NUL in a filter")
        return value

    conditions: list[Callable[[str], str]] = []

    def when(name: str, cast: str, sql: str, convert: Callable[[Any], Any] = lambda v: v) -> None:
        p = c.param(lambda bind: convert(filtered(name, bind)), cast)
        conditions.append(lambda t: sql.format(t=t, p=p))

    if not shape.get("includeArchived"):
        conditions.append(lambda t: f"{t}.archived_at IS NULL")
    if shape.get("classification"):
        when("classification", "text[]", "{t}.classification = ANY({p})", _enum_values)
    if shape.get("industry"):
        when("industry", "text", "{t}.industry = {p}")
    if shape.get("countryCode"):
        when("countryCode", "text", "{t}.country_code = {p}", lambda v: v.upper())
    if shape.get("parentId") is not None:
        when("parentId", "bigint", "{t}.parent_id = {p}", _account_pk)
    if shape.get("source"):
        when("source", "text[]", "{t}.source = ANY({p})", _enum_values)
    if shape.get("tags"):
        when("tags", "text[]", "{t}.tags @> {p}", lambda v: sorted({t.strip().lower() for t in v}))
    if shape.get("externalRef") is not None:
        when("externalRef", "text", "{t}.external_ref = {p}", lambda v: v.strip())
    if shape.get("createdAfter") is not None:
        when("createdAfter", "timestamptz", "{t}.created_at > {p}")
    if shape.get("updatedAfter") is not None:
        when("updatedAfter", "timestamptz", "{t}.updated_at > {p}")

    column_name, key_json, cast = ORDERS[field_name]
    order = listing.account_order(listing.OrderField(field_name), descending, search=None)
    size = first_param(c, f)
    after, previous = keyset_after(
        c,
        f,
        lambda cursor: decode_keyset_cursor(order, cursor, "after"),
        columns=[(column_name, cast), ("id", "bigint")],
        descending=descending,
    )
    order_name = js.json_literal(order.name)
    return page_sql(
        c,
        f,
        Page(
            table="accounts",
            where=lambda t: " AND ".join([cond(t) for cond in conditions] or ["true"]),
            order=[(column_name, descending), ("id", descending)],
            cursor=lambda r: f"'[' || {order_name} || ',' || {key_json(r)} || ',' || {r}.id || ']'",
            after=after,
            size=size,
            has_previous=previous,
        ),
    )


def _enum_values(values: list[Any]) -> list[str]:
    return [getattr(v, "value", v) for v in values]


def _account_pk(global_id: str) -> int:
    try:
        type_name, pk = from_global_id(global_id, field="filter.parentId")
    except AppError as error:
        raise Refused(str(error)) from error
    if type_name != "Account":
        raise Refused("not an account id")
    return pk
