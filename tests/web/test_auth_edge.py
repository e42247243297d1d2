"""One edge: every endpoint refuses a token the same way and stamps the use of a good one.

The endpoints are listed once (ENDPOINTS); the WebSocket, whose token travels in
connection_init, closes with 4403 and the message the HTTP endpoints answer 401 with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, update
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.auth import tokens
from app.kit.actor import SYSTEM
from app.models.auth import ApiToken, Role, User
from schema.permissions import FORBIDDEN_MESSAGE, POLICY
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api, Caller

MISSING = "Missing bearer token."
INVALID = "Invalid, expired or revoked token."
VIEWER = "{ viewer { id } }"
SPAN = "from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    action: str | None  # the rule of the table the endpoint needs (None: each field's own)
    body: bytes | None = None
    content_type: str | None = None

    def roles(self) -> frozenset[Role]:
        return frozenset(Role) if self.action is None else POLICY[self.action].roles


ENDPOINTS = {
    "graphql POST": Endpoint(
        "POST", "/graphql", None, orjson.dumps({"query": VIEWER}), "application/json"
    ),
    "graphql GET": Endpoint("GET", "/graphql?query=%7Bviewer%7Bid%7D%7D", None),
    "ingest": Endpoint(
        "POST", "/ingest/activities", "activity.log", b"x\n", "application/x-ndjson"
    ),
    "export": Endpoint("GET", "/export/accounts.csv", "export.run"),
    "report export": Endpoint("GET", f"/export/reports/activityMix.csv?{SPAN}", "report.read"),
    "metrics": Endpoint("GET", "/metrics", "metrics.read"),
}
every_endpoint = pytest.mark.parametrize("name", list(ENDPOINTS))


def refused(message: str, code: str) -> dict[str, Any]:
    return {
        "errors": [{"message": message, "extensions": {"code": code}}],
        "extensions": {"cost": 0},
    }


async def call(api: Api, name: str, authorization: str | None) -> tuple[int, Any]:
    endpoint = ENDPOINTS[name]
    headers = {} if endpoint.content_type is None else {"content-type": endpoint.content_type}
    if authorization is not None:
        headers["authorization"] = authorization
    response = await api.client.request(
        endpoint.method, endpoint.path, content=endpoint.body, headers=headers
    )
    if response.status_code in (401, 403):
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.headers["x-request-id"]
        return response.status_code, response.json()
    return response.status_code, None


async def expired(api: Api) -> str:
    caller = await api.caller(Role.MANAGER)
    await api.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == caller.user_id)
        .values(expires_at=func.now() - timedelta(seconds=1))
    )
    await api.session.commit()
    return caller.token


async def revoked(api: Api) -> str:
    caller = await api.caller(Role.MANAGER)
    await tokens.revoke_token(api.session, actor=SYSTEM, raw_token=caller.token)
    await api.session.commit()
    return caller.token


async def deactivated(api: Api) -> str:
    """The user is inactive, its token left as it was (not revoked, not expired)."""
    caller = await api.caller(Role.MANAGER)
    await api.session.execute(update(User).where(User.id == caller.user_id).values(is_active=False))
    await api.session.commit()
    return caller.token


async def unknown(api: Api) -> str:
    return "af_" + "x" * 43


BAD_TOKENS: dict[str, Callable[[Api], Awaitable[str]]] = {
    "unknown": unknown,
    "revoked": revoked,
    "expired": expired,
    "deactivated": deactivated,
}
MALFORMED = ["", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token af_abc"]


async def last_used(api: Api, caller: Caller) -> datetime | None:
    found: datetime | None = await api.session.scalar(
        select(ApiToken.last_used_at).where(ApiToken.user_id == caller.user_id)
    )
    return found


@every_endpoint
async def test_no_or_a_malformed_header_is_401_missing(api: Api, name: str) -> None:
    assert await call(api, name, None) == (401, refused(MISSING, "UNAUTHENTICATED"))
    for header in MALFORMED:
        assert await call(api, name, header) == (401, refused(MISSING, "UNAUTHENTICATED")), header


@every_endpoint
async def test_a_token_that_is_not_valid_is_401_invalid(api: Api, name: str) -> None:
    for kind, make in BAD_TOKENS.items():
        token = await make(api)
        answer = await call(api, name, f"Bearer {token}")
        assert answer == (401, refused(INVALID, "UNAUTHENTICATED")), kind


@every_endpoint
async def test_roles_are_decided_by_the_rule_table(api: Api, name: str) -> None:
    endpoint = ENDPOINTS[name]
    for role in Role:
        caller = await api.caller(role)
        status, body = await call(api, name, f"Bearer {caller.token}")
        if role in endpoint.roles():
            assert status == 200, role
        else:
            assert (status, body) == (403, refused(FORBIDDEN_MESSAGE, "FORBIDDEN")), role


@every_endpoint
async def test_a_good_token_is_answered_and_its_use_stamped(api: Api, name: str) -> None:
    caller = await api.caller(min(ENDPOINTS[name].roles()))
    assert await last_used(api, caller) is None
    before = datetime.now(UTC)
    assert await call(api, name, f"Bearer {caller.token}") == (200, None)
    stamped = await last_used(api, caller)
    assert stamped is not None
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC)


async def test_a_field_the_role_may_not_read_carries_the_same_forbidden_error(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    result = await api.gql("{ users(first: 1) { totalCount } }", caller=erp)
    assert result["data"] is None  # users is non-null: the null reaches the root
    [error] = result["errors"]
    assert {"message": error["message"], "extensions": error["extensions"]} == (
        refused(FORBIDDEN_MESSAGE, "FORBIDDEN")["errors"][0]
    )


async def test_public_pages_need_no_token(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    assert (await api.client.get("/dashboard")).status_code == 200


# --- the WebSocket: the same check, at connection_init ---


async def ws_refusal(url: str, payload: dict[str, Any]) -> tuple[int, str]:
    """The close code and reason the server answers a connection_init with."""
    async with connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        await connection.send(
            orjson.dumps({"type": "connection_init", "payload": payload}).decode()
        )
        with pytest.raises(ConnectionClosed) as closed:
            await connection.recv()
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


async def test_the_websocket_refuses_tokens_as_the_http_endpoints_do(api: Api, ws_url: str) -> None:
    assert await ws_refusal(ws_url, {}) == (4403, MISSING)
    for header in MALFORMED:
        assert await ws_refusal(ws_url, {"authorization": header}) == (4403, MISSING), header
    for kind, make in BAD_TOKENS.items():
        payload = {"authorization": f"Bearer {await make(api)}"}
        assert await ws_refusal(ws_url, payload) == (4403, INVALID), kind


async def test_the_websocket_stamps_a_good_tokens_use(api: Api, ws_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    assert await last_used(api, manager) is None
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
    assert await last_used(api, manager) is not None


async def test_the_websocket_forbids_with_the_same_error(api: Api, ws_url: str) -> None:
    erp = await api.caller(Role.INTEGRATION)
    async with WsClient(ws_url, erp) as ws:
        await ws.acked()
        await ws.subscribe("a", "ActivityLogged")
        message = await ws.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [{"message": e["message"], "extensions": e["extensions"]} for e in errors] == (
        refused(FORBIDDEN_MESSAGE, "FORBIDDEN")["errors"]
    )
