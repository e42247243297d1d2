"""Push: webhook deliveries per second, and commit-to-subscription-message latency.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-push .venv/bin/python -m bench.push

deliveries: N outbox events (two per account, so half of them wait for their account's
first one) for one webhook pointing at a local receiver (bench/push_receiver.py under
uvicorn); `accountflow worker` processes deliver them; the figure is deliveries per second
from the commit of the events to the last success.

latency: subscribers (graphql-transport-ws, `stageChanged`) on two server processes; this
process moves accounts between stages through the service (one transaction each) and
times each message from the moment its commit returned. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import orjson
from websockets.asyncio.client import connect

from app import db
from app.__main__ import migrate
from app.auth import service as auth
from app.handoff import service as handoff
from app.kit.actor import SYSTEM, Actor
from app.models.auth import Role
from app.webhooks.signing import new_secret
from bench.ingest import database_url, postgres_cpu_s, postgres_data_dir, raw_connection

STAGE_CHANGED = "subscription S { stageChanged { id toStage account { id name } } }"
CYCLE = ("qualify", "lose", "reopen")


def _wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as error:
            if "HTTP Error" in str(error):
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def process(
    command: list[str], env: dict[str, str], ready: str | None
) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(command, env=os.environ | env)
    try:
        if ready:
            _wait_http(ready, child)
        yield child
    finally:
        child.terminate()
        child.wait(timeout=30)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def uvicorn(target: str, port: int, *, factory: bool = False) -> list[str]:
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    return [*command, "--factory"] if factory else command


async def _pending(url: str) -> tuple[int, int]:
    connection = await raw_connection(url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'SUCCEEDED'), count(*) FROM webhook_deliveries"
        )
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        await connection.close()


async def _seed_deliveries(url: str, receiver: str, events: int) -> None:
    connection = await raw_connection(url)
    try:
        await connection.execute("TRUNCATE outbox, webhooks, webhook_deliveries CASCADE")
        await connection.execute(
            "INSERT INTO webhooks (url, events, secret) VALUES ($1, $2, $3)",
            receiver,
            ["account.updated"],
            new_secret(),
        )
        await connection.execute(
            """
            INSERT INTO outbox (type, object_key, account_id, data)
            SELECT 'account.updated', 'Account:' || (i % $2), i % $2,
                   jsonb_build_object('id', 'QWNjb3VudDo' || i, 'name', 'Account ' || i,
                                      'version', i)
            FROM generate_series(1, $1) i
            """,
            events,
            events // 2,
        )
    finally:
        await connection.close()


# Pairs of deliveries of one object whose later event was delivered first (must be none).
_OUT_OF_ORDER = """
    SELECT count(*) FROM webhook_deliveries a JOIN webhook_deliveries b
    ON a.webhook_id = b.webhook_id AND a.object_key = b.object_key AND a.id < b.id
    WHERE a.delivered_at >= b.delivered_at
"""


async def _attempt_latency(url: str) -> dict[str, float]:
    connection = await raw_connection(url)
    try:
        rows = await connection.fetch("SELECT latency_ms FROM webhook_attempts")
        out_of_order = await connection.fetchval(_OUT_OF_ORDER)
    finally:
        await connection.close()
    values = sorted(float(r[0]) for r in rows)
    return {
        "attempt_latency_p50_ms": round(statistics.median(values), 1),
        "attempt_latency_p99_ms": round(values[int(len(values) * 0.99) - 1], 1),
        "objects_out_of_order": int(out_of_order),
    }


def bench_deliveries(url: str, *, events: int, workers: int, port: int) -> dict[str, Any]:
    receiver = f"http://127.0.0.1:{port}/hook"
    env = {"DATABASE_URL": url, "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1", "LOG_LEVEL": "WARNING"}
    with ExitStack() as stack:
        ready = receiver.replace("/hook", "/")
        sink = stack.enter_context(process(uvicorn("bench.push_receiver:app", port), {}, ready))
        children = [
            stack.enter_context(process([sys.executable, "-m", "app", "worker"], env, None))
            for _ in range(workers)
        ]
        time.sleep(3)  # the workers are up and polling
        load_before = os.getloadavg()
        cpu_before = [_cpu_s(c.pid) for c in (*children, sink)]
        pg_dir = asyncio.run(postgres_data_dir(url))
        pg_before = postgres_cpu_s(pg_dir)
        asyncio.run(_seed_deliveries(url, receiver, events))
        started = time.perf_counter()
        while True:
            done, total = asyncio.run(_pending(url))
            if done == total == events:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = [_cpu_s(c.pid) - b for c, b in zip((*children, sink), cpu_before, strict=True)]
        pg_cpu = postgres_cpu_s(pg_dir) - pg_before
    return {
        "deliveries": events,
        "worker_processes": workers,
        "elapsed_s": round(elapsed, 2),
        "deliveries_per_s": round(events / elapsed),
        "worker_cpu_ms_per_delivery": round(sum(cpu[:-1]) / events * 1000, 3),
        "receiver_cpu_ms_per_delivery": round(cpu[-1] / events * 1000, 3),
        "postgres_cpu_ms_per_delivery": round(pg_cpu / events * 1000, 3),
        **asyncio.run(_attempt_latency(url)),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


async def _seed_accounts(url: str, accounts: int) -> tuple[str, list[int]]:
    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            token = await auth.ensure_user_token(
                session,
                actor=SYSTEM,
                email="push-bench@example.org",
                role=Role.MANAGER,
                name="Push bench",
                token_name="bench",
            )
        connection = await raw_connection(url)
        try:
            await connection.execute("TRUNCATE outbox, webhooks CASCADE")
            ids = [
                int(r[0])
                for r in await connection.fetch(
                    """
                    INSERT INTO accounts (name, industry)
                    SELECT 'Push ' || i, 'Retail' FROM generate_series(1, $1) i RETURNING id
                    """,
                    accounts,
                )
            ]
            await connection.execute(
                """
                INSERT INTO pipeline_entries (account_id, pipeline_id, stage, entered_at)
                SELECT a, p.id, 'PROSPECT', now() FROM unnest($1::bigint[]) a,
                       pipelines p WHERE p.key = 'default'
                """,
                ids,
            )
        finally:
            await connection.close()
        return token, ids
    finally:
        await engine.dispose()


async def _subscriber(
    ws_url: str, token: str, heard: dict[str, list[float]], ready: asyncio.Event
) -> None:
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(orjson.dumps(init).decode())
        await ws.recv()
        payload = {"query": STAGE_CHANGED}
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": payload}).decode())
        ready.set()
        async for raw in ws:
            message = orjson.loads(raw)
            if message["type"] == "next":
                event_id = message["payload"]["data"]["stageChanged"]["id"]
                heard.setdefault(event_id, []).append(time.perf_counter())


async def _moves(
    url: str, token: str, ids: list[int], ws_urls: list[str], moves: int, per_second: float
) -> dict[str, Any]:
    heard: dict[str, list[float]] = {}
    readies = [asyncio.Event() for _ in ws_urls]
    tasks = [
        asyncio.create_task(_subscriber(u, token, heard, r))
        for u, r in zip(ws_urls, readies, strict=True)
    ]
    for ready in readies:
        await ready.wait()
    await asyncio.sleep(1)
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine)
    actor = Actor(user_id=None, role=Role.ADMIN, token_id=None, request_id="bench")
    committed: dict[str, float] = {}
    try:
        for n in range(moves):
            account = ids[n % len(ids)]
            trigger = CYCLE[(n // len(ids)) % len(CYCLE)]
            async with sessionmaker() as session:
                move = await handoff.transition_account(
                    session,
                    actor=actor,
                    account_id=account,
                    pipeline_key="default",
                    move=handoff.MoveInput(trigger),
                )
                await session.commit()
                committed[_gid(move.event.id)] = time.perf_counter()
            await asyncio.sleep(1 / per_second)
        await asyncio.sleep(2)
    finally:
        await engine.dispose()
        for task in tasks:
            task.cancel()
    latencies = sorted(
        (t - committed[event_id]) * 1000 for event_id, times in heard.items() for t in times
    )
    return {
        "moves": moves,
        "subscribers": len(ws_urls),
        "messages": len(latencies),
        "expected_messages": moves * len(ws_urls),
        "latency_p50_ms": round(statistics.median(latencies), 1),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "latency_max_ms": round(latencies[-1], 1),
    }


def _gid(pk: int) -> str:
    from app.events import global_id

    found = global_id("StageEvent", pk)
    assert found is not None
    return found


def bench_latency(
    url: str, *, moves: int, per_second: float, port: int, subscribers: int
) -> dict[str, Any]:
    token, ids = asyncio.run(_seed_accounts(url, accounts=max(1, moves // 3)))
    env = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    ports = [port, port + 1]
    with ExitStack() as stack:
        for p in ports:
            command = uvicorn("app.web.app:app_from_env", p, factory=True)
            stack.enter_context(process(command, env, f"http://127.0.0.1:{p}/healthz"))
        load_before = os.getloadavg()
        ws_urls = [f"ws://127.0.0.1:{ports[i % 2]}/graphql" for i in range(subscribers)]
        result = asyncio.run(_moves(url, token, ids, ws_urls, moves, per_second))
    return result | {"load_average_before": load_before, "load_average_after": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--moves-per-second", type=float, default=10)
    parser.add_argument("--subscribers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--only", choices=["deliveries", "latency"])
    args = parser.parse_args()
    url = database_url()
    migrate(url)
    result: dict[str, Any] = {}
    if args.only in (None, "deliveries"):
        result["deliveries"] = bench_deliveries(
            url, events=args.events, workers=args.workers, port=args.port
        )
    if args.only in (None, "latency"):
        result["latency"] = bench_latency(
            url,
            moves=args.moves,
            per_second=args.moves_per_second,
            port=args.port + 10,
            subscribers=args.subscribers,
        )
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
