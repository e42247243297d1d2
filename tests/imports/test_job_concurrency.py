"""A server process runs at most ACCOUNTFLOW_IMPORT_CONCURRENCY import jobs at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.imports.jobs import wait_for_jobs
from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from tests.imports.blocking import holding_block, job_state, numbered_accounts
from tests.ops.servers import start_import, wait_until
from tests.support import Api


async def _statuses(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT status FROM import_jobs ORDER BY id"))
        return [row[0] for row in rows]


async def test_jobs_past_the_bound_wait_queued_until_one_ends(
    engine: AsyncEngine, session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    env = {
        "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
        "ACCOUNTFLOW_IMPORT_CONCURRENCY": "1",
        "ACCOUNTFLOW_LOCK_TIMEOUT_MS": "0",
    }
    app = create_app(Settings.from_env(env), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            manager = await Api(client, session).caller(Role.MANAGER)
            async with holding_block(engine):
                await start_import(client, manager, numbered_accounts(3, blocked_at=2))
                await wait_until(lambda: _running(engine), 30)
                for name in ("Second", "Third"):
                    await start_import(client, manager, numbered_accounts(3, name=name))
                await asyncio.sleep(1.5)  # time enough for a free runner to take them
                assert await _statuses(engine) == ["RUNNING", "QUEUED", "QUEUED"]
            await wait_for_jobs()
    assert await _statuses(engine) == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]


async def _running(engine: AsyncEngine) -> bool:
    state = await job_state(engine)
    return state is not None and state[0] == "RUNNING"
