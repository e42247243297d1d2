"""Bounded validation and cost: depth, aliases and introspection shape as one validation
rule, the cost as an extension that prices each operation before it runs (and bounds the
tokens strawberry parses), and the per-user cost budget. Each reads the document's summary
(schema/engine/analysis.py), made once per fragment, so the work is linear in the
document's size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    build_schema,
    get_introspection_query,
    get_operation_ast,
    parse,
)
from graphql.language import SKIP
from graphql.validation import ASTValidationRule, ValidationContext
from strawberry.extensions import SchemaExtension

from app.models.auth import Role
from app.settings import Limits
from schema.engine import graphql_schema
from schema.engine.analysis import DEPTH, Analysis, Prices, page_values
from schema.relay import BOUNDED_LISTS

__all__ = [
    "Analysis",
    "CostBudget",
    "CostExtension",
    "prices",
    "standard_nesting",
    "validation_rules",
]


@cache
def prices(limits: Limits) -> Prices:
    """The default page, and the bound of each bounded list (schema.relay.BOUNDED_LISTS)."""
    bounds = dict.fromkeys(BOUNDED_LISTS, limits.max_list_items)
    return Prices(page=limits.default_page_size, bounds=bounds)


@cache
def standard_nesting() -> dict[str, int]:
    """How deep the standard introspection query (every option on) nests each field."""
    schema = build_schema("type Query { ok: Boolean }")
    most: dict[str, int] = {}
    for everything in (False, True):
        query = get_introspection_query(
            descriptions=True,
            specified_by_url=everything,
            directive_is_repeatable=everything,
            schema_description=everything,
            input_value_deprecation=everything,
            one_of=everything,
        )
        analysis = Analysis(schema, parse(query))
        for operation in analysis.operations:
            for key, count in analysis.operation_shape(operation).nesting.items():
                most[key] = max(most.get(key, 0), count)
    return most


def _errors(
    analysis: Analysis, max_depth: int, max_aliases: int
) -> Iterable[tuple[str, str, OperationDefinitionNode]]:
    standard = standard_nesting()
    for operation in analysis.operations:
        name = operation.name.value if operation.name else "anonymous"
        shape = analysis.operation_shape(operation)
        depth = shape.height - 1
        if depth > max_depth:
            message = (
                f"'{name}' exceeds maximum operation depth of {max_depth} (its depth is {depth})."
            )
            yield message, "QUERY_TOO_DEEP", operation
        if shape.aliases > max_aliases:
            message = f"'{name}' has {shape.aliases} aliases; at most {max_aliases} aliases."
            yield message, "TOO_MANY_ALIASES", operation
        for key, count in sorted(shape.nesting.items(), key=lambda kv: kv[0] == DEPTH):
            bound = standard.get(key, 0)
            if count > bound:
                what = "introspection" if key == DEPTH else f"'{key}'"
                message = (
                    f"'{name}' nests {what} {count} levels deep; the standard introspection"
                    f" query nests it {bound} at most."
                )
                yield message, "INTROSPECTION_TOO_DEEP", operation
                break


def validation_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """One rule for depth, aliases and introspection shape (a class per schema, not request)."""

    class BoundedShapeRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.schema = context.schema

        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            analysis = Analysis(self.schema, node)
            try:
                for message, code, operation in _errors(analysis, max_depth, max_aliases):
                    error = GraphQLError(message, [operation], extensions={"code": code})
                    self.report_error(error)
            except RecursionError:
                message = "The document is nested too deeply."
                self.report_error(GraphQLError(message, extensions={"code": "QUERY_TOO_DEEP"}))
            return SKIP  # nothing else to visit for this rule

    return [BoundedShapeRule]


class CostExtension(SchemaExtension):
    """Prices the operation before it runs; refuses it over the limit; reports the cost.

    Also refuses introspection to non-admins in production. `extensions.cost` is in every
    response this schema answers (0 when nothing could run).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cost = 0

    def on_operation(self) -> Iterator[None]:
        # Before strawberry parses: the options schema/engine/documents.py parses with, so
        # both find the one parse of a text in ParserCache's LRU.
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        operation = get_operation_ast(document, ctx.operation_name) if document else None
        if document is not None and operation is not None:
            schema = graphql_schema(ctx.schema)
            analysis = Analysis(schema, document)
            variables = page_values(schema, operation, ctx.variables)
            self.cost = analysis.cost(operation, variables, prices(self.limits))
            error = self._refusal(analysis, operation)
            if error is not None:
                ctx.result = ExecutionResult(data=None, errors=[error])
        yield

    def _refusal(
        self, analysis: Analysis, operation: OperationDefinitionNode
    ) -> GraphQLError | None:
        if self.cost > self.limits.max_cost:
            return GraphQLError(
                f"The query costs {self.cost}, over the limit of {self.limits.max_cost}:"
                " ask for smaller pages (`first`) or fewer nested lists.",
                [operation],
                extensions={
                    "code": "QUERY_TOO_COSTLY",
                    "cost": self.cost,
                    "maxCost": self.limits.max_cost,
                },
            )
        context = self.execution_context.context
        settings = getattr(context, "settings", None)
        viewer = getattr(context, "viewer", None)
        if settings is None or not settings.production or viewer is None:
            return None
        if viewer.role is not Role.ADMIN and analysis.operation_shape(operation).introspects:
            return GraphQLError(
                "Introspection is available to admins only in production.",
                [operation],
                extensions={"code": "FORBIDDEN"},
            )
        return None

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.cost}


class CostBudget:
    """A per-user budget of cost per minute, in this process (a leaky bucket).

    Each user's spent cost drains at `per_minute / 60` per second; a request is refused
    while what is left undrained reaches `per_minute`. Keyed by the user, so the tokens a
    user mints share one budget. The bucket lives in the worker's memory: with N workers a
    user may spend up to N times the budget, and a restart forgets it. `per_minute = 0`
    turns the budget off.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60
        self.clock = clock
        self.spent: dict[int, tuple[float, float]] = {}  # user id -> (level, at)

    def _level(self, user_id: int, now: float) -> float:
        level, at = self.spent.get(user_id, (0.0, now))
        return max(0.0, level - (now - at) * self.rate)

    def retry_after(self, user_id: int) -> int | None:
        """Seconds to wait before this user may run again; None when they may now."""
        if not self.per_minute:
            return None
        level = self._level(user_id, self.clock())
        if level < self.per_minute:
            return None
        return max(1, math.ceil((level - self.per_minute) / self.rate) + 1)

    def spend(self, user_id: int, cost: int) -> None:
        """Add the cost of what ran (a request admitted by `retry_after`), whatever is left."""
        if not self.per_minute or cost <= 0:
            return
        now = self.clock()
        if len(self.spent) > 10_000:  # forget the users whose spending has drained
            self.spent = {k: v for k, v in self.spent.items() if self._level(k, now) > 0}
        self.spent[user_id] = (self._level(user_id, now) + cost, now)

    def charge(self, user_id: int, cost: int) -> bool:
        """Spend `cost` if the user's budget is not spent yet (True); else spend nothing and
        say False. For work charged as it goes, e.g. each subscription event delivered."""
        if self.retry_after(user_id) is not None:
            return False
        self.spend(user_id, cost)
        return True
