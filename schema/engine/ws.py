"""The graphql-transport-ws protocol on /graphql (https://github.com/enisdenjo/graphql-ws).

connection_init carries the token ({"authorization": "Bearer <token>"}), checked by the edge's
one authentication function (app.web.auth.principal_of, handed in), and again (through its
one-second cache) at every subscribe; each subscribe runs as its own task with its own
context (schema.subscriptions).

Close codes: the protocol's (4400 bad message, 4401 not acknowledged, 4403 forbidden: a
refused token at init, at a subscribe or at a recheck, with the message the HTTP endpoints
answer 401 with; 4406 subprotocol, 4408 init timeout, 4409 duplicate id, 4429 repeated
init) and RFC 6455's: 1009 a message over the body limit (ACCOUNTFLOW_MAX_BODY_BYTES), 1011
a `ping` left without `pong` (ACCOUNTFLOW_WS_PING_INTERVAL, _PING_TIMEOUT), 1013 a client
too slow for its events (ACCOUNTFLOW_WS_QUEUE_SIZE events waiting: try again later, catching
up from the `events` feed). A subscription refused or ended by the server gets an `error`
message (the operation is over; no `complete` follows): QUERY_TOO_COSTLY, RATE_LIMITED
(the viewer's cost budget, charged the subscription's cost for every event it delivers),
TOO_MANY_SUBSCRIPTIONS (ACCOUNTFLOW_WS_MAX_SUBSCRIPTIONS per user and worker), FORBIDDEN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.authentication import AuthenticationError
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from app.auth.tokens import Principal
from app.fanout import Hub
from app.settings import Settings
from schema import AccountflowSchema
from schema.engine.errors import format_error
from schema.engine.limits import CostBudget
from schema.subscriptions import Live, LiveContext

log = logging.getLogger("accountflow.ws")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
# A close frame the client does not take in this long (it reads nothing) is given up.
CLOSE_TIMEOUT_SECONDS = 5.0


# The edge's check of an Authorization value: its principal, or AuthenticationError.
Authenticate = Callable[[str | None], Awaitable[Principal]]


def _authorization(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    found = payload.get("authorization") or payload.get("Authorization")
    return None if found is None else str(found)


def _too_big(text: str, most: int) -> bool:
    return len(text) > most or len(text.encode()) > most


def _refusal(code: str, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code}}]


def _ended(result: ExecutionResult, errors: list[dict[str, Any]]) -> bool:
    """No data and no error at a field: the subscription's source refused or failed."""
    return result.data is None and bool(errors) and all("path" not in e for e in errors)


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        schema: AccountflowSchema,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        hub: Hub,
        authenticate: Authenticate,
        budget: CostBudget,
    ) -> None:
        self.websocket = websocket
        self.authenticate = authenticate
        self.schema = schema
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.hub = hub
        self.budget = budget
        self.principal: Principal | None = None
        self.authorization: str | None = None
        self.init_received = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()
        self.closed = False
        self.pong = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None
        self.aborting: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        if PROTOCOL not in self.websocket.scope.get("subprotocols", []):
            await self.websocket.accept()
            await self.close(4406, "Subprotocol not acceptable")
            return
        await self.websocket.accept(subprotocol=PROTOCOL)
        self.reader = asyncio.create_task(self._read())
        timers = [asyncio.create_task(self._init_timeout()), asyncio.create_task(self._keepalive())]
        try:
            await asyncio.wait({self.reader})
        finally:
            for task in [self.reader, *timers, *self.operations.values()]:
                task.cancel()

    async def _read(self) -> None:
        most = self.settings.limits.max_body_bytes
        try:
            while not self.closed:
                text = await self.websocket.receive_text()
                if _too_big(text, most):
                    await self.close(1009, f"A message may have at most {most} bytes")
                    return
                try:
                    message = orjson.loads(text)
                except orjson.JSONDecodeError:
                    await self.close(4400, "WebSocket message must be valid JSON")
                    return
                await self._handle(message)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass  # the client went away (or sent a binary frame)

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                await self.websocket.close(code=code, reason=reason)

    async def abort(self, code: int, reason: str) -> None:
        """Close for the client's fault (too slow, silent): its operations end at once, and
        a close frame it does not take in time is given up."""
        for task in list(self.operations.values()):
            task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.close(code, reason), CLOSE_TIMEOUT_SECONDS)
        if self.reader is not None:
            self.reader.cancel()

    def _slow(self) -> None:
        """The hub dropped a subscriber of this connection: it fell too far behind."""
        if self.aborting is None:
            reason = "Too slow: events were waiting beyond the queue size"
            self.aborting = asyncio.create_task(self.abort(1013, reason))

    async def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        async with self.send_lock:
            try:
                await self.websocket.send_text(orjson.dumps(message).decode())
            except (WebSocketDisconnect, RuntimeError):
                self.closed = True  # the client went away; its tasks end with the connection

    async def _init_timeout(self) -> None:
        await asyncio.sleep(INIT_TIMEOUT_SECONDS)
        if not self.init_received:
            await self.close(4408, "Connection initialisation timeout")

    async def _keepalive(self) -> None:
        """A `ping` every interval; a client that does not `pong` in time is closed."""
        interval, timeout = self.settings.ws.ping_interval, self.settings.ws.ping_timeout
        while interval > 0 and not self.closed:
            await asyncio.sleep(interval)
            self.pong.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self.send({"type": "ping"})
                    await self.pong.wait()
            except TimeoutError:
                await self.abort(1011, "keepalive ping timeout")
                return

    async def _handle(self, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            self.pong.set()
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self.close(4400, f"Unknown message type: {kind}")

    async def _init(self, payload: Any) -> None:
        if self.init_received:
            await self.close(4429, "Too many initialisation requests")
            return
        self.init_received = True
        self.authorization = _authorization(payload)
        try:
            self.principal = await self.authenticate(self.authorization)
        except AuthenticationError as error:
            await self.close(4403, str(error))
            return
        await self.send({"type": "connection_ack"})

    async def _recheck(self) -> Principal | None:
        """The token again, for a subscription that lives on (revoked, expired meanwhile?)."""
        try:
            return await self.authenticate(self.authorization)
        except AuthenticationError:
            return None

    def _spend(self, cost: int) -> bool:
        """Charge `cost` to the viewer's budget, the HTTP path's; False when it is spent.

        The one place this transport calls the budget."""
        assert self.principal is not None
        return self.budget.charge(self.principal.user.id, cost)

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if self.principal is None:
            await self.close(4401, "Unauthorized")
            return
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not isinstance(payload, dict):
            await self.close(4400, "Invalid subscribe message")
            return
        if op_id in self.operations:
            await self.close(4409, f"Subscriber for {op_id} already exists")
            return
        try:
            self.principal = await self.authenticate(self.authorization)
        except AuthenticationError as error:
            await self.close(4403, str(error))
            return
        refusal = self._admit()
        if refusal is not None:
            await self.send({"id": op_id, "type": "error", "payload": refusal})
            return
        user_id = self.principal.user.id
        task = asyncio.create_task(self._run(op_id, payload))
        task.add_done_callback(lambda _: self.hub.release(user_id))
        self.operations[op_id] = task

    def _admit(self) -> list[dict[str, Any]] | None:
        """Why a new subscription may not start (its errors), or None; holds its place."""
        assert self.principal is not None
        if not self._spend(0):
            return _refusal("RATE_LIMITED", "The cost budget for the minute is spent.")
        most = self.settings.ws.max_subscriptions
        if not self.hub.hold(self.principal.user.id, most):
            return _refusal("TOO_MANY_SUBSCRIPTIONS", f"At most {most} subscriptions per user.")
        return None

    def _context(self) -> LiveContext:
        assert self.principal is not None
        return LiveContext(
            session=self.sessionmaker(),
            viewer=self.principal.user,
            token_id=self.principal.token_id,
            request_id=uuid.uuid4().hex,
            settings=self.settings,
            live=Live(
                hub=self.hub,
                sessionmaker=self.sessionmaker,
                authenticate=self._recheck,
                close=self.close,
                recheck_seconds=self.settings.push.token_recheck_seconds,
                spend=self._spend,
                slow=self._slow,
                queue_size=self.settings.ws.queue_size,
            ),
        )

    async def _run(self, op_id: str, payload: dict[str, Any]) -> None:
        context = self._context()
        try:
            source = await self.schema.subscribe(
                payload.get("query"),
                variable_values=payload.get("variables"),
                context_value=context,
                operation_name=payload.get("operationName"),
            )
            async with contextlib.aclosing(source):
                async for result in source:
                    if not await self._forward(op_id, result, context.request_id):
                        return
            await self.send({"id": op_id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription %s failed [request %s]", op_id, context.request_id)
            with contextlib.suppress(Exception):
                await self.send({"id": op_id, "type": "complete"})
        finally:
            self.operations.pop(op_id, None)
            await context.session.close()

    async def _forward(self, op_id: str, result: ExecutionResult, request_id: str) -> bool:
        """Send one result: `next`, or `error` when it ends the operation (False)."""
        production = self.settings.production
        errors = [format_error(e, request_id, production) for e in result.errors or []]
        if isinstance(result, PreExecutionError) or _ended(result, errors):
            await self.send({"id": op_id, "type": "error", "payload": errors})
            return False
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        await self.send({"id": op_id, "type": "next", "payload": body})
        return True
