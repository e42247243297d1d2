"""graphql-core's execution, as the server runs it: siblings settle, big batches coerce fast.

Two private hooks of graphql-core live here and nowhere else: failed fields' siblings run to
their end instead of being cancelled, and logActivities' items are coerced by
schema/engine/batch_variables.py rather than graphql-core's generic walk over a 1,000-item
variable (bench/executor.py: 17-30% of the server's CPU on a batch of 1,000).
"""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import DocumentNode, GraphQLSchema
from graphql.execution import executor as graphql_executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.engine import batch_variables


async def _gather_all(*awaitables: Any) -> list[Any]:
    """Sibling fields to the end, then the first failure (graphql-core's own cancels them).

    graphql-core cancels a failed field's siblings; one cancelled mid-statement leaves its
    connection mid-protocol, and one cancelled while checking a connection out of the pool
    leaks it. Their answers are dropped all the same, so waiting for them costs nothing but
    the time they take, and every error they meet is reported.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


graphql_executor.gather_with_cancel = _gather_all  # type: ignore[attr-defined]


class SettlingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution context, telling the request what it leaves running, and
    coercing logActivities' items itself.

    When an error bubbles up synchronously, graphql-core returns without waiting for the
    failed field's pending siblings and settles them in the background. They may still use
    the request's session; the request waits for them (`Context.settle`) before closing it,
    or one would check a connection out after the close and leak it.
    """

    def settle_in_background(self, awaitables: list[Any]) -> None:
        super().settle_in_background(awaitables)
        background = getattr(self.context_value, "background", None)
        if background is not None and self.background_futures not in background:
            background.append(self.background_futures)

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        found = batch_variables.split(schema, document, operation_name, raw_variable_values)
        if found is not None:
            light, restore = found
            built = super().build(
                schema, document, root_value, context_value, light, operation_name, *args, **kwargs
            )
            if not isinstance(built, list):  # else errors elsewhere: graphql-core explains all
                built.variable_values = restore(built.variable_values)
                return built
        return super().build(
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )
