"""A graphql-transport-ws client over real WebSocket connections (the websockets package)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import Caller, contract_operations


class WsClient:
    def __init__(
        self, url: str, caller: Caller | None, token: str | None = None, **options: Any
    ) -> None:
        self.url = url
        self.token = token or (caller.token if caller else "")
        self.options = options  # for websockets' connect (max_queue, sock, ...)
        self.connection: ClientConnection | None = None
        self.close_reason: str | None = None  # of the close `close_code` saw

    async def __aenter__(self) -> WsClient:
        self.connection = await connect(
            self.url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            **self.options,
        )
        await self.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.connection is not None
        await self.connection.close()

    async def send(self, message: dict[str, Any]) -> None:
        assert self.connection is not None
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self, wait: float = 10.0) -> dict[str, Any]:
        assert self.connection is not None
        raw = await asyncio.wait_for(self.connection.recv(), wait)
        message: dict[str, Any] = orjson.loads(raw)
        return message

    async def acked(self) -> WsClient:
        assert await self.receive() == {"type": "connection_ack"}
        return self

    async def subscribe(
        self, op_id: str, name: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.subscribe_to(op_id, contract_operations()[name], variables, name)

    async def subscribe_to(
        self,
        op_id: str,
        query: str,
        variables: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        payload = {"query": query, "variables": variables or {}, "operationName": name}
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def next_data(self, op_id: str, wait: float = 10.0) -> dict[str, Any]:
        message = await self.receive(wait)
        assert message["type"] == "next", message
        assert message["id"] == op_id
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def close_code(self, wait: float = 10.0) -> int | None:
        """The code the server closes with (None: it sent a message instead)."""
        try:
            await self.receive(wait)
        except ConnectionClosed as closed:
            self.close_reason = None if closed.rcvd is None else closed.rcvd.reason
            return None if closed.rcvd is None else closed.rcvd.code
        return None

    async def silent(self, seconds: float) -> bool:
        """Nothing arrives for `seconds`."""
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")
