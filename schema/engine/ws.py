"""The graphql-transport-ws protocol on /graphql (https://github.com/enisdenjo/graphql-ws).

connection_init carries the token ({"authorization": "Bearer <token>"}), checked by the edge's
one authentication function (app.web.auth.principal_of, handed in); each subscribe
runs as its own task with its own context (schema.subscriptions); close codes follow the
protocol (4400 bad message, 4401 not acknowledged, 4403 forbidden, 4408 init timeout,
4409 duplicate id, 4429 repeated init). A refused token closes with 4403 and the message
the HTTP endpoints answer 401 with.
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
from strawberry.types.execution import PreExecutionError

from app.auth.tokens import Principal
from app.fanout import Hub
from app.settings import Settings
from schema import AccountflowSchema
from schema.engine.errors import format_error
from schema.subscriptions import Live, LiveContext

log = logging.getLogger("accountflow.ws")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
MAX_OPERATIONS = 50  # per connection


# The edge's check of an Authorization value: its principal, or AuthenticationError.
Authenticate = Callable[[str | None], Awaitable[Principal]]


def _authorization(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    found = payload.get("authorization") or payload.get("Authorization")
    return None if found is None else str(found)


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        schema: AccountflowSchema,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        hub: Hub,
        authenticate: Authenticate,
    ) -> None:
        self.websocket = websocket
        self.authenticate = authenticate
        self.schema = schema
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.hub = hub
        self.principal: Principal | None = None
        self.authorization: str | None = None
        self.init_received = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()
        self.closed = False

    async def serve(self) -> None:
        if PROTOCOL not in self.websocket.scope.get("subprotocols", []):
            await self.websocket.accept()
            await self.close(4406, "Subprotocol not acceptable")
            return
        await self.websocket.accept(subprotocol=PROTOCOL)
        timeout = asyncio.create_task(self._init_timeout())
        try:
            while not self.closed:
                text = await self.websocket.receive_text()
                try:
                    message = orjson.loads(text)
                except orjson.JSONDecodeError:
                    await self.close(4400, "WebSocket message must be valid JSON")
                    return
                await self._handle(message)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass  # the client went away (or sent a binary frame)
        finally:
            timeout.cancel()
            for task in list(self.operations.values()):
                task.cancel()

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                await self.websocket.close(code=code, reason=reason)

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

    async def _handle(self, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
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
        if len(self.operations) >= MAX_OPERATIONS:
            error = {"message": f"At most {MAX_OPERATIONS} subscriptions per connection."}
            await self.send({"id": op_id, "type": "error", "payload": [error]})
            return
        self.operations[op_id] = asyncio.create_task(self._run(op_id, payload))

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
            ),
        )

    async def _run(self, op_id: str, payload: dict[str, Any]) -> None:
        context = self._context()
        production = self.settings.production
        try:
            source = await self.schema.subscribe(
                payload.get("query"),
                variable_values=payload.get("variables"),
                context_value=context,
                operation_name=payload.get("operationName"),
            )
            async with contextlib.aclosing(source):
                async for result in source:
                    errors = [
                        format_error(e, context.request_id, production) for e in result.errors or []
                    ]
                    if isinstance(result, PreExecutionError):
                        await self.send({"id": op_id, "type": "error", "payload": errors})
                        return
                    body: dict[str, Any] = {"data": result.data}
                    if errors:
                        body["errors"] = errors
                    await self.send({"id": op_id, "type": "next", "payload": body})
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
