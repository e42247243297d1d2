"""(c) mixed reads, moves and ingest for --minutes: 0 errors, flat memory."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench.faults.common import (
    Server,
    batch_body,
    prepare,
    request,
    sql,
    unique_events,
)
from bench.ingest import raw_connection
from bench.stage_reports import MOVE, wait_ready
from schema.relay import to_global_id
from tests.support import contract_operations


@dataclass
class SoakStats:
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def record(self, kind: str, outcome: str, seconds: float) -> None:
        self.counts[kind] += 1
        self.latencies.setdefault(kind, []).append(seconds)
        if outcome != "ok":
            self.errors[f"{kind}: {outcome}"] += 1


async def soak_scenario(args: argparse.Namespace) -> dict[str, Any]:
    setup = await prepare()
    await sql(setup.url, "DELETE FROM activities WHERE source = 'faults'")
    stages = await move_stages(setup.url)
    server = Server(setup, workers=args.workers)
    server.start()
    stats = SoakStats()
    rss: list[tuple[float, int]] = []
    deadline = time.monotonic() + args.minutes * 60
    account_list = contract_operations()["AccountList"]
    ingested = 0
    try:
        limits = httpx.Limits(max_connections=args.connections)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", timeout=60, limits=limits
        ) as http:
            await wait_ready(http)
            started = time.monotonic()

            async def timed(kind: str, body: bytes, token: str, root: str) -> bool:
                t0 = time.perf_counter()
                outcome = await request(http, body, token, root)
                stats.record(kind, outcome, time.perf_counter() - t0)
                return outcome == "ok"

            async def reader() -> None:
                body = orjson.dumps({"query": account_list, "variables": {"first": 20}})
                while time.monotonic() < deadline:
                    await timed("read", body, setup.manager, "accounts")

            async def mover(ids: list[int]) -> None:
                n = 0
                while time.monotonic() < deadline:
                    pk = ids[n % len(ids)]
                    trigger = "reopen" if stages[pk] == "LOST" else "lose"
                    account = to_global_id("Account", pk)
                    variables = {"input": {"accountId": account, "trigger": trigger}}
                    body = orjson.dumps({"query": MOVE, "variables": variables})
                    if await timed("move", body, setup.manager, "transitionAccount"):
                        stages[pk] = "PROSPECT" if trigger == "reopen" else "LOST"
                    n += 1

            async def ingester(number: int) -> None:
                nonlocal ingested
                n = 0
                while time.monotonic() < deadline:
                    start = (number * 10**7) + n * 20
                    body = batch_body(unique_events(20, tag="soak", start=start))
                    await timed("ingest", body, setup.integration, "logActivities")
                    ingested += 20
                    n += 1

            async def sampler() -> None:
                while True:
                    rss.append((round((time.monotonic() - started) / 60, 1), server.rss_kib()))
                    if time.monotonic() >= deadline:
                        return
                    await asyncio.sleep(min(60.0, max(0.0, deadline - time.monotonic())))

            workers = plan_soak(args.connections, sorted(stages), reader, mover, ingester)
            await asyncio.gather(sampler(), *workers)
    finally:
        server.stop()
    stored = await sql(setup.url, "SELECT count(*) FROM activities WHERE source = 'faults'")
    return summarise_soak(args, stats, rss, ingested, stored)


def plan_soak(
    connections: int,
    ids: list[int],
    reader: Callable[[], Awaitable[None]],
    mover: Callable[[list[int]], Awaitable[None]],
    ingester: Callable[[int], Awaitable[None]],
) -> list[Awaitable[None]]:
    """Half the connections read, a quarter move (each its own accounts), a quarter ingest."""
    movers = max(1, connections // 4)
    ingesters = max(1, connections // 4)
    readers = max(1, connections - movers - ingesters)
    workers: list[Awaitable[None]] = [reader() for _ in range(readers)]
    workers += [mover(ids[i::movers]) for i in range(movers)]
    workers += [ingester(i) for i in range(ingesters)]
    return workers


async def move_stages(url: str) -> dict[int, str]:
    """Accounts of the default pipeline in PROSPECT or LOST: lose and reopen flip them."""
    connection = await raw_connection(url)
    try:
        rows = await connection.fetch(
            "SELECT e.account_id, e.stage FROM pipeline_entries e"
            " JOIN pipelines p ON p.id = e.pipeline_id"
            " WHERE p.key = 'default' AND e.stage IN ('PROSPECT', 'LOST')"
            " ORDER BY e.account_id LIMIT 640"
        )
        return {int(r["account_id"]): str(r["stage"]) for r in rows}
    finally:
        await connection.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(share * (len(ordered) - 1))] * 1000, 1) if ordered else 0.0


def summarise_soak(
    args: argparse.Namespace,
    stats: SoakStats,
    rss: list[tuple[float, int]],
    ingested: int,
    stored: int,
) -> dict[str, Any]:
    curve = [round(kib / 1024, 1) for _, kib in rss]
    return {
        "minutes": args.minutes,
        "connections": args.connections,
        "workers": args.workers,
        "requests": dict(stats.counts),
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(stats.errors),
        "p50_ms": {k: percentile(v, 0.5) for k, v in stats.latencies.items()},
        "p99_ms": {k: percentile(v, 0.99) for k, v in stats.latencies.items()},
        "events_sent": ingested,
        "events_stored": stored,
        "rss_mib_start_middle_end": [curve[0], curve[len(curve) // 2], curve[-1]],
        "rss_curve_mib": [(minute, round(kib / 1024, 1)) for minute, kib in rss],
    }
