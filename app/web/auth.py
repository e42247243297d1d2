"""The one authentication backend of every endpoint, and its one 401 and one 403 answer.

`TokenBackend` runs as Starlette's AuthenticationMiddleware: it reads the Authorization
header once per request, checks the token (unknown, revoked, expired, deactivated user),
stamps lastUsedAt, and leaves a `Viewer` in `request.user`. Its scopes are the actions of
the rule table (schema.permissions.POLICY) the role may take, so an endpoint states what it
needs with `protected(action)` (Starlette's `requires`) and never reads a header or a role.
The WebSocket carries its token in connection_init, so it calls `principal_of` itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    requires,
)
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from app import metrics
from app.auth import tokens
from app.auth.tokens import Principal
from app.kit.actor import Actor
from app.models.auth import Role
from app.web.state import state_of
from schema.authz import grants
from schema.engine.http import error_body, json_response
from schema.engine.http_request import JSON, answer_type, request_id_of
from schema.permissions import FORBIDDEN_MESSAGE, POLICY

AUTHENTICATED = "authenticated"
MISSING = "Missing bearer token."
INVALID = "Invalid, expired or revoked token."
GRAPHQL_PATH = "/graphql"

Endpoint = Callable[[Request], Awaitable[Response]]

# Per role: "authenticated" and every action the rule table lets it take.
SCOPES: dict[Role, tuple[str, ...]] = {
    role: (AUTHENTICATED, *sorted(a for a, rule in POLICY.items() if role in rule.roles))
    for role in Role
}


class Viewer(BaseUser):
    """`request.user` of a request with a valid token."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.user.name

    @property
    def identity(self) -> str:
        return str(self.principal.user.id)

    def actor(self, request_id: str) -> Actor:
        user = self.principal.user
        return Actor(
            user_id=user.id,
            role=user.role,
            token_id=self.principal.token_id,
            request_id=request_id,
            grants=grants(user.role),
        )


async def principal_of(
    sessionmaker: async_sessionmaker[AsyncSession], authorization: str | None
) -> Principal:
    """The principal of an `Authorization` value, its use stamped; AuthenticationError if none.

    The stamp (at most once a minute per token) commits in this short transaction of its
    own, so a request that fails later still counts as a use.
    """
    token = tokens.bearer_token(authorization)
    if token is None:
        raise AuthenticationError(MISSING)
    async with sessionmaker() as session:
        principal = await tokens.authenticate(session, token)
        if principal is None:
            raise AuthenticationError(INVALID)
        if principal.use_is_stale:
            await tokens.record_use(session, principal.token_id)
            await session.commit()
    return principal


class TokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if conn.scope["type"] != "http":
            return None  # the WebSocket's token comes in its connection_init message
        header = conn.headers.get("authorization")
        if header is None:
            return None  # anonymous: public pages serve it, `protected` endpoints answer 401
        principal = await principal_of(state_of(conn).sessionmaker, header)
        return AuthCredentials(SCOPES[principal.user.role]), Viewer(principal)


def refusal(conn: HTTPConnection, status: int, code: str, message: str) -> Response:
    """The one shape of a refused request, on every endpoint: /graphql's (GraphQL over HTTP),
    in the media type the client prefers of the two JSON ones."""
    if status == 401 and conn.scope.get("path") == GRAPHQL_PATH:
        # Counted as before the edge moved out of the GraphQL endpoint.
        metrics.REQUESTS.labels("anonymous", "unauthorized").inc()
    body = error_body(message, code)
    return json_response(body, status, request_id_of(conn), answer_type(conn) or JSON)


def on_error(conn: HTTPConnection, error: AuthenticationError) -> Response:
    """AuthenticationMiddleware's answer to a header it refused."""
    return refusal(conn, 401, "UNAUTHENTICATED", str(error))


async def unauthenticated(request: Request, _: Exception) -> Response:
    """`requires` found no token at all."""
    return on_error(request, AuthenticationError(MISSING))


async def forbidden(request: Request, _: Exception) -> Response:
    """`requires` found a token whose role the rule table does not give the action."""
    return refusal(request, 403, "FORBIDDEN", FORBIDDEN_MESSAGE)


EXCEPTION_HANDLERS = {401: unauthenticated, 403: forbidden}


def protected(action: str | None = None) -> Callable[[Endpoint], Endpoint]:
    """401 without a valid token; 403 when the rule table does not give the role `action`."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        guarded = endpoint
        if action is not None:
            if action not in POLICY:  # a misspelt action fails at start-up, not per request
                raise ValueError(f"{action!r} is not an action of schema.permissions.POLICY")
            guarded = requires(action, status_code=403)(guarded)
        return cast(Endpoint, requires(AUTHENTICATED, status_code=401)(guarded))

    return decorate


def viewer_of(request: Request) -> Viewer:
    """The viewer of a `protected` endpoint's request."""
    user = request.user
    if not isinstance(user, Viewer):
        raise HTTPException(401)
    return user
