"""The GraphQL engine: the only code that touches strawberry's and graphql-core's internals.

HTTP and WebSocket transport, executor, compiled read path, limits, guards, variables and
the fast input builders. Imports the domain and the schema's types; the feature modules of
`schema` never import private hooks: they use strawberry's and graphql-core's public API
and the functions below (tests/schema/engine/test_engine_boundary.py fails otherwise).
"""

from __future__ import annotations

from typing import TypeAlias

from graphql import GraphQLSchema
from strawberry import Schema
from strawberry.types.scalar import ScalarDefinition

# StrawberryConfig(scalar_map=...): a Python type and the scalar that stands for it.
ScalarMap: TypeAlias = dict[object, ScalarDefinition]


def graphql_schema(schema: Schema) -> GraphQLSchema:
    """graphql-core's schema under strawberry's (its private `_schema`)."""
    return schema._schema
