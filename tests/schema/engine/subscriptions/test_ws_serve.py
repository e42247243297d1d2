"""`accountflow serve` gives uvicorn the body limit as its WebSocket frame limit: a larger
message is refused by the protocol layer before the app reads it."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.auth import Role
from tests.schema.engine.subscriptions.client import WsClient
from tests.schema.engine.subscriptions.conftest import serve_command, uvicorn_process
from tests.support import Api


async def test_serve_refuses_a_frame_over_the_body_limit_in_the_protocol(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    env = {"ACCOUNTFLOW_MAX_BODY_BYTES": "4096", "ACCOUNTFLOW_DATA_DIR": str(tmp_path)}
    with uvicorn_process(database_url, serve_command, env) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            manager = await Api(client, session).caller(Role.MANAGER)
        url = base.replace("http://", "ws://") + "/graphql"
        async with WsClient(url, manager, compression=None) as ws:
            await ws.acked()
            await ws.send({"type": "ping", "payload": {"pad": "x" * 5000}})
            assert await ws.close_code() == 1009
            # websockets' words, not the app's ("A message may have at most 4096 bytes").
            assert ws.close_reason == "frame with 5036 bytes exceeds limit of 4096 bytes"
