"""A query's selection over the read model, compiled into one SQL statement.

The statement returns the response's `data` as JSON text: each object is a concatenation
of its keys and values (in selection order, as graphql-core answers), a nested list one
correlated subquery on its foreign key, a connection a keyset page (`limit first + 1`)
numbered and aggregated. Fields are collected by graphql-core's own `collect_subfields`,
so fragments, aliases, merging and `@skip`/`@include` mean exactly what they mean to the
executor. Argument values never enter the SQL text: each is a parameter whose `Binder`
reads it from the request's variables (and can refuse it, see `Refused`).

What the compiler does not know (a field without a spec in schema.engine.compiled.specs, a field
the role may not read, an argument outside what a spec supports) raises `NotCompilable`:
the query then runs through strawberry, whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLNonNull,
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

from app.models.auth import Role
from app.settings import Limits
from schema.engine.compiled import sqltext as js
from schema.permissions import GUARD

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
        specs: dict[str, dict[str, Spec]],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = {name: FragmentDetails(node) for name, node in fragments.items()}
        self.variables = variables
        self.role = role
        self.limits = limits
        self.specs = specs  # type name -> field name -> its SQL (schema.engine.compiled.specs)
        self.binders: list[Binder] = []
        self.decisions: list[tuple[Binder, Any]] = []
        # Where fields the role may not read stand: response keys, None for a list's items.
        self.path: list[str | None] = []
        self.forbidden: list[tuple[tuple[str | None, ...], tuple[FieldNode, ...]]] = []
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
            spec = self.specs.get(type_.name, {}).get(name)
            if definition is None or spec is None:
                raise NotCompilable(f"{type_.name}.{name} has no SQL")
            guard = definition.extensions.get(GUARD)
            if guard is not None and self.role not in guard[0]:
                if isinstance(definition.type, GraphQLNonNull):  # a root: its null spreads
                    raise NotCompilable("a root the role may not read")
                # null in place, and graphql-core's FORBIDDEN error at each place it stands
                out.const("null")
                self.forbidden.append(((*self.path, key), tuple(d.node for d in details)))
                continue
            with self.at(key):
                out.expr(spec(self, Field(type_, definition, details, row)))
        return out.const("}")

    @contextmanager
    def at(self, key: str | None) -> Iterator[None]:
        """Inside the response key `key`, or a list's items (None)."""
        self.path.append(key)
        try:
            yield
        finally:
            self.path.pop()

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


def many(
    table: str,
    *,
    where: Callable[[Compiler, Field, str], str],
    order: str,
    keep: str | None = None,
) -> Spec:
    """A bounded list (schema.relay.BOUNDED_LISTS): the rows of `table` matching `where`, in
    `order`, at most `max_list_items` of them: the first in `keep` (default `order`). Each
    SQL text is given the alias as `{t}`."""

    def spec(c: Compiler, f: Field) -> str:
        t = c.alias()
        with c.at(None):
            body = c.object(c.object_type(f), f.details, t)
        ordering = order.format(t=t)
        kept = (keep or order).format(t=t)
        rows = (
            f"(SELECT * FROM {table} {t} WHERE {where(c, f, t)}"
            f" ORDER BY {kept} LIMIT {int(c.limits.max_list_items)}) {t}"
        )
        return (
            f"COALESCE((SELECT '[' || string_agg({body}, ',' ORDER BY {ordering}) || ']'"
            f" FROM {rows}), '[]')"
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


def cadence_status(c: Compiler, f: Field) -> str:
    """`app.activities.cadence.cadence_status` against the request's instant."""
    now = c.param(lambda bind: bind.now, "timestamptz")
    due = f"{f.row}.next_contact_due"
    return (
        f"CASE WHEN {due} < {now} THEN '\"OVERDUE\"'"
        f" WHEN {due} <= {now} + interval '7 days' THEN '\"DUE_SOON\"'"
        " ELSE '\"ON_TRACK\"' END"
    )


def seconds_in_stage(c: Compiler, f: Field) -> str:
    now = c.param(lambda bind: bind.now, "timestamptz")
    seconds = f"(extract(epoch FROM {now}) - extract(epoch FROM {f.row}.entered_at))"
    return js.float_(f"greatest(0, {seconds})::float8")
