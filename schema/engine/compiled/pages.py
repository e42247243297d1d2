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

from app.errors import AppError
from app.kit.pagination import decode_cursor
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


@dataclass(frozen=True, slots=True)
class Page:
    """A keyset page of `table`: the rows after the cursor in `order`, `size + 1` of them."""

    table: str
    where: Callable[[str], str]  # the rows of the whole connection, given the alias
    order: Sequence[tuple[str, bool]]  # (column, descending); the last one unique
    cursor: Callable[[str], str]  # the cursor's JSON array text of a row, given the alias
    after: Callable[[str], str] | None  # the condition after the cursor, given the alias
    size: str
    has_previous: str  # SQL boolean


def page_sql(c: Compiler, f: Field, page: Page) -> str:
    connection_type = c.object_type(f)
    r = c.alias()
    t = c.alias()
    order_by = ", ".join(f"{{t}}.{col}{' DESC' if desc else ''}" for col, desc in page.order)
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
        "startCursor": f"COALESCE(to_json({cursors}[1])::text, 'null')",
        "endCursor": f"COALESCE(to_json({cursors}[least(count(*), {page.size})])::text, 'null')",
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


def keyset_after(
    c: Compiler,
    f: Field,
    decode: Callable[[str], Sequence[Any]],
    *,
    columns: Sequence[tuple[str, str]],
    descending: bool,
) -> tuple[Callable[[str], str] | None, str]:
    """The condition past `after` and hasPreviousPage. `decode` gives the cursor's values
    (raising AppError for a bad one), `columns` their (column, cast), the last one unique."""
    arguments = c.arguments(f)
    if c.compile_time_arguments(f).get("after") is None:
        return None, "false"

    def values(bind: Bind) -> Sequence[Any]:
        key = ("after", id(f.details[0].node))
        found = bind.memo.get(key)
        if found is None:
            cursor = arguments(bind).get("after")
            if cursor is None:
                raise Refused("the cursor went away")  # compiled for a cursor
            try:
                found = decode(cursor)
            except AppError as error:
                raise Refused(str(error)) from error
            if any(v is None for v in found):
                raise Refused("a null in a cursor")
            bind.memo[key] = found
        return found

    def nth(i: int) -> Binder:
        return lambda bind: values(bind)[i]

    params = ", ".join(c.param(nth(i), cast) for i, (_, cast) in enumerate(columns))
    op = "<" if descending else ">"

    def condition(t: str) -> str:
        return f"({', '.join(f'{t}.{name}' for name, _ in columns)}) {op} ({params})"

    return condition, "true"


def branches(c: Compiler, f: Field) -> str:
    from app.models.accounts import Account

    size = first_param(c, f)
    after, previous = keyset_after(
        c,
        f,
        lambda cursor: decode_cursor(cursor, [Account.name, Account.id]),
        columns=[("name", "text"), ("id", "bigint")],
        descending=False,
    )
    return page_sql(
        c,
        f,
        Page(
            table="accounts",
            where=lambda t: f"{t}.parent_id = {f.row}.id AND {t}.archived_at IS NULL",
            order=[("name", False), ("id", False)],
            cursor=lambda r: f"'[' || to_json({r}.name)::text || ',' || {r}.id || ']'",
            after=after,
            size=size,
            has_previous=previous,
        ),
    )


def activities(c: Compiler, f: Field) -> str:
    from app.models.activities import Activity

    size = first_param(c, f)
    after, previous = keyset_after(
        c,
        f,
        lambda cursor: decode_cursor(cursor, [Activity.occurred_at, Activity.id]),
        columns=[("occurred_at", "timestamptz"), ("id", "bigint")],
        descending=True,
    )
    return page_sql(
        c,
        f,
        Page(
            table="activities",
            where=lambda t: f"{t}.account_id = {f.row}.id",
            order=[("occurred_at", True), ("id", True)],
            cursor=lambda r: (
                f"'[{{\"dt\":' || af_json_time({r}.occurred_at) || '}},' || {r}.id || ']'"
            ),
            after=after,
            size=size,
            has_previous=previous,
        ),
    )


def users(c: Compiler, f: Field) -> str:
    from app.models.auth import User

    size = first_param(c, f)
    after, previous = keyset_after(
        c,
        f,
        lambda cursor: decode_cursor(cursor, [User.name, User.id]),
        columns=[("name", "text"), ("id", "bigint")],
        descending=False,
    )
    arguments = c.arguments(f)
    everyone = c.decide(lambda bind: bool(arguments(bind).get("includeInactive")), c.bind)
    return page_sql(
        c,
        f,
        Page(
            table="users",
            where=lambda t: "true" if everyone else f"{t}.is_active",
            order=[("name", False), ("id", False)],
            cursor=lambda r: f"'[' || to_json({r}.name)::text || ',' || {r}.id || ']'",
            after=after,
            size=size,
            has_previous=previous,
        ),
    )
