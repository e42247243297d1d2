"""What a subscription costs: the price the HTTP path gives a query (schema/engine/analysis.py),
refused over the same limit (`QUERY_TOO_COSTLY`), and charged again for every event it
delivers (`RATE_LIMITED` once the viewer's budget is spent).

strawberry runs the cost extension for a subscription but drops the refusal it leaves
(`ExecutionContext.result` is read for queries only), so the subscription's resolver asks
here before it listens, with the document strawberry parsed and validated already.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError
from strawberry.types import Info

from app.settings import Limits
from schema.engine.analysis import Analysis
from schema.engine.limits import prices


def subscription_cost(info: Info[Any, Any], limits: Limits) -> int:
    """The cost of the operation `info` (a strawberry Info) resolves, variables applied."""
    raw = info._raw_info
    document = DocumentNode(definitions=(raw.operation, *raw.fragments.values()))
    analysis = Analysis(raw.schema, document)
    return analysis.cost(raw.operation, info.variable_values, prices(limits))


def check_cost(info: Info[Any, Any], limits: Limits) -> int:
    """The subscription's cost per event; GraphQLError `QUERY_TOO_COSTLY` over the limit."""
    cost = subscription_cost(info, limits)
    if cost > limits.max_cost:
        raise GraphQLError(
            f"The query costs {cost}, over the limit of {limits.max_cost}:"
            " ask for smaller pages (`first`) or fewer nested lists.",
            [info._raw_info.operation],
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": limits.max_cost},
        )
    return cost


def rate_limited() -> GraphQLError:
    return GraphQLError(
        "The cost budget for the minute is spent; subscribe again later.",
        extensions={"code": "RATE_LIMITED"},
    )
