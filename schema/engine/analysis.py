"""A document summarised once per fragment: its shape (depth, aliases, introspection
nesting) and its cost, the work linear in the document's size whatever it spreads.

strawberry's depth and alias limiters walk every path of the document again, so a
fragment spread twice per level doubles their work at each level (30 levels under 1 KB
froze a worker). Here a document is summarised per fragment definition, in an order where
every fragment comes after the fragments it spreads, and a spread only adds the summary
of its fragment.

A spread of a fragment that is still being summarised (a cycle) or that does not exist
adds nothing: graphql-core's NoFragmentCycles and KnownFragmentNames report those.

Cost, before execution (it needs the variables): a field of a leaf type costs nothing; a
field of an object type costs 1 plus its children's cost; a connection field (one with a
`first` argument) 1 plus its children's cost times the page it runs: `first`, else `last`,
else the default page size (absent or null), read from the variables as the executor
coerces them (a default applied, `2.0` is 2); the lists of a connection (`edges`) are
counted by the page already; a plain list with a bound (`Prices.bounds`) counts that many
of its objects, any other list of objects one default page. Introspection costs 1 per
object field, never multiplied: its size is bounded by the schema and by the
introspection shape (schema/engine/limits.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    TypeNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

CAP = 10**12  # sums and products stop growing here: enough to refuse, small to compute
INTROSPECTION_ROOTS = ("__schema", "__type")
# Introspection fields whose nesting the standard introspection query bounds.
TRACKED = frozenset(
    [
        "types",
        "fields",
        "args",
        "type",
        "ofType",
        "inputFields",
        "interfaces",
        "possibleTypes",
        "directives",
    ]
)
DEPTH = "depth"  # the key of an introspection selection's own nesting
PAGE_ARGUMENTS = ("first", "last")  # a connection runs the first of them given


def _cap(value: int) -> int:
    return value if value < CAP else CAP


@dataclass(frozen=True, slots=True)
class Prices:
    """What the cost reads besides the document and the variables."""

    page: int  # the default page size
    bounds: Mapping[str, int] = field(default_factory=dict)  # "Type.field" -> most items


def _is_int(type_: TypeNode) -> bool:
    if isinstance(type_, NonNullTypeNode):
        type_ = type_.type
    return isinstance(type_, NamedTypeNode) and type_.name.value == "Int"


def int_variables(operation: OperationDefinitionNode) -> list[VariableDefinitionNode]:
    """The operation's variables of type Int: the only ones a page size can come from."""
    return [d for d in operation.variable_definitions or () if _is_int(d.type)]


def page_values(
    schema: GraphQLSchema, operation: OperationDefinitionNode, raw: dict[str, Any] | None
) -> dict[str, Any]:
    """The Int variables as the executor coerces them: defaults applied, `2.0` as 2, null
    kept as None. Empty when they do not coerce: the executor then runs nothing."""
    coerced = get_variable_values(schema, int_variables(operation), raw or {})
    return coerced.coerced if isinstance(coerced, VariableValues) else {}


@dataclass(slots=True)
class Shape:
    """What the limits look at in one selection set (a fragment: summarised once)."""

    height: int = 0  # nesting of fields outside introspection (a leaf is 1)
    aliases: int = 0  # aliased fields, a fragment counted each time it is spread
    nesting: dict[str, int] = field(default_factory=dict)  # introspection: most per path
    introspects: bool = False

    def add(self, other: Shape) -> None:
        self.height = max(self.height, other.height)
        self.aliases = _cap(self.aliases + other.aliases)
        for key, count in other.nesting.items():
            if count > self.nesting.get(key, 0):
                self.nesting[key] = count
        self.introspects = self.introspects or other.introspects


def _is_introspection(type_: GraphQLNamedType | None) -> bool:
    return type_ is not None and type_.name.startswith("__")


def _skipped(node: SelectionNode) -> bool:
    """A literal `@skip(if: true)` / `@include(if: false)`: common in tools, never run."""
    for directive in node.directives or ():
        name = directive.name.value
        if name not in (GraphQLSkipDirective.name, "include"):
            continue
        for argument in directive.arguments or ():
            value = argument.value
            if argument.name.value == "if" and isinstance(value, BooleanValueNode):
                return value.value is (name == GraphQLSkipDirective.name)
    return False


class Analysis:
    """One document's fragments in dependency order, and walks that visit each once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.operations: list[OperationDefinitionNode] = []
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.fragments.setdefault(definition.name.value, definition)
            elif isinstance(definition, OperationDefinitionNode):
                self.operations.append(definition)
        self.order = self._order()
        self._shapes: dict[str, Shape] | None = None

    # -- order -------------------------------------------------------------------------
    def _spreads(self, selection_set: SelectionSetNode | None) -> Iterator[str]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            else:
                yield from self._spreads(selection.selection_set)  # type: ignore[attr-defined]

    def _order(self) -> list[str]:
        """Fragments after the fragments they spread (a cycle's back edge is ignored)."""
        order: list[str] = []
        seen: set[str] = set()
        for name in self.fragments:
            if name in seen:
                continue
            seen.add(name)
            stack = [(name, iter(list(self._spreads(self.fragments[name].selection_set))))]
            while stack:
                current, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    order.append(current)
                elif child in self.fragments and child not in seen:
                    seen.add(child)
                    spreads = list(self._spreads(self.fragments[child].selection_set))
                    stack.append((child, iter(spreads)))
        return order

    def _type(self, name: str | None, default: GraphQLNamedType | None) -> GraphQLNamedType | None:
        return self.schema.get_type(name) if name is not None else default

    def _field(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if name == "__schema" and parent is self.schema.query_type:
            return SchemaMetaFieldDef
        if name == "__type" and parent is self.schema.query_type:
            return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            found: GraphQLField | None = parent.fields.get(name)
            return found
        return None

    def _parts(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Iterator[tuple[FieldNode | str | SelectionSetNode, GraphQLNamedType | None]]:
        """Fields, fragment names and inline selection sets, with the type they apply to."""
        for selection in selection_set.selections if selection_set else ():
            if _skipped(selection):
                continue
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, FragmentSpreadNode):
                yield selection.name.value, None
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self._type(condition.name.value if condition else None, parent)
                yield selection.selection_set, type_

    # -- shape (document only: validation) ---------------------------------------------
    def shapes(self) -> dict[str, Shape]:
        if self._shapes is None:
            self._shapes = {}
            for name in self.order:
                fragment = self.fragments[name]
                type_ = self._type(fragment.type_condition.name.value, None)
                self._shapes[name] = self.shape(fragment.selection_set, type_)
        return self._shapes

    def shape(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Shape:
        shapes = self._shapes or {}
        out = Shape()
        for part, type_ in self._parts(selection_set, parent):
            if isinstance(part, str):
                found = shapes.get(part)
                if found is not None:
                    out.add(found)
            elif isinstance(part, SelectionSetNode):
                out.add(self.shape(part, type_))
            else:
                out.add(self._field_shape(part, type_))
        return out

    def _field_shape(self, node: FieldNode, parent: GraphQLNamedType | None) -> Shape:
        name = node.name.value
        definition = self._field(parent, name)
        named = get_named_type(definition.type) if definition is not None else None
        inner = self.shape(node.selection_set, named) if node.selection_set else Shape()
        out = Shape(aliases=_cap(inner.aliases + (1 if node.alias else 0)))
        out.introspects = inner.introspects or name in INTROSPECTION_ROOTS
        if name in INTROSPECTION_ROOTS or _is_introspection(parent):
            out.nesting = dict(inner.nesting)
            out.nesting[DEPTH] = inner.nesting.get(DEPTH, 0) + 1
            if name in TRACKED and _is_introspection(parent):
                out.nesting[name] = inner.nesting.get(name, 0) + 1
            out.height = 1
        else:
            out.nesting = inner.nesting
            out.height = inner.height + 1
        return out

    def operation_shape(self, operation: OperationDefinitionNode) -> Shape:
        self.shapes()
        root = self.schema.get_root_type(operation.operation)
        return self.shape(operation.selection_set, root)

    # -- cost (needs the variables: execution) -----------------------------------------
    def cost(
        self, operation: OperationDefinitionNode, variables: dict[str, Any], prices: Prices
    ) -> int:
        """The operation's cost; `variables` coerced (`page_values`, or all of them)."""
        walk = _CostWalk(self, variables, prices)
        for name in self.order:
            fragment = self.fragments[name]
            type_ = self._type(fragment.type_condition.name.value, None)
            walk.fragments[name] = walk.selection(fragment.selection_set, type_, False)
        root = self.schema.get_root_type(operation.operation)
        return walk.selection(operation.selection_set, root, False)


class _CostWalk:
    def __init__(self, analysis: Analysis, variables: dict[str, Any], prices: Prices) -> None:
        self.analysis = analysis
        self.variables = variables
        self.prices = prices
        self.fragments: dict[str, int] = {}

    def selection(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, flat: bool
    ) -> int:
        total = 0
        for part, type_ in self.analysis._parts(selection_set, parent):
            if isinstance(part, str):
                total += self.fragments.get(part, 0)
            elif isinstance(part, SelectionSetNode):
                total += self.selection(part, type_, flat)
            else:
                total += self.field(part, type_, flat)
        return _cap(total)

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, flat: bool) -> int:
        if node.selection_set is None:
            return 0
        name = node.name.value
        definition = self.analysis._field(parent, name)
        named = get_named_type(definition.type) if definition is not None else None
        flat = flat or name in INTROSPECTION_ROOTS or _is_introspection(parent)
        children = self.selection(node.selection_set, named, flat)
        if flat or definition is None or parent is None:
            return _cap(1 + children)
        if "first" in definition.args:  # a connection: its edges are counted inside
            return _cap(1 + self.page(node) * children)
        type_ = definition.type
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if not isinstance(type_, GraphQLList):
            return _cap(1 + children)
        if parent.name.endswith("Connection"):
            return _cap(1 + children)  # the edges of a page: its size counted them
        items = self.prices.bounds.get(f"{parent.name}.{name}", self.prices.page)
        return _cap(items * (1 + children))

    def page(self, node: FieldNode) -> int:
        """The page a connection runs: `first`, else `last`, else the default page size."""
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        for name in PAGE_ARGUMENTS:
            value = self.value(given.get(name))
            if value is not None:
                return min(max(value, 0), CAP)
        return self.prices.page

    def value(self, node: ValueNode | None) -> int | None:
        found: Any = None
        if isinstance(node, VariableNode):
            found = self.variables.get(node.name.value)
        elif isinstance(node, IntValueNode):
            found = int(node.value)
        return found if isinstance(found, int) and not isinstance(found, bool) else None
