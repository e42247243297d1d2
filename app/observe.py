"""What is known about the HTTP request in flight, for its log lines, access line and spans.

The edge (app.web.observe) opens one `Observed` per request in a context variable; the
code that learns something on the way (the authentication backend the role, the GraphQL
endpoint the operation and its cost, the database hooks that PostgreSQL is away) notes it
there. Outside a request `current()` is None and noting does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(slots=True)
class Observed:
    request_id: str
    method: str
    path: str
    role: str | None = None
    operation: str | None = None
    cost: int | None = None
    compiled: bool | None = None
    database_down: bool = False


_CURRENT: ContextVar[Observed | None] = ContextVar("accountflow_request", default=None)


def current() -> Observed | None:
    return _CURRENT.get()


def begin(observed: Observed) -> Token[Observed | None]:
    """Make `observed` the current request's record; hand the token back to `end`."""
    return _CURRENT.set(observed)


def end(token: Token[Observed | None]) -> None:
    _CURRENT.reset(token)


def note_role(role: str) -> None:
    observed = _CURRENT.get()
    if observed is not None:
        observed.role = role


def note_operation(operation: str) -> None:
    observed = _CURRENT.get()
    if observed is not None:
        observed.operation = operation


def note_execution(*, cost: int, compiled: bool) -> None:
    observed = _CURRENT.get()
    if observed is not None:
        observed.cost, observed.compiled = cost, compiled


def note_database_down() -> None:
    """PostgreSQL could not be reached for this request: the edge answers 503."""
    observed = _CURRENT.get()
    if observed is not None:
        observed.database_down = True


def forgive_database_down() -> None:
    """The endpoint answered without the database after all (/metrics for a scraper)."""
    observed = _CURRENT.get()
    if observed is not None:
        observed.database_down = False
