"""What one client may take: message size, subscriptions per user, events waiting, and a
token that is checked at every subscribe."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.exceptions import ConnectionClosed

from app.auth import tokens as auth
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.settings import Settings
from tests.handoff.factories import qualified_account
from tests.schema.engine.subscriptions.client import WsClient
from tests.schema.engine.subscriptions.conftest import served
from tests.schema.engine.subscriptions.events import log_activity
from tests.support import Api

# 39 copies of a 2,000-character summary: about 80 KB a message.
BIG = (
    "subscription Big { activityLogged { id "
    + " ".join(f"s{i}: summary" for i in range(39))
    + " } }"
)
QUEUE_SIZE = 10


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {
        "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
        "ACCOUNTFLOW_MAX_BODY_BYTES": "4096",
        "ACCOUNTFLOW_WS_MAX_SUBSCRIPTIONS": "2",
        "ACCOUNTFLOW_WS_QUEUE_SIZE": str(QUEUE_SIZE),
    }
    return Settings.from_env(env)


@pytest.fixture
async def narrow_url(app_engine: tuple[object, AsyncEngine]) -> AsyncIterator[str]:
    """The app behind small socket buffers: a client that stops reading fills them soon."""
    async with served(app_engine[0], send_buffer=8192) as url:
        yield url


def _narrow_client(url: str, caller: Any) -> WsClient:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])))
    return WsClient(url, caller, sock=sock, max_queue=1, compression=None)


async def test_a_message_over_the_body_limit_closes_the_connection_with_1009(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.send({"type": "ping", "payload": {"pad": "x" * 3000}})
        assert await ws.receive() == {"type": "pong"}
        await ws.send({"type": "ping", "payload": {"pad": "x" * 5000}})
        assert await ws.close_code() == 1009


async def test_a_user_holds_at_most_so_many_subscriptions_across_tokens_and_connections(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    second, _ = await auth.issue_token(api.session, actor=SYSTEM, user_id=manager.user_id)
    await api.session.commit()
    account = await qualified_account(api.session, "Many Co")
    async with WsClient(ws_url, manager) as one, WsClient(ws_url, None, second) as two:
        await one.acked()
        await two.acked()
        await one.subscribe("a", "ActivityLogged")
        await two.subscribe("b", "ActivityLogged")
        await two.subscribe("c", "ActivityLogged")
        refused = await two.receive()
        assert (refused["type"], refused["id"]) == ("error", "c"), refused
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["TOO_MANY_SUBSCRIPTIONS"]
        await one.send({"id": "a", "type": "complete"})
        await asyncio.sleep(0.2)
        await two.subscribe("c", "ActivityLogged")  # a place is free again
        await asyncio.sleep(0.3)
        await log_activity(api.session, account.id)
        heard = {(await two.receive())["id"] for _ in range(2)}
        assert heard == {"b", "c"}


async def _log_while_reading(api: Api, ws: WsClient, account_id: int, count: int) -> int:
    """Log `count` activities one by one while `ws` reads; how many it received."""
    received = 0

    async def read() -> None:
        nonlocal received
        while received < count:
            await ws.next_data("big")
            received += 1

    reader = asyncio.create_task(read())
    for _ in range(count):
        await log_activity(api.session, account_id, secrets.token_hex(1000))
    await asyncio.wait_for(reader, 20)
    return received


async def _read_until_closed(ws: WsClient) -> tuple[int, int | None]:
    """How many events arrive before the server closes, and its close code."""
    received = 0
    try:
        while True:
            await ws.next_data("big", wait=5)
            received += 1
    except ConnectionClosed as closed:
        return received, None if closed.rcvd is None else closed.rcvd.code


async def test_a_client_that_reads_keeps_up_behind_small_buffers(api: Api, narrow_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Steady Co")
    async with _narrow_client(narrow_url, manager) as ws:
        await ws.acked()
        await ws.subscribe_to("big", BIG)
        await asyncio.sleep(0.3)
        assert await _log_while_reading(api, ws, account.id, 30) == 30
        assert await ws.silent(0.3)


async def test_a_client_that_stops_reading_is_closed_with_1013_not_buffered(
    api: Api, narrow_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Stalled Co")
    async with _narrow_client(narrow_url, manager) as ws:
        await ws.acked()
        await ws.subscribe_to("big", BIG)
        await asyncio.sleep(0.3)
        for _ in range(30):  # about 2.4 MB of messages; nothing is read meanwhile
            await log_activity(api.session, account.id, secrets.token_hex(1000))
        await asyncio.sleep(0.3)
        received, code = await _read_until_closed(ws)
        assert code == 1013
        assert received < 30 - QUEUE_SIZE


async def test_a_token_revoked_on_an_idle_connection_is_refused_at_its_next_subscribe(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Revoked Co")
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await auth.revoke_token(api.session, actor=SYSTEM, raw_token=manager.token)
        await api.session.commit()
        await ws.subscribe("a", "ActivityLogged")
        await asyncio.sleep(0.3)
        await log_activity(api.session, account.id)  # heard, on main, within the 5 s recheck
        assert await ws.close_code(wait=2) == 4403
