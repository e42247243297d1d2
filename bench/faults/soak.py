"""(c) mixed reads, searches, moves and ingest for --minutes: 0 errors, flat memory."""

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

from app import db
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.auth import Role
from bench.faults.common import (
    ACCOUNTS,
    Server,
    batch_body,
    prepare,
    request,
    sql,
    unique_events,
)
from bench.ingest import raw_connection
from bench.stage_reports import MOVE
from schema.relay import to_global_id
from tests.support import contract_operations


@dataclass
class SoakStats:
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # the first errors, with their time
    started: float = field(default_factory=time.monotonic)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def record(self, kind: str, outcome: str, seconds: float) -> None:
        self.counts[kind] += 1
        self.latencies.setdefault(kind, []).append(seconds)
        if outcome != "ok":
            self.errors[f"{kind}: {outcome}"] += 1
            if len(self.samples) < 20:
                minute = (time.monotonic() - self.started) / 60
                self.samples.append(f"{minute:.2f} min {kind}: {outcome}")


async def soak_scenario(args: argparse.Namespace) -> dict[str, Any]:
    setup = await prepare()
    await sql(setup.url, "DELETE FROM activities WHERE source = 'faults'")
    stages = await move_stages(setup.url)
    managers = await manager_tokens(setup.url, args.connections)
    server = Server(setup, workers=args.workers)
    server.start()
    stats = SoakStats()
    rss: list[tuple[float, int]] = []
    deadline = time.monotonic() + args.minutes * 60
    operations = contract_operations()
    account_list, account_search = operations["AccountList"], operations["AccountSearch"]
    ingested = 0
    try:
        limits = httpx.Limits(max_connections=args.connections)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", timeout=60, limits=limits
        ) as http:
            await wait_up(http)
            started = stats.started = time.monotonic()

            async def timed(kind: str, body: bytes, token: str, root: str) -> bool:
                t0 = time.perf_counter()
                outcome = await request(http, body, token, root)
                stats.record(kind, outcome, time.perf_counter() - t0)
                return outcome == "ok"

            async def reader(token: str) -> None:
                body = orjson.dumps({"query": account_list, "variables": {"first": 20}})
                while time.monotonic() < deadline:
                    await timed("read", body, token, "accounts")

            async def searcher(number: int, token: str) -> None:
                n = 0
                while time.monotonic() < deadline:
                    variables = search_variables(number, n)
                    body = orjson.dumps({"query": account_search, "variables": variables})
                    await timed("search", body, token, "accounts")
                    n += 1

            async def mover(ids: list[int], token: str) -> None:
                n = 0
                while time.monotonic() < deadline:
                    pk = ids[n % len(ids)]
                    trigger = "reopen" if stages[pk] == "LOST" else "lose"
                    account = to_global_id("Account", pk)
                    variables = {"input": {"accountId": account, "trigger": trigger}}
                    body = orjson.dumps({"query": MOVE, "variables": variables})
                    if await timed("move", body, token, "transitionAccount"):
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

            workers = plan_soak(
                args.connections,
                sorted(stages),
                Roles(reader, searcher, mover, ingester, managers),
            )
            await asyncio.gather(sampler(), *workers)
    finally:
        server.stop()
    stored = await sql(setup.url, "SELECT count(*) FROM activities WHERE source = 'faults'")
    return summarise_soak(args, stats, rss, ingested, stored)


@dataclass(frozen=True)
class Roles:
    reader: Callable[[str], Awaitable[None]]
    searcher: Callable[[int, str], Awaitable[None]]
    mover: Callable[[list[int], str], Awaitable[None]]
    ingester: Callable[[int], Awaitable[None]]
    managers: list[str]  # one MANAGER per connection: the cost budget is per user


def plan_soak(connections: int, ids: list[int], roles: Roles) -> list[Awaitable[None]]:
    """Half the connections query accounts (a quarter of those search, the rest list them),
    a quarter move (each its own accounts), a quarter ingest."""
    movers = max(1, connections // 4)
    ingesters = max(1, connections // 4)
    queries = max(2, connections - movers - ingesters)
    searchers = max(1, queries // 4)
    tokens = iter(roles.managers)
    workers = [roles.reader(next(tokens)) for _ in range(queries - searchers)]
    workers += [roles.searcher(i, next(tokens)) for i in range(searchers)]
    workers += [roles.mover(ids[i::movers], next(tokens)) for i in range(movers)]
    workers += [roles.ingester(i) for i in range(ingesters)]
    return workers


SEARCH_ORDERS = (None, "NAME", "CREATED_AT", "UPDATED_AT", "NEXT_CONTACT_DUE")


def search_variables(number: int, n: int) -> dict[str, Any]:
    """AccountSearch with a different term each time ("account 1234", "account 12", "73"),
    in one of several orders: thousands of distinct variable values, few query texts."""
    k = number * 7919 + n * 104729
    account = 1 + k % ACCOUNTS
    term = (f"account {account}", f"account {account // 100}", str(account % 100))[n % 3]
    variables: dict[str, Any] = {"first": 20, "filter": {"search": term}}
    order = SEARCH_ORDERS[(n // 3) % len(SEARCH_ORDERS)]
    if order is not None:
        variables["orderBy"] = {"field": order, "direction": ("ASC", "DESC")[n % 2]}
    return variables


async def manager_tokens(url: str, n: int) -> list[str]:
    """n MANAGER users, a token each: a team of managers, not one user on 24 connections
    (whose per-user cost budget, 5M a minute by default, would refuse most with HTTP 429)."""
    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return [
                await auth.ensure_user_token(
                    session, actor=SYSTEM, email=f"soak.manager{i}@example.org", role=Role.MANAGER
                )
                for i in range(n)
            ]
    finally:
        await engine.dispose()


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


async def wait_up(http: httpx.AsyncClient, seconds: float = 180.0) -> None:
    """/readyz answers 200 (a server under tracemalloc takes a while to import)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


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
        "first_errors": stats.samples,
        "p50_ms": {k: percentile(v, 0.5) for k, v in stats.latencies.items()},
        "p99_ms": {k: percentile(v, 0.99) for k, v in stats.latencies.items()},
        "events_sent": ingested,
        "events_stored": stored,
        "rss_mib_start_middle_end": [curve[0], curve[len(curve) // 2], curve[-1]],
        "rss_curve_mib": [(minute, round(kib / 1024, 1)) for minute, kib in rss],
    }
