"""Import jobs outlive the process that ran them: real servers, killed or stopped mid-job."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models.auth import Role
from tests.imports.blocking import count, holding_block, job_state, numbered_accounts
from tests.ops.servers import server, start_import, wait_until
from tests.support import Api

ROWS, BLOCKED_AT = 3_000, 2_500  # batches of 1,000: two are done when the third waits
ENV = {
    "ACCOUNTFLOW_LOCK_TIMEOUT_MS": "0",  # the import waits for the test's lock, however long
    "ACCOUNTFLOW_IMPORT_LEASE_SECONDS": "2",
    "ACCOUNTFLOW_IMPORT_POLL_SECONDS": "0.5",
}


async def _holder(engine: AsyncEngine) -> tuple[int, str]:
    async with engine.connect() as connection:
        query = text("SELECT attempts, claimed_by FROM import_jobs")
        attempts, claimed_by = (await connection.execute(query)).one()
    return attempts, claimed_by


async def _finished(engine: AsyncEngine) -> bool:
    state = await job_state(engine)
    return state is not None and state[0] in ("SUCCEEDED", "FAILED")


async def _written_once(engine: AsyncEngine) -> None:
    assert await count(engine, "SELECT count(*) FROM accounts") == ROWS
    assert await count(engine, "SELECT count(DISTINCT name) FROM accounts") == ROWS
    created = "SELECT count(*) FROM outbox WHERE type = 'account.created'"
    assert await count(engine, created) == ROWS
    assert await count(engine, "SELECT count(*) FROM outbox WHERE type = 'import.finished'") == 1
    assert await count(engine, "SELECT count(*) FROM import_row_errors") == 0
    tally = "SELECT created_count FROM import_jobs WHERE status = 'SUCCEEDED'"
    assert await count(engine, tally) == ROWS


async def test_a_server_killed_mid_import_leaves_it_to_another_that_writes_each_row_once(
    engine: AsyncEngine, session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as client:
        manager = await Api(client, session).caller(Role.MANAGER)
    content = numbered_accounts(ROWS, blocked_at=BLOCKED_AT)
    async with holding_block(engine) as blocker:
        with server(database_url, tmp_path / "first", **ENV) as first:
            async with httpx.AsyncClient(base_url=first.base) as client:
                await start_import(client, manager, content, mode="SKIP_INVALID")
            await wait_until(lambda: _at(engine, ("RUNNING", 2_000)), 90)
            # Each server keeps its own data directory: the upload is in the database.
            with server(database_url, tmp_path / "second", **ENV) as second:
                await asyncio.sleep(3)  # past the lease: the first renews it, keeps the job
                assert await job_state(engine) == ("RUNNING", 2_000)
                assert (await _holder(engine))[1].endswith(f":{first.process.pid}")
                first.stop(signal.SIGKILL)
                await blocker.rollback()
                await wait_until(lambda: _finished(engine), 120)
                assert await _holder(engine) == (2, f"{socket.gethostname()}:{second.process.pid}")
    assert await job_state(engine) == ("SUCCEEDED", ROWS)
    await _written_once(engine)


async def test_a_stopping_server_waits_for_its_import_at_most_the_setting_then_hands_it_back(
    engine: AsyncEngine, session: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as client:
        manager = await Api(client, session).caller(Role.MANAGER)
    # A lease far longer than the test: only a job handed back is retaken this soon.
    env = ENV | {"ACCOUNTFLOW_IMPORT_LEASE_SECONDS": "600"}
    env["ACCOUNTFLOW_IMPORT_SHUTDOWN_SECONDS"] = "1"
    content = numbered_accounts(ROWS, blocked_at=BLOCKED_AT)
    async with holding_block(engine) as blocker:
        with server(database_url, tmp_path / "first", **env) as first:
            async with httpx.AsyncClient(base_url=first.base) as client:
                await start_import(client, manager, content)  # all or nothing
            await wait_until(lambda: _at(engine, ("RUNNING", 2_000)), 90)
            took = first.stop(signal.SIGTERM, timeout=30)
        assert took < 1 + 5  # the setting, plus the server's own start of shutdown
        assert await count(engine, "SELECT count(*) FROM accounts") == 0  # rolled back
        with server(database_url, tmp_path / "second", **env):
            await blocker.rollback()
            await wait_until(lambda: _finished(engine), 120)
    assert await job_state(engine) == ("SUCCEEDED", ROWS)
    assert (await _holder(engine))[0] == 2
    await _written_once(engine)


async def _at(engine: AsyncEngine, state: tuple[str, int]) -> bool:
    return await job_state(engine) == state
