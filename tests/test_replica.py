"""Reports on a real streaming replica built from the tests' embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.db import postgres_binaries
from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from tests.handoff.factories import NOW, default_pipeline, insert_events
from tests.support import Api, Caller

BIN = postgres_binaries()
PORT = 5433  # on the standby's own socket directory; no TCP


def _as_postgres_owner(program: str, *args: str) -> None:
    """Run a PostgreSQL binary as the user that owns the data (pgserver's, under root)."""
    user = "pgserver" if os.geteuid() == 0 else None
    command = [str(BIN / program), *args]
    subprocess.run(command, check=True, user=user, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def standby(pg_dir: Path) -> Iterator[Path]:
    path = pg_dir.parent / "standby"  # pgserver made pg_dir's parents traversable
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("pgserver")
        os.chown(path, owner.pw_uid, owner.pw_gid)
    # -R writes primary_conninfo and standby.signal; WAL is streamed (the default).
    fast = "--checkpoint=fast"
    _as_postgres_owner(
        "pg_basebackup", "-h", str(pg_dir), "-U", "postgres", "-D", str(path), "-R", fast
    )
    options = f"-k {path} -p {PORT} -c listen_addresses="
    _as_postgres_owner("pg_ctl", "-D", str(path), "-o", options, "-l", str(path / "log"), "start")
    yield path
    _as_postgres_owner("pg_ctl", "-D", str(path), "-m", "fast", "stop")


def _name(database_url: str) -> str:
    return database_url.split("@/", 1)[1].split("?", 1)[0]


async def _standby_connection(standby: Path, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(host=str(standby), port=PORT, user="postgres", database=database)


async def _wait_replayed(standby: Path, database: str, events: int) -> None:
    """Until the standby has the database and sees this many stage events."""
    for _ in range(200):
        try:
            connection = await _standby_connection(standby, database)
        except asyncpg.InvalidCatalogNameError:
            await asyncio.sleep(0.05)
            continue
        try:
            if await connection.fetchval("SELECT count(*) FROM stage_events") == events:
                return
        finally:
            await connection.close()
        await asyncio.sleep(0.05)
    raise AssertionError("the standby did not replay the writes")


@asynccontextmanager
async def _app(
    settings: Settings, database_url: str, replica_url: str, max_lag: float
) -> AsyncIterator[httpx.AsyncClient]:
    env = {
        "ACCOUNTFLOW_DATA_DIR": str(settings.data_dir),
        "DATABASE_REPLICA_URL": replica_url,
        "ACCOUNTFLOW_REPLICA_MAX_LAG_SECONDS": str(max_lag),
    }
    app = create_app(Settings.from_env(env), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


QUERY = """query($from: DateTime!, $to: DateTime!) {
  stageThroughput(from: $from, to: $to) { stages { stage entered } } }"""
WINDOW = {"from": (NOW - timedelta(days=30)).isoformat(), "to": NOW.isoformat()}


async def _entered(client: httpx.AsyncClient, caller: Caller) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {caller.token}"}
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": WINDOW}, headers=headers
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return {s["stage"]: s["entered"] for s in body["data"]["stageThroughput"]["stages"]}


async def _metric(client: httpx.AsyncClient, caller: Caller, target: str, reason: str) -> float:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {caller.token}"})
    assert response.status_code == 200, response.text  # an admin's token
    line = f'accountflow_report_database_total{{reason="{reason}",target="{target}"}}'
    for row in response.text.splitlines():
        if row.startswith(line):
            return float(row.split()[-1])
    return 0.0


async def _enter(api: Api, account_ids: list[int]) -> None:
    pipeline = await default_pipeline(api.session)
    for account_id in account_ids:
        at = NOW - timedelta(days=2)
        await insert_events(api.session, pipeline, account_id, [(None, "PROSPECT", at)])


async def _accounts(api: Api, n: int) -> list[int]:
    from tests.accounts.factories import create_account

    return [(await create_account(api.session, f"R{i}")).id for i in range(n)]


async def _given(api: Api, standby: Path, database_url: str) -> Caller:
    """Two accounts entered PROSPECT in the report's window, replayed on the standby."""
    manager = await api.caller(Role.MANAGER)
    await _enter(api, await _accounts(api, 2))
    await _wait_replayed(standby, _name(database_url), await _events(api))
    return manager


async def _events(api: Api) -> int:
    from sqlalchemy import text

    return int((await api.session.execute(text("SELECT count(*) FROM stage_events"))).scalar_one())


def _replica_url(standby: Path, database_url: str) -> str:
    return f"postgresql+asyncpg://postgres:@/{_name(database_url)}?host={standby}&port={PORT}"


async def test_reports_read_the_replica_while_it_keeps_up(
    api: Api, standby: Path, database_url: str, settings: Settings
) -> None:
    manager = await _given(api, standby, database_url)
    reader = await api.caller(Role.ADMIN)
    async with _app(settings, database_url, _replica_url(standby, database_url), 60) as client:
        before = await _metric(client, reader, "replica", "replica")
        assert (await _entered(client, manager)).get("PROSPECT") == 2
        assert await _metric(client, reader, "replica", "replica") == before + 1
        # Replay paused: what the primary writes now is not on the replica, and the report
        # still says 2, which only the replica can answer.
        admin = await _standby_connection(standby, _name(database_url))
        try:
            await admin.execute("SELECT pg_wal_replay_pause()")
            await _enter(api, (await _accounts(api, 1)))
            await asyncio.sleep(1.1)  # past the health check's memory
            assert (await _entered(client, manager)).get("PROSPECT") == 2
        finally:
            await admin.execute("SELECT pg_wal_replay_resume()")
            await admin.close()
        await _wait_replayed(standby, _name(database_url), await _events(api))
        await asyncio.sleep(1.1)
        assert (await _entered(client, manager)).get("PROSPECT") == 3


async def test_a_lagging_replica_falls_back_to_the_primary(
    api: Api, standby: Path, database_url: str, settings: Settings
) -> None:
    manager = await _given(api, standby, database_url)
    reader = await api.caller(Role.ADMIN)
    admin = await _standby_connection(standby, _name(database_url))
    try:
        await admin.execute("SELECT pg_wal_replay_pause()")
        await _enter(api, (await _accounts(api, 1)))
        await asyncio.sleep(0.3)  # the standby receives what it does not replay: it lags
        url = _replica_url(standby, database_url)
        async with _app(settings, database_url, url, 0.1) as client:
            lagging = await _metric(client, reader, "primary", "lagging")
            replica = await _metric(client, reader, "replica", "replica")
            assert (await _entered(client, manager)).get("PROSPECT") == 3  # the primary's
            assert await _metric(client, reader, "primary", "lagging") == lagging + 1
            assert await _metric(client, reader, "replica", "replica") == replica
    finally:
        await admin.execute("SELECT pg_wal_replay_resume()")
        await admin.close()
    await _wait_replayed(standby, _name(database_url), await _events(api))


async def test_a_replica_that_is_down_falls_back_to_the_primary(
    api: Api, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    manager, reader = await api.caller(Role.MANAGER), await api.caller(Role.ADMIN)
    await _enter(api, await _accounts(api, 1))
    gone = f"postgresql+asyncpg://postgres:@/{_name(database_url)}?host={tmp_path}&port={PORT}"
    async with _app(settings, database_url, gone, 5) as client:
        down = await _metric(client, reader, "primary", "down")
        assert (await _entered(client, manager)).get("PROSPECT") == 1
        assert await _metric(client, reader, "primary", "down") == down + 1
