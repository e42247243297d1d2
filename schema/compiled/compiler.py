"""A query's selection over the read model, compiled into one SQL statement.

The statement returns the response's `data` as JSON text: each object is a concatenation
of its keys and values (in selection order, as graphql-core answers), a nested list one
correlated subquery on its foreign key, a connection a keyset page (`limit first + 1`)
numbered and aggregated. Fields are collected by graphql-core's own `collect_subfields`,
so fragments, aliases, merging and `@skip`/`@include` mean exactly what they mean to the
executor. Argument values never enter the SQL text: each is a parameter whose `Binder`
reads it from the request's variables (and can refuse it, see `Refused`).

What the compiler does not know (a field without a spec below, a field the role may not
read, an argument outside what a spec supports) raises `NotCompilable`: the query then
runs through strawberry, whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values

from app.accounts import listing
from app.auth.models import Role
from app.errors import AppError
from app.keyset import Order
from app.keyset import _decode as decode_keyset_cursor
from app.pagination import decode_cursor
from app.settings import Limits
from schema.compiled import sqltext as js
from schema.permissions import GUARD, POLICY
from schema.relay import NODE_LOADERS, from_global_id

Details = list[FieldDetails]


class NotCompilable(Exception):
    """strawberry answers this query (the reason is the message, for the metric)."""


class Refused(Exception):
    """A request's argument the compiled statement cannot take: strawberry answers it."""


@dataclass(slots=True)
class Bind:
    """What a statement's parameters are read from, per request."""

    variables: VariableValues
    viewer_id: int
    now: datetime
    memo: dict[Any, Any] = field(default_factory=dict)


Binder = Callable[[Bind], Any]


@dataclass(slots=True)
class Field:
    """One response key: its definition, the nodes merged under it, and its parent row."""

    parent: GraphQLObjectType
    definition: GraphQLField
    details: Details
    row: str  # the SQL alias of the parent's row


Spec = Callable[["Compiler", Field], str]


class Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        role: Role,
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = {name: FragmentDetails(node) for name, node in fragments.items()}
        self.variables = variables
        self.role = role
        self.limits = limits
        self.binders: list[Binder] = []
        self.decisions: list[tuple[Binder, Any]] = []
        self._aliases = itertools.count()
        self.bind = Bind(variables, 0, datetime.now(UTC))  # for decisions while compiling

    # --- parameters -------------------------------------------------------------------

    def param(self, binder: Binder, cast: str) -> str:
        self.binders.append(binder)
        return f"${len(self.binders)}::{cast}"

    def decide(self, binder: Binder, bind: Bind) -> Any:
        """A value the statement's text depends on; requests giving another get another plan."""
        value = binder(bind)
        self.decisions.append((binder, value))
        return value

    def arguments(self, f: Field) -> Binder:
        """The field's coerced arguments, per request (once per request and field)."""
        node = f.details[0].node
        definition = f.definition
        key = id(node)  # AST nodes hash their whole subtree

        def read(bind: Bind) -> dict[str, Any]:
            found = bind.memo.get(key)
            if found is None:
                try:
                    found = get_argument_values(definition, node, bind.variables)
                except Exception as error:  # strawberry reports the argument's error
                    raise Refused(str(error)) from error
                bind.memo[key] = found
            return found

        return read

    def compile_time_arguments(self, f: Field) -> dict[str, Any]:
        try:
            return get_argument_values(f.definition, f.details[0].node, self.variables)
        except Exception as error:
            raise NotCompilable("argument error") from error

    def alias(self) -> str:
        return f"t{next(self._aliases)}"

    # --- selections -------------------------------------------------------------------

    def _grouped(self, grouped: Any, new_defer: Any, forbidden: Any) -> dict[str, Details]:
        if new_defer or forbidden:
            raise NotCompilable("@defer")
        return dict(grouped)

    def root(self) -> str:
        query = self.schema.query_type
        assert query is not None
        grouped, new_defer, forbidden = collect_fields(
            self.schema, self.fragments, self.variables, query, self.operation
        )
        return self.fields(query, self._grouped(grouped, new_defer, forbidden), "").sql()

    def object(self, type_: GraphQLObjectType, details: Details, row: str) -> str:
        grouped, new_defer, forbidden = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, type_, details
        )
        return self.fields(type_, self._grouped(grouped, new_defer, forbidden), row).sql()

    def fields(self, type_: GraphQLObjectType, grouped: dict[str, Details], row: str) -> js.Concat:
        out = js.Concat().const("{")
        for n, (key, details) in enumerate(grouped.items()):
            out.const(("," if n else "") + js.json_literal(key)[1:-1] + ":")
            name = details[0].node.name.value
            if name == "__typename":
                out.const(js.json_literal(type_.name)[1:-1])
                continue
            definition = type_.fields.get(name)
            spec = SPECS.get(type_.name, {}).get(name)
            if definition is None or spec is None:
                raise NotCompilable(f"{type_.name}.{name} has no SQL")
            guard = definition.extensions.get(GUARD)
            if guard is not None and self.role not in guard[0]:
                raise NotCompilable("a field the role may not read")
            out.expr(spec(self, Field(type_, definition, details, row)))
        return out.const("}")

    def object_type(self, f: Field) -> GraphQLObjectType:
        named = get_named_type(f.definition.type)
        assert isinstance(named, GraphQLObjectType)
        return named


# --- specs: one function per field, giving the field's JSON text ---------------------------


def column(kind: Callable[[str], str], name: str) -> Spec:
    return lambda c, f: kind(f"{f.row}.{name}")


def global_id(type_name: str) -> Spec:
    return lambda c, f: js.global_id(type_name, f"{f.row}.id")


def same_row() -> Spec:
    """An object made of the parent row's own columns (an account's address)."""
    return lambda c, f: c.object(c.object_type(f), f.details, f.row)


def one(table: str, key: str, *, by: str = "id") -> Spec:
    """The row of `table` whose `by` equals the parent's `key` column (null when none)."""

    def spec(c: Compiler, f: Field) -> str:
        t = c.alias()
        body = c.object(c.object_type(f), f.details, t)
        return f"COALESCE((SELECT {body} FROM {table} {t} WHERE {t}.{by} = {f.row}.{key}), 'null')"

    return spec


def many(table: str, *, where: Callable[[Compiler, Field, str], str], order: str) -> Spec:
    """A list: the rows of `table` matching `where`, in `order` (both given the alias)."""

    def spec(c: Compiler, f: Field) -> str:
        t = c.alias()
        body = c.object(c.object_type(f), f.details, t)
        ordering = order.format(t=t)
        return (
            f"COALESCE((SELECT '[' || string_agg({body}, ',' ORDER BY {ordering}) || ']'"
            f" FROM {table} {t} WHERE {where(c, f, t)}), '[]')"
        )

    return spec


def pipeline_key(c: Compiler, f: Field) -> str:
    arguments = c.arguments(f)
    return c.param(lambda bind: arguments(bind).get("pipeline") or "default", "text")


def by_pipeline(c: Compiler, f: Field, t: str) -> str:
    key = pipeline_key(c, f)
    return (
        f"{t}.account_id = {f.row}.id AND {t}.pipeline_id ="
        f" (SELECT p.id FROM pipelines p WHERE p.key = {key})"
    )


def _cadence_status(c: Compiler, f: Field) -> str:
    """`app.activities.cadence.cadence_status` against the request's instant."""
    now = c.param(lambda bind: bind.now, "timestamptz")
    due = f"{f.row}.next_contact_due"
    return (
        f"CASE WHEN {due} < {now} THEN '\"OVERDUE\"'"
        f" WHEN {due} <= {now} + interval '7 days' THEN '\"DUE_SOON\"'"
        " ELSE '\"ON_TRACK\"' END"
    )


def _seconds_in_stage(c: Compiler, f: Field) -> str:
    now = c.param(lambda bind: bind.now, "timestamptz")
    seconds = f"(extract(epoch FROM {now}) - extract(epoch FROM {f.row}.entered_at))"
    return js.float_(f"greatest(0, {seconds})::float8")


# --- connections ----------------------------------------------------------------------------


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


def _first(c: Compiler, f: Field) -> str:
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


def _keyset_after(
    c: Compiler, f: Field, columns: Sequence[Any], casts: Sequence[str], names: Sequence[str]
) -> tuple[Callable[[str], str] | None, str]:
    """The condition past `after` (a cursor of the columns' values) and hasPreviousPage."""
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
                found = decode_cursor(cursor, columns)
            except AppError as error:
                raise Refused(str(error)) from error
            if any(v is None for v in found):
                raise Refused("a null in a cursor")
            bind.memo[key] = found
        return found

    def nth(i: int) -> Binder:
        return lambda bind: values(bind)[i]

    params = [c.param(nth(i), cast) for i, cast in enumerate(casts)]

    def condition(t: str) -> str:
        return f"({', '.join(f'{t}.{n}' for n in names)}) {{op}} ({', '.join(params)})"

    return (lambda t: condition(t)), "true"


def branches(c: Compiler, f: Field) -> str:
    from app.accounts.models import Account

    size = _first(c, f)
    after, previous = _keyset_after(
        c, f, [Account.name, Account.id], ["text", "bigint"], ["name", "id"]
    )
    return page_sql(
        c,
        f,
        Page(
            table="accounts",
            where=lambda t: f"{t}.parent_id = {f.row}.id AND {t}.archived_at IS NULL",
            order=[("name", False), ("id", False)],
            cursor=lambda r: f"'[' || to_json({r}.name)::text || ',' || {r}.id || ']'",
            after=None if after is None else (lambda t: after(t).format(op=">")),
            size=size,
            has_previous=previous,
        ),
    )


def activities(c: Compiler, f: Field) -> str:
    from app.activities.models import Activity

    size = _first(c, f)
    after, previous = _keyset_after(
        c, f, [Activity.occurred_at, Activity.id], ["timestamptz", "bigint"], ["occurred_at", "id"]
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
            after=None if after is None else (lambda t: after(t).format(op="<")),
            size=size,
            has_previous=previous,
        ),
    )


def users(c: Compiler, f: Field) -> str:
    from app.auth.models import User

    size = _first(c, f)
    after, previous = _keyset_after(c, f, [User.name, User.id], ["text", "bigint"], ["name", "id"])
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
            after=None if after is None else (lambda t: after(t).format(op=">")),
            size=size,
            has_previous=previous,
        ),
    )


# --- the accounts list ----------------------------------------------------------------------

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
    size = _accounts_size(c, arguments)
    after_condition = None
    previous = "false"
    if given.get("after") is not None:
        key_p = c.param(lambda bind: _account_cursor(order, arguments, bind)[0], cast)
        id_p = c.param(lambda bind: _account_cursor(order, arguments, bind)[1], "bigint")
        op = "<" if descending else ">"
        after_condition = lambda t: f"({t}.{column_name}, {t}.id) {op} ({key_p}, {id_p})"  # noqa: E731
        previous = "true"
    order_name = js.json_literal(order.name)
    return page_sql(
        c,
        f,
        Page(
            table="accounts",
            where=lambda t: " AND ".join([cond(t) for cond in conditions] or ["true"]),
            order=[(column_name, descending), ("id", descending)],
            cursor=lambda r: f"'[' || {order_name} || ',' || {key_json(r)} || ',' || {r}.id || ']'",
            after=after_condition,
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


def _accounts_size(c: Compiler, arguments: Binder) -> str:
    limits = c.limits

    def size(bind: Bind) -> int:
        first = arguments(bind).get("first")
        size = limits.default_page_size if first is None else first
        if not 0 <= size <= limits.max_page_size:
            raise Refused("first out of range")
        return int(size)

    return c.param(size, "int")


def _account_cursor(order: Order, arguments: Binder, bind: Bind) -> list[Any]:
    key = ("after", id(arguments))  # one per accounts field of the document
    found = bind.memo.get(key)
    if found is None:
        cursor = arguments(bind).get("after")
        if cursor is None:
            raise Refused("the cursor went away")
        try:
            found = decode_keyset_cursor(order, cursor, "after")
        except AppError as error:
            raise Refused(str(error)) from error
        if any(v is None for v in found):
            raise Refused("a null in a cursor")
        bind.memo[key] = found
    return found


# --- roots ----------------------------------------------------------------------------------

NODE_TABLES = {
    "Account": "accounts",
    "Contact": "contacts",
    "User": "users",
    "Assignment": "assignments",
    "Activity": "activities",
    "StageEvent": "stage_events",
    "Lead": "leads",
}


def viewer(c: Compiler, f: Field) -> str:
    viewer_id = c.param(lambda bind: bind.viewer_id, "bigint")
    t = c.alias()
    body = c.object(c.object_type(f), f.details, t)
    return f"COALESCE((SELECT {body} FROM users {t} WHERE {t}.id = {viewer_id}), 'null')"


def node(c: Compiler, f: Field) -> str:
    """`node(id:)`: the id's type is part of the plan's key (see `shape`)."""
    given = c.compile_time_arguments(f)
    try:
        type_name, _ = from_global_id(given["id"])
    except AppError as error:
        raise NotCompilable("a malformed id") from error
    if type_name not in NODE_LOADERS:
        return "'null'"
    table = NODE_TABLES.get(type_name)
    if table is None:
        raise NotCompilable(f"node of {type_name}")
    action = NODE_LOADERS[type_name][0]
    if c.role not in POLICY[action].roles:
        raise NotCompilable("a node the role may not read")
    runtime = c.schema.type_map[type_name]
    assert isinstance(runtime, GraphQLObjectType)
    arguments = c.arguments(f)

    def pk(bind: Bind) -> int:
        try:
            found, value = from_global_id(arguments(bind)["id"])
        except AppError as error:
            raise Refused(str(error)) from error
        if found != type_name:
            raise Refused("the id's type changed")
        return value

    key = c.param(pk, "bigint")
    t = c.alias()
    body = c.object(runtime, f.details, t)
    return f"COALESCE((SELECT {body} FROM {table} {t} WHERE {t}.id = {key}), 'null')"


SPECS: dict[str, dict[str, Spec]] = {
    "Query": {
        "viewer": lambda c, f: _rooted(c, f, "viewer", viewer),
        "node": lambda c, f: _rooted(c, f, "viewer", node),
        "accounts": lambda c, f: _rooted(c, f, "account.read", accounts),
        "users": lambda c, f: _rooted(c, f, "user.read", users),
    },
    "Account": {
        "id": global_id("Account"),
        "name": column(js.text, "name"),
        "classification": column(js.enum, "classification"),
        "industry": column(js.text, "industry"),
        "source": column(js.enum, "source"),
        "externalRef": column(js.text, "external_ref"),
        "attributes": column(js.json, "attributes"),
        "version": column(js.text, "version"),
        "phone": column(js.text, "phone"),
        "email": column(js.text, "email"),
        "website": column(js.text, "website"),
        "address": same_row(),
        "archivedAt": column(js.time, "archived_at"),
        "tags": column(js.text, "tags"),
        "createdAt": column(js.time, "created_at"),
        "updatedAt": column(js.time, "updated_at"),
        "parent": one("accounts", "parent_id"),
        "mergedInto": one("accounts", "merged_into_id"),
        "contacts": many(
            "contacts",
            where=lambda c, f, t: f"{t}.account_id = {f.row}.id AND {t}.removed_at IS NULL",
            order="{t}.id",
        ),
        "branches": branches,
        "assignments": many(
            "assignments",
            where=lambda c, f, t: f"{t}.account_id = {f.row}.id",
            order="array_position(ARRAY['SALES','WHOLE_GOODS','PARTS','SERVICE','MARKETING',"
            "'EXECUTIVE'], {t}.manager_type::text), {t}.id",
        ),
        "pipelineEntry": lambda c, f: _pipeline_entry(c, f),
        "activities": activities,
        "stageHistory": many("stage_events", where=by_pipeline, order="{t}.occurred_at, {t}.id"),
    },
    "Address": {
        "street": column(js.text, "street"),
        "city": column(js.text, "city"),
        "region": column(js.text, "region"),
        "postalCode": column(js.text, "postal_code"),
        "countryCode": column(js.text, "country_code"),
    },
    "Contact": {
        "id": global_id("Contact"),
        "name": column(js.text, "name"),
        "title": column(js.text, "title"),
        "email": column(js.text, "email"),
        "phone": column(js.text, "phone"),
        "buyingRole": column(js.enum, "buying_role"),
        "account": one("accounts", "account_id"),
    },
    "User": {
        "id": global_id("User"),
        "email": column(js.text, "email"),
        "name": column(js.text, "name"),
        "role": column(js.enum, "role"),
        "maxAccounts": column(js.text, "max_accounts"),
        "isActive": column(js.text, "is_active"),
    },
    "Assignment": {
        "id": global_id("Assignment"),
        "managerType": column(js.enum, "manager_type"),
        "contactFrequencyDays": column(js.text, "contact_frequency_days"),
        "startedAt": column(js.time, "started_at"),
        "lastContactAt": column(js.time, "last_contact_at"),
        "nextContactDue": column(js.time, "next_contact_due"),
        "status": _cadence_status,
        "user": one("users", "user_id"),
        "account": one("accounts", "account_id"),
    },
    "PipelineEntry": {
        "stage": column(js.text, "stage"),
        "enteredAt": column(js.time, "entered_at"),
        "secondsInStage": _seconds_in_stage,
        "account": one("accounts", "account_id"),
        "owner": one("users", "owner_id"),
    },
    "Activity": {
        "id": global_id("Activity"),
        "kind": column(js.enum, "kind"),
        "occurredAt": column(js.time, "occurred_at"),
        "summary": column(js.text, "summary"),
        "amount": column(js.decimal, "amount"),
        "source": column(js.text, "source"),
        "externalId": column(js.text, "external_id"),
        "voidedAt": column(js.time, "voided_at"),
        "voidReason": column(js.text, "void_reason"),
        "account": one("accounts", "account_id"),
        "user": one("users", "user_id"),
        "contact": one("contacts", "contact_id"),
    },
    "Lead": {
        "id": global_id("Lead"),
        "company": column(js.text, "company"),
        "contactName": column(js.text, "contact_name"),
        "email": column(js.text, "email"),
        "phone": column(js.text, "phone"),
        "industry": column(js.text, "industry"),
        "address": same_row(),
        "source": column(js.enum, "source"),
        "status": column(js.enum, "status"),
        "statusReason": column(js.text, "status_reason"),
        "externalRef": column(js.text, "external_ref"),
        "attributes": column(js.json, "attributes"),
        "version": column(js.text, "version"),
        "createdAt": column(js.time, "created_at"),
        "convertedAt": column(js.time, "converted_at"),
        "owner": one("users", "owner_id"),
        "account": one("accounts", "account_id"),
    },
    "StageEvent": {
        "id": global_id("StageEvent"),
        "fromStage": column(js.text, "from_stage"),
        "toStage": column(js.text, "to_stage"),
        "trigger": column(js.text, "trigger"),
        "occurredAt": column(js.time, "occurred_at"),
        "handoff": column(js.text, "is_handoff"),
        "reason": column(js.text, "reason"),
        "benefit": column(js.text, "benefit"),
        "note": column(js.text, "note"),
        "missingRecommended": column(js.text, "missing_recommended"),
        "secondsInPreviousStage": column(js.float_, "seconds_in_previous_stage"),
        "acceptedAt": column(js.time, "accepted_at"),
        "nextStep": column(js.text, "next_step"),
        "nextStepDue": column(js.time, "next_step_due"),
        "account": one("accounts", "account_id"),
        "actor": one("users", "actor_id"),
        "fromOwner": one("users", "from_owner_id"),
        "toOwner": one("users", "to_owner_id"),
        "acceptedBy": one("users", "accepted_by_id"),
    },
}


def _rooted(c: Compiler, f: Field, action: str, spec: Spec) -> str:
    if c.role not in POLICY[action].roles:
        raise NotCompilable("a root the role may not read")
    return spec(c, f)


def _pipeline_entry(c: Compiler, f: Field) -> str:
    t = c.alias()
    body = c.object(c.object_type(f), f.details, t)
    return (
        f"COALESCE((SELECT {body} FROM pipeline_entries {t} WHERE {by_pipeline(c, f, t)}), 'null')"
    )


def covered() -> dict[str, frozenset[str]]:
    """The fields with SQL, per type (connections and page info included)."""
    found = {name: frozenset(specs) for name, specs in SPECS.items()}
    for connection in ("AccountConnection", "ActivityConnection", "UserConnection"):
        found[connection] = frozenset({"pageInfo", "edges", "totalCount"})
        found[connection.replace("Connection", "Edge")] = frozenset({"cursor", "node"})
    found["PageInfo"] = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})
    return found
