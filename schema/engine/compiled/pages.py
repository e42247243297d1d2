"""Connections compiled: a keyset page of rows, numbered, with its cursors and page info."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLObjectType,
    get_named_type,
)
from graphql.execution.collect_fields import (
    collect_subfields,
)
from sqlalchemy.orm import InstrumentedAttribute

from app.accounts import read as account_read
from app.activities.voiding import ACTIVITY_ORDER as ACTIVITY_COLUMNS
from app.auth.service import USER_ORDER as USER_COLUMNS
from app.errors import AppError
from app.kit.pagination import Order
from schema.engine.compiled import sqltext as js
from schema.engine.compiled.compiler import (
    Bind,
    Binder,
    Compiler,
    Details,
    Field,
    NotCompilable,
    Refused,
)

# The strawberry path pages these the same way (app.activities.service, schema.users).
ACTIVITY_ORDER = Order.of(ACTIVITY_COLUMNS, descending=True)
USER_ORDER = Order.of(USER_COLUMNS)


@dataclass(frozen=True, slots=True)
class Page:
    """A keyset page of `table`: the rows after the cursor in `order`, `size + 1` of them."""

    table: str
    where: Callable[[str], str]  # the rows of the whole connection, given the alias
    order: Order  # the paginator's, by plain columns of `table` in one direction
    after: Callable[[str], str] | None  # the condition after the cursor, given the alias
    size: str
    has_previous: str  # SQL boolean

    def cursor(self, r: str) -> str:
        """The cursor's JSON array text of the row `r`, as `Order.encode` writes it."""
        values = [js.cursor_value(f"{r}.{name}", t) for name, t in sort_columns(self.order)]
        return js.json_array([js.json_literal(self.order.name), *values])


def sort_columns(order: Order) -> list[tuple[str, type]]:
    """(column name, Python type) of each sort key; NotCompilable unless all are plain
    columns sorted one way (a row-value comparison pages them)."""
    if len({key.descending for key in order.keys}) != 1:
        raise NotCompilable("an order in mixed directions")
    found = []
    for key in order.keys:
        if not isinstance(key.expression, InstrumentedAttribute):
            raise NotCompilable("an order by a computed key")
        found.append((column_name(key.expression), key.expression.type.python_type))
    return found


def column_name(attribute: InstrumentedAttribute[Any]) -> str:
    """The SQL name of a mapped column (its attribute may be named otherwise)."""
    name = getattr(attribute.expression, "name", None)
    if name is None:
        raise NotCompilable("a computed column")
    return str(name)


def page_sql(c: Compiler, f: Field, page: Page) -> str:
    connection_type = c.object_type(f)
    r = c.alias()
    t = c.alias()
    direction = " DESC" if page.order.keys[0].descending else ""
    order_by = ", ".join(f"{{t}}.{name}{direction}" for name, _ in sort_columns(page.order))
    conditions = page.where(t)
    if page.after is not None:
        conditions += f" AND {page.after(t)}"
    rows = (
        f"(SELECT {t}.*, row_number() OVER (ORDER BY {order_by.format(t=t)}) AS _rn,"
        f" {js.cursor(page.cursor(t))} AS _cursor"
        f" FROM (SELECT * FROM {page.table} {t} WHERE {conditions}"
        f" ORDER BY {order_by.format(t=t)} LIMIT {page.size} + 1) {t}) {r}"
    )
    visible = f"FILTER (WHERE {r}._rn <= {page.size})"
    cursors = f"(array_agg({r}._cursor ORDER BY {r}._rn) {visible})"

    grouped, new_defer, forbidden = collect_subfields(
        c.schema, c.fragments, c.variables, c.operation, connection_type, f.details
    )
    out = js.Concat().const("{")
    for n, (key, details) in enumerate(c._grouped(grouped, new_defer, forbidden).items()):
        out.const(("," if n else "") + js.json_literal(key)[1:-1] + ":")
        name = details[0].node.name.value
        if name == "__typename":
            out.const(js.json_literal(connection_type.name)[1:-1])
        elif name == "totalCount":
            u = c.alias()
            out.expr(f"(SELECT count(*) FROM {page.table} {u} WHERE {page.where(u)})::text")
        elif name == "edges":
            with c.at(key), c.at(None):
                edge = _edge(c, connection_type, details, r, page)
            out.expr(
                f"COALESCE('[' || string_agg({edge}, ',' ORDER BY {r}._rn) {visible} || ']', '[]')"
            )
        elif name == "pageInfo":
            out.expr(_page_info(c, connection_type, details, r, page, cursors))
        else:
            raise NotCompilable(f"{connection_type.name}.{name} has no SQL")
    # GROUP BY (): one row even for an empty page, whatever the selection aggregates.
    return f"(SELECT {out.const('}').sql()} FROM {rows} GROUP BY ())"


def _edge(c: Compiler, connection: GraphQLObjectType, details: Details, r: str, page: Page) -> str:
    edge_type = get_named_type(connection.fields["edges"].type)
    assert isinstance(edge_type, GraphQLObjectType)
    grouped, new_defer, forbidden = collect_subfields(
        c.schema, c.fragments, c.variables, c.operation, edge_type, details
    )
    out = js.Concat().const("{")
    for n, (key, group) in enumerate(c._grouped(grouped, new_defer, forbidden).items()):
        out.const(("," if n else "") + js.json_literal(key)[1:-1] + ":")
        name = group[0].node.name.value
        if name == "__typename":
            out.const(js.json_literal(edge_type.name)[1:-1])
        elif name == "cursor":
            out.const('"').expr(f"{r}._cursor").const('"')
        elif name == "node":
            node_type = get_named_type(edge_type.fields["node"].type)
            assert isinstance(node_type, GraphQLObjectType)
            with c.at(key):
                out.expr(c.object(node_type, group, r))
        else:
            raise NotCompilable(f"{edge_type.name}.{name} has no SQL")
    return out.const("}").sql()


def _page_info(
    c: Compiler, connection: GraphQLObjectType, details: Details, r: str, page: Page, cursors: str
) -> str:
    info_type = get_named_type(connection.fields["pageInfo"].type)
    assert isinstance(info_type, GraphQLObjectType)
    grouped, new_defer, forbidden = collect_subfields(
        c.schema, c.fragments, c.variables, c.operation, info_type, details
    )
    values = {
        "hasNextPage": js.boolean(f"count(*) > {page.size}"),
        "hasPreviousPage": js.boolean(page.has_previous),
        "startCursor": f"COALESCE('\"' || {cursors}[1] || '\"', 'null')",
        "endCursor": f"COALESCE('\"' || {cursors}[least(count(*), {page.size})] || '\"', 'null')",
        "__typename": js.json_literal(info_type.name),
    }
    out = js.Concat().const("{")
    for n, (key, group) in enumerate(c._grouped(grouped, new_defer, forbidden).items()):
        out.const(("," if n else "") + js.json_literal(key)[1:-1] + ":")
        out.expr(values[group[0].node.name.value])
    return out.const("}").sql()


def first_param(c: Compiler, f: Field) -> str:
    """`first` as `check_page_args` takes it: the default when absent, else 0..maximum."""
    arguments = c.arguments(f)
    limits = c.limits

    def size(bind: Bind) -> int:
        first = arguments(bind).get("first")
        if first is None:
            return limits.default_page_size
        if not 0 <= first <= limits.max_page_size:
            raise Refused("first out of range")
        return int(first)

    return c.param(size, "int")


def keyset_after(c: Compiler, f: Field, order: Order) -> tuple[Callable[[str], str] | None, str]:
    """The condition past `after` in `order`, and hasPreviousPage."""
    arguments = c.arguments(f)
    if c.compile_time_arguments(f).get("after") is None:
        return None, "false"
    columns = sort_columns(order)

    def values(bind: Bind) -> Sequence[Any]:
        key = ("after", id(f.details[0].node))
        found = bind.memo.get(key)
        if found is None:
            cursor = arguments(bind).get("after")
            if cursor is None:
                raise Refused("the cursor went away")  # compiled for a cursor
            try:
                found = order.decode(cursor)
            except AppError as error:
                raise Refused(str(error)) from error
            if any(v is None for v in found):
                raise Refused("a null in a cursor")
            bind.memo[key] = found
        return found

    def nth(i: int) -> Binder:
        return lambda bind: values(bind)[i]

    casts = [js.cast(kind) for _, kind in columns]
    params = ", ".join(c.param(nth(i), cast) for i, cast in enumerate(casts))
    op = "<" if order.keys[0].descending else ">"

    def condition(t: str) -> str:
        return f"({', '.join(f'{t}.{name}' for name, _ in columns)}) {op} ({params})"

    return condition, "true"


def keyset_page(
    c: Compiler, f: Field, table: str, where: Callable[[str], str], order: Order
) -> str:
    """A connection over the rows of `table` matching `where`, paged in `order`."""
    size = first_param(c, f)
    after, previous = keyset_after(c, f, order)
    return page_sql(c, f, Page(table, where, order, after, size, previous))


def branches(c: Compiler, f: Field) -> str:
    def where(t: str) -> str:
        return f"{t}.parent_id = {f.row}.id AND {t}.archived_at IS NULL"

    return keyset_page(c, f, "accounts", where, account_read.BRANCH_ORDER)


def activities(c: Compiler, f: Field) -> str:
    def where(t: str) -> str:
        return f"{t}.account_id = {f.row}.id"

    return keyset_page(c, f, "activities", where, ACTIVITY_ORDER)


def users(c: Compiler, f: Field) -> str:
    arguments = c.arguments(f)
    everyone = c.decide(lambda bind: bool(arguments(bind).get("includeInactive")), c.bind)

    def where(t: str) -> str:
        return "true" if everyone else f"{t}.is_active"

    return keyset_page(c, f, "users", where, USER_ORDER)
