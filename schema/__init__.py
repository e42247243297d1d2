"""The GraphQL surface: one schema merged from the features' Query and Mutation types."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.settings import Limits
from schema import accounts, audit, node, planning, users
from schema.errors import ERROR_TYPES, BasicError

Query = merge_types("Query", (node.Query, users.Query, accounts.Query, audit.Query, planning.Query))
Mutation = merge_types("Mutation", (users.Mutation, accounts.Mutation, planning.Mutation))


class AccountflowSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The HTTP edge masks and logs errors with the request id; nothing to do here.
        return None


def build_schema(limits: Limits | None = None) -> AccountflowSchema:
    limits = limits or Limits()
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    return AccountflowSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        types=[BasicError, *ERROR_TYPES.values()],
    )


schema = build_schema()
