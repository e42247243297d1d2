"""A primary killed mid-ingest, its synchronous standby promoted: the server, given both in
a multi-host DATABASE_URL, acknowledges again within a second and loses nothing it
acknowledged (a real cluster and a real server process; marker `failover`)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app import db
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.ops.cluster import Cluster, cluster
from tests.ops.servers import server
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api, Caller, contract_operations

pytestmark = pytest.mark.failover

BATCHES, SIZE, KILL_AFTER = 40, 100, 15  # 4,000 events; the primary dies after 1,500


def _batch(number: int, account: str) -> list[dict[str, str]]:
    when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return [
        {"kind": "CALL_INBOUND", "occurredAt": when, "accountId": account}
        | {"source": "failover", "externalId": f"{number}-{i}"}
        for i in range(SIZE)
    ]


async def _send_until_acknowledged(
    client: httpx.AsyncClient, caller: Caller, items: list[dict[str, str]]
) -> float:
    """Resend the batch (idempotent by source and externalId) until it is acknowledged;
    returns when (monotonic) it was."""
    variables = {"input": {"activities": items}}
    body = {"query": contract_operations()["LogActivities"], "variables": variables}
    headers = {"Authorization": f"Bearer {caller.token}"}
    while True:
        try:
            response = await client.post("/graphql", json=body, headers=headers)
            result = response.json().get("data") or {}
        except (httpx.HTTPError, ValueError):
            result = {}
        logged = result.get("logActivities")
        if logged and logged["rejected"] == []:
            assert logged["acceptedCount"] + logged["duplicateCount"] == len(items)
            return time.monotonic()
        await asyncio.sleep(0.02)


async def _given(primary_url: str, role: Role = Role.INTEGRATION) -> tuple[Caller, str]:
    engine = db.create_engine(primary_url, pool_size=1)
    try:
        async with db.create_sessionmaker(engine)() as session:
            async with httpx.AsyncClient() as unused:
                caller = await Api(unused, session).caller(role)
            account = await create_account(session, "Failover Co")
    finally:
        await engine.dispose()
    return caller, to_global_id("Account", account.id)


async def _stored(cluster_: Cluster) -> tuple[int, int]:
    engine = db.create_engine(cluster_.url_of(cluster_.standby), pool_size=1)
    try:
        async with engine.connect() as connection:
            query = "SELECT count(*), count(DISTINCT external_id) FROM activities"
            row = (await connection.execute(text(query + " WHERE source = 'failover'"))).one()
    finally:
        await engine.dispose()
    return row[0], row[1]


async def test_a_promoted_standby_serves_within_a_second_and_keeps_every_acknowledged_event(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path / "cluster") as pair:
        caller, account = await _given(pair.url_of(pair.primary))
        with server(pair.url, tmp_path / "data") as running:
            async with httpx.AsyncClient(base_url=running.base, timeout=10) as client:
                for number in range(KILL_AFTER):
                    await _send_until_acknowledged(client, caller, _batch(number, account))
                killed = time.monotonic()
                pair.primary.kill()
                failing_over = asyncio.create_task(asyncio.to_thread(pair.fail_over))
                acknowledged = await _send_until_acknowledged(
                    client, caller, _batch(KILL_AFTER, account)
                )
                await failing_over
                for number in range(KILL_AFTER + 1, BATCHES):
                    await _send_until_acknowledged(client, caller, _batch(number, account))
        assert acknowledged - killed < 1.0, f"{acknowledged - killed:.2f} s"
        assert await _stored(pair) == (BATCHES * SIZE, BATCHES * SIZE)


async def test_subscriptions_listen_on_the_writable_host_of_a_multi_host_url(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path / "cluster") as pair:
        caller, account = await _given(pair.url_of(pair.primary), Role.MANAGER)
        with server(pair.url, tmp_path / "data") as running:
            ws_url = running.base.replace("http://", "ws://") + "/graphql"
            async with (
                httpx.AsyncClient(base_url=running.base, timeout=10) as client,
                WsClient(ws_url, caller) as ws,
            ):
                await ws.acked()
                await ws.subscribe("a1", "ActivityLogged", {"accountId": account})
                await asyncio.sleep(0.5)  # listening
                await _send_until_acknowledged(client, caller, _batch(0, account)[:1])
                heard = await ws.next_data("a1")
    assert heard["activityLogged"]["account"] == {"id": account}
