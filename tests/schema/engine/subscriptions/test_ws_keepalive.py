"""The server pings every interval (graphql-transport-ws `ping`); a client that does not
answer with `pong` in time is closed with 1011."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.models.auth import Role
from app.settings import Settings
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api

INTERVAL = 0.3


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {
        "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
        "ACCOUNTFLOW_WS_PING_INTERVAL": str(INTERVAL),
        "ACCOUNTFLOW_WS_PING_TIMEOUT": str(INTERVAL),
    }
    return Settings.from_env(env)


async def test_a_client_that_does_not_answer_pings_is_closed_with_1011(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        assert await ws.receive(wait=2) == {"type": "ping"}
        started = time.monotonic()
        assert await ws.close_code(wait=2) == 1011
        assert time.monotonic() - started < 4 * INTERVAL


async def test_a_client_that_answers_pings_stays_connected(api: Api, ws_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        for _ in range(5):  # five intervals, each ping answered
            assert await ws.receive(wait=2) == {"type": "ping"}
            await ws.send({"type": "pong"})
        await ws.send({"type": "ping"})  # still open: our own ping is answered
        while (message := await ws.receive(wait=2)) == {"type": "ping"}:
            await ws.send({"type": "pong"})
        assert message == {"type": "pong"}
