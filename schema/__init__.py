"""The GraphQL surface: one schema merged from the features' Query and Mutation types."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.settings import Limits
from schema import (
    account_records,
    accounts,
    activities,
    audit,
    cadence,
    contact_upsert,
    events,
    frequency,
    handoff,
    imports,
    leads,
    node,
    planning,
    reports,
    subscriptions,
    suggestions,
    tasks,
    teams,
    territories,
    tokens,
    upsert,
    users,
    webhooks,
)
from schema.engine import graphql_schema
from schema.engine.executor import SettlingExecutionContext
from schema.engine.guards import install_guards
from schema.engine.limits import CostExtension, validation_rules
from schema.errors import ERROR_TYPES, BasicError
from schema.scalars import SCALAR_MAP

Query = merge_types(
    "Query",
    (
        node.Query,
        users.Query,
        accounts.Query,
        account_records.Query,
        audit.Query,
        cadence.Query,
        frequency.Query,
        activities.Query,
        handoff.Query,
        handoff.BoardQuery,
        planning.Query,
        reports.Query,
        tokens.Query,
        planning.StatusQuery,
        webhooks.Query,
        events.Query,
        leads.Query,
        territories.Query,
        suggestions.Query,
        tasks.Query,
        teams.Query,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        users.Mutation,
        accounts.Mutation,
        account_records.Mutation,
        cadence.Mutation,
        frequency.Mutation,
        activities.Mutation,
        handoff.Mutation,
        planning.Mutation,
        tokens.Mutation,
        planning.StatusMutation,
        leads.Mutation,
        territories.Mutation,
        imports.Mutation,
        upsert.Mutation,
        contact_upsert.Mutation,
        webhooks.Mutation,
        tasks.Mutation,
        teams.Mutation,
    ),
)


class AccountflowSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The HTTP edge masks and logs errors with the request id; nothing to do here.
        return None


def build_schema(limits: Limits | None = None) -> AccountflowSchema:
    limits = limits or Limits()
    # The validation cache is keyed by the rules: build the rule classes once, or every
    # request misses the cache. Depth, aliases and introspection shape visit each fragment
    # once (schema/engine/limits.py); the cost needs the variables, so it is priced per request.
    rules = validation_rules(limits.max_depth, limits.max_aliases)
    extensions: list[Any] = [
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        lambda: CostExtension(limits),
    ]
    built = AccountflowSchema(
        query=Query,
        mutation=Mutation,
        subscription=subscriptions.Subscription,
        extensions=extensions,
        types=[BasicError, *ERROR_TYPES.values()],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=SettlingExecutionContext,
    )
    install_guards(graphql_schema(built))
    return built


schema = build_schema()
