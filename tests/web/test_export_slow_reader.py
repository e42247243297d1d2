"""A client reading /export/*.csv slowly holds no pooled connection while it dawdles.

The app is served by uvicorn on a real socket; the client's receive buffer is small and it
stops reading after the first bytes, so the server blocks sending the rest.
"""

from __future__ import annotations

import asyncio
import csv
import io
import socket

import h11
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.auth import Role
from tests.support import Api, Caller

ROWS = 6_000
PAD = 2_000  # bytes of attributes per row: 12 MB in all, far more than socket buffers hold
SEED = text(
    "INSERT INTO accounts (name, attributes) "
    "SELECT 'Account ' || g, jsonb_build_object('pad', repeat('x', :pad)) "
    "FROM generate_series(1, :rows) g"
)


async def _open_slow(
    base: str, caller: Caller
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    request = (
        f"GET /export/accounts.csv HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {caller.token}\r\nConnection: close\r\n\r\n"
    )
    writer.write(request.encode())
    await writer.drain()
    return reader, writer


async def _rest(reader: asyncio.StreamReader, first: bytes) -> bytes:
    """The response body, read to its end."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(first)
    body = bytearray()
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA:
            client.receive_data(await reader.read(1 << 16))
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return bytes(body)


async def _idle_pool(engine: AsyncEngine) -> bool:
    """Whether the app holds no pooled connection for 10 samples in a row (within 5 s)."""
    idle = 0
    for _ in range(100):
        idle = idle + 1 if engine.pool.checkedout() == 0 else 0  # type: ignore[attr-defined]
        if idle == 10:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_slow_reader_holds_no_pooled_connection(
    api: Api, ws_url: str, app_engine: tuple[object, AsyncEngine]
) -> None:
    _, engine = app_engine
    manager = await api.caller(Role.MANAGER)
    await api.session.execute(SEED, {"pad": PAD, "rows": ROWS})
    await api.session.commit()
    base = ws_url.replace("ws://", "http://").removesuffix("/graphql")
    reader, writer = await _open_slow(base, manager)
    try:
        first = await reader.read(4096)
        assert first.startswith(b"HTTP/1.1 200")
        # The server fills the socket, then waits for this reader: with no connection held.
        assert await _idle_pool(engine)
        body = await _rest(reader, first)
    finally:
        writer.close()
        await writer.wait_closed()
    names = [row[2] for row in csv.reader(io.StringIO(body.decode()))]
    assert names == ["name", *(f"Account {n}" for n in range(1, ROWS + 1))]  # none lost
