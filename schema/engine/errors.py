"""GraphQL errors as clients read them: expected ones with their code, the rest masked."""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

from app.db import expected_error

log = logging.getLogger("accountflow.graphql")

INTERNAL = "Internal error"
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?\s*$", re.DOTALL)


def format_error(error: GraphQLError, request_id: str, production: bool) -> dict[str, Any]:
    original = error.original_error
    expected = None if original is None else expected_error(original)
    if expected is not None:
        log.info("%s [request %s] at %s: %s", expected.code, request_id, error.path, original)
        extensions = {"code": expected.code, "field": expected.field, "requestId": request_id}
        error = GraphQLError(
            expected.message, nodes=error.nodes, path=error.path, extensions=extensions
        )
    elif error.path is None and isinstance(original, ValueError | TypeError | ArithmeticError):
        # A scalar refusing a literal written in the document, found by validation before
        # anything ran: the client's mistake, told as graphql-core words it.
        log.info("invalid literal [request %s]: %s", request_id, original)
    elif original is not None and not isinstance(original, GraphQLError):
        log.error(
            "unexpected error [request %s] at %s",
            request_id,
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        error = GraphQLError(
            INTERNAL,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )
    formatted: dict[str, Any] = error.formatted  # type: ignore[assignment]
    if production:  # no "Did you mean 'x'?": they spell out the schema to a stranger
        formatted["message"] = SUGGESTION.sub("", formatted["message"])
    return formatted


def error_order(error: dict[str, Any]) -> tuple[Any, ...]:
    """Errors in document order: request errors first, then by the field's place in the
    document and the path's list indices (graphql-core's order follows its scheduling)."""
    path = error.get("path")
    if path is None:
        return (0,)
    location = (error.get("locations") or [{}])[0]
    steps = tuple((0, step, "") if isinstance(step, int) else (1, 0, step) for step in path)
    return (1, location.get("line", 0), location.get("column", 0), steps)
