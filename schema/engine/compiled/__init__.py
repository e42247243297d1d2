"""The compiled read path: a query over the read model answered by one SQL statement.

PostgreSQL builds the response JSON itself and its bytes go out unparsed; strawberry stays
the schema of record and answers everything the compiler does not cover (a query is
compiled whole or not at all). Per request this costs a parse-cache lookup, the variables'
coercion, the cost (as `CostExtension` prices it, cached by the coerced values of the Int
variables, where page sizes come from) and one statement, prepared once per connection.
Responses say which path answered in the `x-accountflow-executor` header.

A plan is cached per document, operation, role and *shape* of the variables: the values
of Boolean variables (`@skip`/`@include`), the type named by each ID variable (`node`), and
which keys of an input object are set (the accounts filter). Every other value is a
parameter.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode

from app import metrics
from app.errors import AppError
from app.models.auth import Role
from app.settings import Limits
from app.teams.visibility import READ_ALL
from schema.engine.analysis import int_variables
from schema.engine.compiled.compiler import Bind, Binder, Compiler, NotCompilable, Refused
from schema.engine.compiled.specs import SPECS, covered
from schema.engine.documents import Documents
from schema.engine.limits import Analysis, prices, validation_rules
from schema.permissions import POLICY
from schema.relay import from_global_id

log = logging.getLogger(__name__)

COVERED: dict[str, frozenset[str]] = covered()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        if len(self.items) > self.size:
            self.items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed document that passed the schema's validation, with its cost analysis."""

    node: DocumentNode
    analysis: Analysis
    fragments: dict[str, FragmentDefinitionNode]


@dataclass(frozen=True, slots=True)
class Plan:
    """A statement for one shape, or None when strawberry answers that shape."""

    sql: str | None
    binders: tuple[Binder, ...]
    # Choices made from argument values while compiling (e.g. the order): the plan serves a
    # request only when each binder still gives the value it gave then.
    decisions: tuple[tuple[Binder, Hashable], ...]
    # Where fields the role may not read stand (null in the data): see `forbidden_paths`.
    forbidden: tuple[tuple[tuple[str | None, ...], tuple[FieldNode, ...]], ...] = ()

    def fits(self, bind: Bind) -> bool:
        return all(binder(bind) == value for binder, value in self.decisions)


MAX_PLANS_PER_SHAPE = 8


@dataclass(frozen=True, slots=True)
class Statement:
    """What to run for one request: the SQL, its parameters, and the operation's cost."""

    sql: str
    params: list[Any]
    cost: int
    forbidden: tuple[tuple[tuple[str | None, ...], tuple[FieldNode, ...]], ...] = ()


REFUSED = "refused"  # a document strawberry answers (it does not parse or validate)


class CompiledReads:
    def __init__(self, schema: GraphQLSchema, limits: Limits, *, production: bool) -> None:
        self.schema = schema
        self.limits = limits
        self.production = production
        self.rules = [*specified_rules, *validation_rules(limits.max_depth, limits.max_aliases)]
        self.parse = Documents(schema, limits.max_tokens)
        self.documents: _Lru[str, Document | str] = _Lru(256)
        self.plans: _Lru[Hashable, list[Plan]] = _Lru(1024)
        self.costs: _Lru[Hashable, int] = _Lru(1024)

    def statement(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        *,
        role: Role,
        viewer_id: int,
        now: datetime,
    ) -> Statement | None:
        """The statement answering this request, or None when strawberry must."""
        document = self._document(query)
        if isinstance(document, str):
            return None
        operation = get_operation_ast(document.node, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables or {}
        )
        if not isinstance(coerced, VariableValues):
            return None
        cost = self._cost(query, operation_name, document, operation, coerced.coerced)
        if cost is None or cost > self.limits.max_cost:
            return None
        if self.production and document.analysis.operation_shape(operation).introspects:
            return None
        key = (query, operation_name, role, _shape(operation, coerced.coerced))
        plans = self.plans.get(key)
        if plans is None:
            plans = []
            self.plans.put(key, plans)
        bind = Bind(coerced, viewer_id, now)
        try:
            plan = next((p for p in plans if p.fits(bind)), None)
            if plan is None:
                plan = self._plan(document, operation, coerced, role)
                plans.insert(0, plan)
                del plans[MAX_PLANS_PER_SHAPE:]
            if plan.sql is None:
                metrics.COMPILED.labels("not_compilable").inc()
                return None
            params = [binder(bind) for binder in plan.binders]
        except Refused:
            metrics.COMPILED.labels("refused").inc()
            return None
        return Statement(plan.sql, params, cost, plan.forbidden)

    def _cost(
        self,
        query: str,
        operation_name: str | None,
        document: Document,
        operation: OperationDefinitionNode,
        values: dict[str, Any],
    ) -> int | None:
        """The operation's cost, as the Int variables' coerced values (null, absent, 2.0 as 2)
        give the page sizes; None when pricing fails (strawberry prices it and says why)."""
        sizes = tuple(values.get(d.variable.name.value) for d in int_variables(operation))
        key = (query, operation_name, sizes)
        cost = self.costs.get(key)
        if cost is None:
            try:
                cost = document.analysis.cost(operation, values, prices(self.limits))
            except Exception:
                return None
            self.costs.put(key, cost)
        return cost

    def _document(self, query: str) -> Document | str:
        found = self.documents.get(query)
        if found is not None:
            return found
        try:
            node = self.parse(query)
        except GraphQLError:
            result: Document | str = REFUSED
        else:
            if validate(self.schema, node, self.rules):
                result = REFUSED
            else:
                fragments = {
                    d.name.value: d
                    for d in node.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
                result = Document(node, Analysis(self.schema, node), fragments)
        self.documents.put(query, result)
        return result

    def _plan(
        self,
        document: Document,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        role: Role,
    ) -> Plan:
        compiler = Compiler(
            self.schema, operation, document.fragments, variables, role, self.limits, SPECS
        )
        try:
            data = compiler.root()
        except NotCompilable as why:
            log.debug("not compiled: %s", why)
            return Plan(None, (), tuple(compiler.decisions))
        return Plan(
            _guarded(data, role),
            tuple(compiler.binders),
            tuple(compiler.decisions),
            tuple(compiler.forbidden),
        )


# Returned instead of the data when a REP's answer depends on the record visibility: then
# strawberry answers (schema.visibility), as the statement alone cannot tell TEAM from OWN
# cheaply. Under ALL the guard is one probe of org_settings's primary key in the statement.
VISIBILITY_FALLBACK = ""
_RESTRICTED = (
    "EXISTS (SELECT 1 FROM org_settings WHERE name = 'record_visibility' AND value <> 'ALL')"
)


def _guarded(data: str, role: Role) -> str:
    """The statement: the data, or for a role the record visibility applies to, the fallback
    when the visibility is not ALL."""
    if role in POLICY[READ_ALL].roles:
        return f"SELECT {data}"
    return f"SELECT CASE WHEN {_RESTRICTED} THEN '{VISIBILITY_FALLBACK}' ELSE {data} END"


def forbidden_paths(
    data: Any, forbidden: tuple[tuple[tuple[str | None, ...], tuple[FieldNode, ...]], ...]
) -> list[tuple[list[str | int], tuple[FieldNode, ...]]]:
    """Each place a forbidden field stands in the data (its parent is there), with its node:
    where graphql-core puts a FORBIDDEN error."""
    found: list[tuple[list[str | int], tuple[FieldNode, ...]]] = []

    def walk(
        value: Any, template: tuple[str | None, ...], path: list[str | int], node: Any
    ) -> None:
        if len(template) == 1:
            if isinstance(value, dict):
                found.append(([*path, template[0] or ""], node))
            return
        step, rest = template[0], template[1:]
        if step is None:
            for index, item in enumerate(value if isinstance(value, list) else ()):
                walk(item, rest, [*path, index], node)
        elif isinstance(value, dict):
            walk(value.get(step), rest, [*path, step], node)

    for template, node in forbidden:
        walk(data, template, [], node)
    return found


def _named(type_: TypeNode) -> str:
    while isinstance(type_, NonNullTypeNode | ListTypeNode):
        type_ = type_.type
    assert isinstance(type_, NamedTypeNode)
    return type_.name.value


def _shape(operation: OperationDefinitionNode, values: dict[str, Any]) -> Hashable:
    """What of the variables decides the statement's text (see the module's docstring)."""
    shape: list[Hashable] = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        value = values.get(name)
        type_name = _named(definition.type)
        if type_name == "Boolean":
            shape.append(value if not isinstance(value, list) else tuple(value))
        elif type_name == "ID" and isinstance(value, str):
            try:
                shape.append(from_global_id(value)[0])
            except AppError:
                shape.append("?")
        elif isinstance(value, dict):
            shape.append(tuple(sorted((k, v is None, bool(v)) for k, v in value.items())))
        else:
            shape.append((value is None, bool(value) if not isinstance(value, list) else True))
    return tuple(shape)


__all__ = ["COVERED", "VISIBILITY_FALLBACK", "CompiledReads", "Statement", "forbidden_paths"]
