"""logActivities' list of items coerced by our loop instead of graphql-core's walk.

graphql-core coerces a `LogActivitiesInput` variable item by item and field by field (plus
a depth check over the whole value first): about half of the server's time for a
1,000-item batch. When the operation's variable of that type holds just `activities`, a
list of items our loop (schema/activity_input.py) coerces, graphql-core is given the
variable with an empty list (everything else it coerces as always) and the list is put
back coerced. Any item the loop refuses means graphql-core coerces the original variables,
so errors keep their exact messages and paths.

`Executor.build` and `VariableValues` are graphql-core's (3.3); the differential tests in
tests/schema/engine/test_batch_variables.py fail when they drift.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLSchema,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
)
from graphql.execution.values import VariableValues

from schema.activity_input import ActivityInputCoercer

BATCH_TYPE = "LogActivitiesInput"
_coercers: weakref.WeakKeyDictionary[GraphQLSchema, ActivityInputCoercer] = (
    weakref.WeakKeyDictionary()
)

Restore = Callable[[VariableValues], VariableValues]


def _coercer(schema: GraphQLSchema) -> ActivityInputCoercer:
    found = _coercers.get(schema)
    if found is None:
        found = _coercers[schema] = ActivityInputCoercer(schema)
    return found


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation graphql-core would run (None when it would refuse: it explains)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _named(node: TypeNode) -> str | None:
    if isinstance(node, NonNullTypeNode):
        node = node.type
    return node.name.value if isinstance(node, NamedTypeNode) else None


def split(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> tuple[dict[str, Any], Restore] | None:
    """Variables with each batch's list emptied and the function that puts it back coerced,
    or None when there is nothing to take over (graphql-core does it all)."""
    if not variables or BATCH_TYPE not in schema.type_map:
        return None
    operation = _operation(document, operation_name)
    if operation is None or not operation.variable_definitions:
        return None
    taken: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    for definition in operation.variable_definitions:
        if isinstance(definition.type, ListTypeNode) or _named(definition.type) != BATCH_TYPE:
            continue
        name = definition.variable.name.value
        raw = variables.get(name)
        if type(raw) is not dict or raw.keys() != {"activities"}:
            continue
        items = raw["activities"]
        if type(items) is not list:
            continue
        coerce = _coercer(schema).fast
        coerced = [coerce(item) for item in items]
        if None in coerced:
            return None  # graphql-core coerces everything and explains the refusal
        taken[name] = (raw, coerced)  # type: ignore[assignment]
    if not taken:
        return None
    light = {**variables, **{name: {"activities": []} for name in taken}}

    def restore(values: VariableValues) -> VariableValues:
        coerced, sources = dict(values.coerced), dict(values.sources)
        for name, (raw, items) in taken.items():
            coerced[name] = {**coerced[name], "activities": items}
            sources[name] = sources[name]._replace(value=raw)
        return values._replace(coerced=coerced, sources=sources)

    return light, restore
