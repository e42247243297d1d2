"""Query documents generated from the schema over the fields the read compiler covers.

Random subsets of fields, nested objects, lists and connections to a bounded depth; aliases
(the same field twice with different arguments); named and inline fragments, on objects
and on the `Node` interface; `@skip`/`@include` with literal and variable conditions;
arguments as literals or variables, valid and not. A document stays inside the server's
limits (depth, aliases, cost) most of the time; a few go beyond on purpose.

Response names are kept from clashing (an alias is never reused, and a field written
without an alias takes the same arguments wherever it appears in the document), so most
documents are valid; the invalid ones must fail the same way on both paths.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.models.auth import Role
from schema import schema as app_schema
from schema.engine.compiled import COVERED
from schema.relay import to_global_id
from tests.schema.engine.compiled.world import SECOND_PIPELINE, World

TYPES = app_schema._schema.type_map


def fields_of(type_name: str) -> dict[str, GraphQLField]:
    found = TYPES[type_name]
    assert isinstance(found, GraphQLObjectType | GraphQLInterfaceType), type_name
    fields: dict[str, GraphQLField] = found.fields
    return fields


def _is_node(type_name: str) -> bool:
    found = TYPES[type_name]
    return isinstance(found, GraphQLObjectType) and any(i.name == "Node" for i in found.interfaces)


NODE_TYPES = sorted(name for name in COVERED if _is_node(name))
MAX_ALIASES = 40
ROUGH_COST = 1_000  # a path's multiplier above which nothing more is nested, mostly
PAGE = 50  # the default page, as the cost counts lists without `first`


class Enum(str):
    """An enum value: written bare in a document, as a string in variables."""


@dataclass(frozen=True, slots=True)
class Case:
    document: str
    variables: dict[str, Any] | None
    role: Role
    operation_name: str | None
    get: bool
    accept: str | None
    covered: bool  # every field is in COVERED (else some are not, on purpose)


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"


def _shape(field_def: GraphQLField) -> str:
    return str(field_def.type)


def _conflicting_names() -> frozenset[str]:
    """Field names whose type differs between the Node types: unaliased, they cannot meet."""
    shapes: dict[str, set[str]] = {}
    for name in NODE_TYPES:
        fields = fields_of(name)
        for field_name, field_def in fields.items():
            shapes.setdefault(field_name, set()).add(_shape(field_def))
    return frozenset(name for name, found in shapes.items() if len(found) > 1)


CONFLICTING = _conflicting_names()


def _weighted(object_share: int) -> dict[str, list[str]]:
    """Each type's covered fields, the ones that nest (the compiler's joins) repeated."""
    weighted = {}
    for type_name, names in COVERED.items():
        fields = fields_of(type_name)
        nested = [n for n in sorted(names) if not is_leaf_type(get_named_type(fields[n].type))]
        weighted[type_name] = sorted(names) + nested * object_share
    return weighted


WEIGHTED = _weighted(2)
OBJECT_HEAVY = _weighted(12)
# The lists and `node` first: they reach everything else.
ROOTS = [n for n in sorted(COVERED["Query"]) for _ in range(1 if n == "viewer" else 2)]
# ADMIN first: hypothesis shrinks a failing case towards it.
ROLES = [Role.ADMIN, Role.MANAGER, Role.REP, Role.INTEGRATION]
MISSING = object()  # a variable declared and not sent
BROKEN = [
    'accounts(first: "5") { totalCount }',
    "accounts { nope }",
    "node { id }",
    "viewer { id } viewer: accounts { totalCount }",
    "accounts(first: $undeclared) { totalCount }",
    "viewer { name { first } }",
    "node(id: 5) { ... on Address { city } }",
]


@dataclass
class _Fragment:
    name: str
    on: str
    height: int
    mult: int


@dataclass
class Builder:
    """One document in the making.

    Its details come from a seeded `Random` that hypothesis draws (hundreds of hypothesis
    draws per document would cost most of the test's minute); the sizes that matter for
    shrinking (field budget, depth) are hypothesis draws of their own.
    """

    rnd: random.Random
    world: World
    max_depth: int
    mult_cap: int
    uncovered: bool
    eager: bool = False  # nest wherever it can: the documents meant to break the limits
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    fragments: list[_Fragment] = field(default_factory=list)
    fragment_text: list[str] = field(default_factory=list)
    canonical: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    budget: int = 30  # fields left to write; nothing more is nested once it is spent
    aliases: int = 0
    named: int = 0
    used_uncovered: bool = False

    # --- small draws ---
    def chance(self, p: float) -> bool:
        return self.rnd.random() < p

    def pick(self, options: list[Any]) -> Any:
        return self.rnd.choice(options)

    def some(self, options: list[Any], low: int, high: int) -> list[Any]:
        return [self.rnd.choice(options) for _ in range(self.rnd.randint(low, high))]

    def variable(self, type_name: str, value: Any) -> str:
        name = f"v{len(self.variables)}"
        self.variables[name] = (type_name, value)
        return f"${name}"

    # --- arguments ---
    def argument(self, type_name: str, value: Any) -> str:
        """A value written in place, or as a variable (declared and sometimes not sent)."""
        if value is MISSING:
            return self.variable(type_name, MISSING)
        if self.chance(0.4):
            return self.variable(type_name, value)
        return literal(value)

    def first(self) -> Any:
        return self.pick([None, 0, 1, 1, 2, 2, 3, 3, 5, 5, 10, 100, 101, -1, MISSING])

    def cursor(self, kind: str) -> Any:
        cursors = self.world.cursors
        other = "activities" if kind != "activities" else "accounts"
        options: list[Any] = [
            *([self.pick(cursors[kind])] * 6),
            self.pick(cursors[other]),
            "",
            "not a cursor",
            "WyJ4Il0=",  # ["x"]
            "W10=",  # []
            None,
            MISSING,
        ]
        return self.pick(options)

    def global_id(self) -> str:
        ids = self.world.ids
        kind = self.pick([*NODE_TYPES, *NODE_TYPES, "Account", "Account", "AuditEntry", "Lead"])
        options: list[str] = [to_global_id(kind, self.pick(ids[kind]))] * 8
        options += [
            to_global_id(kind, 999_999),
            to_global_id("Account", self.world.merged),
            to_global_id("Nope", 1),
            "QWNjb3VudDphYmM=",  # "Account:abc"
            "",
            "!",
        ]
        return str(self.pick(options))

    def account_filter(self) -> Any:
        if self.chance(0.05):
            return self.pick([None, MISSING, {}])
        keys = set(
            self.some(
                ["classification", "industry", "countryCode", "includeArchived", "parentId"], 0, 3
            )
        )
        found: dict[str, Any] = {}
        for key in sorted(keys):
            if key == "classification":
                found[key] = [Enum(c) for c in sorted(set(self.some(list("ABCD"), 0, 3)))]
            elif key == "industry":
                found[key] = self.pick(["Agriculture", "Forestry", "Nope", "", None])
            elif key == "countryCode":
                found[key] = self.pick(["US", "DE", "de", "XX", None])
            elif key == "includeArchived":
                found[key] = self.pick([True, False, None])
            else:
                parents = [to_global_id("Account", p) for p in self.world.parents]
                found[key] = self.pick([*parents, *parents, self.global_id(), None])
        if self.chance(0.08):
            found[self.pick(["search", "tags", "source", "cadenceStatus", "stage"])] = self.pick(
                [["vip"], "Account", [Enum("WEBSITE")], [Enum("OVERDUE")], "QUALIFIED"]
            )
        return found

    def arguments(self, name: str, page: Any) -> str:
        args: list[str] = []
        if name in ("accounts", "branches", "activities", "users"):
            kind = name
            if page is not MISSING or self.chance(0.3):
                args.append(f"first: {self.argument('Int', page)}")
            if self.chance(0.3):
                args.append(f"after: {self.argument('String', self.cursor(kind))}")
        if name == "accounts":
            if self.chance(0.5):
                args.append(f"filter: {self.argument('AccountFilter', self.account_filter())}")
            if self.chance(0.06):
                args.append(f"last: {self.argument('Int', self.pick([1, 3, 101]))}")
                args.append(f"before: {self.argument('String', self.cursor('accounts'))}")
            if self.chance(0.1):
                field_name = self.pick(["NAME", "CREATED_AT", "UPDATED_AT", "NEXT_CONTACT_DUE"])
                order = {"field": Enum(field_name), "direction": Enum(self.pick(["ASC", "DESC"]))}
                args.append(f"orderBy: {self.argument('AccountOrder', order)}")
        if name == "users" and self.chance(0.7):
            value = self.pick([True, False, True, MISSING])
            args.append(f"includeInactive: {self.argument('Boolean!', value)}")
        if name == "node":
            args.append(f"id: {self.argument('ID!', self.global_id())}")
        if name in ("pipelineEntry", "stageHistory") and self.chance(0.8):
            value = self.pick(["default", "default", SECOND_PIPELINE, "nope", None, MISSING])
            args.append(f"pipeline: {self.argument('String', value)}")
        return f"({', '.join(args)})" if args else ""

    # --- directives ---
    def directives(self) -> str:
        if not self.chance(0.12):
            return ""
        name = self.pick(["skip", "include"])
        if self.chance(0.5):
            return f" @{name}(if: {literal(self.pick([True, False]))})"
        return f" @{name}(if: {self.variable('Boolean!', self.pick([True, False]))})"

    # --- selections ---
    def alias(self, force: bool) -> str:
        if self.aliases >= MAX_ALIASES - 2 and not self.eager:
            return ""
        if force or self.chance(0.6 if self.eager else 0.2):
            self.aliases += 1
            return f"a{self.aliases}: "
        return ""

    def field(self, parent: str, name: str, depth: int, mult: int) -> str | None:
        field_def = fields_of(parent)[name]
        target = get_named_type(field_def.type)
        leaf = is_leaf_type(target)
        if not leaf and (depth >= self.max_depth or self.budget <= 0):
            return None
        self.budget -= 1
        alias = self.alias(force=name in CONFLICTING and parent in NODE_TYPES and self.chance(0.95))
        takes = bool(field_def.args) and name in COVERED.get(parent, ())
        key = (parent, name)
        known = None if alias or not takes else self.canonical.get(key)
        page = known[1] if known else (self.first() if "first" in field_def.args else MISSING)
        child_mult = self.multiplier(parent, field_def, mult, page)
        if not leaf and child_mult > self.mult_cap:
            return None
        args = ""
        if known:
            args = known[0]
        elif takes:
            args = self.arguments(name, page)
            if not alias:
                self.canonical[key] = (args, page)
        text = f"{alias}{name}{args}{self.directives()}"
        if leaf:
            return text
        body = self.selection_set(target, depth + 1, child_mult)
        return f"{text} {body}"

    def multiplier(self, parent: str, field_def: GraphQLField, mult: int, page: Any) -> int:
        if "first" in field_def.args:
            if page is None or page is MISSING:
                return mult * PAGE
            return mult * max(1, int(page))
        inner = field_def.type.of_type if is_non_null_type(field_def.type) else field_def.type
        if is_list_type(inner) and not parent.endswith("Connection"):
            return mult * PAGE
        return mult

    def uncovered_field(self, parent: str) -> str | None:
        fields = fields_of(parent)
        extra = sorted(
            name
            for name, f in fields.items()
            if name not in COVERED.get(parent, ())
            and not any(is_non_null_type(a.type) for a in f.args.values())
        )
        if not extra:
            return None
        name = self.pick(extra)
        self.used_uncovered = True
        target = get_named_type(fields[name].type)
        return f"{name}" if is_leaf_type(target) else f"{name} {{ __typename }}"

    def selection_set(self, type_: GraphQLNamedType, depth: int, mult: int) -> str:
        if isinstance(type_, GraphQLInterfaceType):
            selections = self.interface_selections(type_.name, depth, mult)
        else:
            selections = self.object_selections(type_.name, depth, mult)
        return "{ " + " ".join(selections) + " }"

    def object_selections(self, type_name: str, depth: int, mult: int) -> list[str]:
        covered = sorted(COVERED[type_name])
        most = max(1, min(6, self.budget))
        names = self.some(OBJECT_HEAVY[type_name] if self.eager else WEIGHTED[type_name], 1, most)
        selections = [s for n in names if (s := self.field(type_name, n, depth, mult))]
        if self.chance(0.1):
            selections.append("__typename")
        if self.uncovered and self.chance(0.25) and (extra := self.uncovered_field(type_name)):
            selections.append(extra)
        selections += self.fragment_selections(type_name, depth, mult)
        if not selections or all("@" in s for s in selections):
            selections.append(
                self.pick(["__typename", "id"] if "id" in covered else ["__typename"])
            )
        return selections

    def interface_selections(self, type_name: str, depth: int, mult: int) -> list[str]:
        selections: list[str] = []
        if self.chance(0.6):
            selections.append(f"{self.alias(force=False)}id")
        if self.chance(0.4):
            selections.append("__typename")
        for on in self.some(NODE_TYPES, 0, 3):
            if on == "Account" or self.chance(0.6):
                body = self.selection_set(TYPES[on], depth, mult)
                selections.append(f"... on {on}{self.directives()} {body}")
        selections += self.fragment_selections(type_name, depth, mult)
        if not selections:
            selections.append("id")
        return selections

    def fragment_selections(self, type_name: str, depth: int, mult: int) -> list[str]:
        found: list[str] = []
        if self.budget <= 0:
            return found
        if self.chance(0.08):  # an inline fragment without a type condition
            body = self.selection_set(TYPES[type_name], depth, mult)
            found.append(f"...{self.directives()} {body}")
        if self.chance(0.05) and type_name in NODE_TYPES:
            found.append(f"... on Node{self.directives()} {{ id }}")
        if self.chance(0.2):
            found.append(self.spread(type_name, depth, mult))
        return found

    def spread(self, type_name: str, depth: int, mult: int) -> str:
        """A spread of a fragment that fits here, reused when one exists, else a new one."""
        ons = [type_name, "Node"] if type_name in NODE_TYPES else [type_name]
        fitting = [
            f
            for f in self.fragments
            if f.on in ons and depth + f.height <= self.max_depth and mult <= f.mult
        ]
        if fitting and self.chance(0.5):
            chosen: _Fragment = self.pick(fitting)
            return f"...{chosen.name}{self.directives()}"
        on = self.pick(ons) if self.chance(0.3) else type_name
        name = f"F{self.named}"
        self.named += 1
        body = self.selection_set(TYPES[on], depth, mult)
        self.fragment_text.append(f"fragment {name} on {on} {body}")
        self.fragments.append(_Fragment(name, on, self.max_depth - depth, mult))
        return f"...{name}{self.directives()}"

    def root(self) -> list[str]:
        names = self.some(ROOTS, 1, 3)
        selections = [s for n in names if (s := self.field("Query", n, 1, 1))]
        if self.chance(0.05):
            selections.append("__typename")
        if self.chance(0.03):  # the document does not validate: same errors on both paths
            selections.append(self.pick(BROKEN))
        return selections or ["__typename"]


def _declarations(variables: dict[str, tuple[str, Any]], builder: Builder) -> str:
    if not variables:
        return ""
    parts = []  # declared in order of first use
    for name, (type_name, _) in variables.items():
        default = ""
        if not type_name.endswith("!") and type_name == "Int" and builder.chance(0.1):
            default = f" = {builder.pick([2, 0, 101])}"
        parts.append(f"${name}: {type_name}{default}")
    return "(" + ", ".join(parts) + ")"


def _json(value: Any) -> Any:
    """A variable's value as sent: enums as their names (Enum is a str already)."""
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return str(value) if isinstance(value, Enum) else value


@st.composite
def cases(draw: st.DrawFn, world: World) -> Case:
    """A document with its variables, role and request shape.

    Hypothesis draws the sizes (field budget, depth), which shrink a failing case towards
    a small document; a seeded Random draws the rest.
    """
    rnd = draw(st.randoms(use_true_random=True))
    over = rnd.random() < 0.04  # beyond depth or cost on purpose, mostly
    builder = Builder(
        rnd=rnd,
        world=world,
        max_depth=rnd.randint(12, 14) if over else draw(st.integers(3, 9)),
        mult_cap=10**9 if over else ROUGH_COST,
        uncovered=rnd.random() < 0.1,
        budget=rnd.randint(40, 80) if over else draw(st.integers(3, 40)),
        eager=over,
    )
    selections = builder.root()
    declared = _declarations(builder.variables, builder)
    header = f"query Q{declared} " if declared or rnd.random() < 0.5 else ""
    document = "\n".join([header + "{ " + " ".join(selections) + " }", *builder.fragment_text])
    operation_name = None
    if header and rnd.random() < 0.05:  # two operations: the name chooses
        document += "\nquery Other { viewer { id } }"
        operation_name = rnd.choice(["Q", "Other"])
    sent = {k: _json(v) for k, (_, v) in builder.variables.items() if v is not MISSING}
    return Case(
        document=document,
        variables=sent if sent or rnd.random() < 0.5 else None,
        role=draw(st.sampled_from(ROLES)),
        operation_name=operation_name,
        get=rnd.random() < 0.1,
        accept=rnd.choice([None] * 6 + ["application/graphql-response+json", "application/json"]),
        covered=not builder.used_uncovered,
    )


def sample(world: World, count: int) -> list[Case]:
    """`count` cases outside a test of their own (the same ones on every run)."""
    found: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases(world))
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    return found
