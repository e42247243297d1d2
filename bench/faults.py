"""Faults by hand: kill -9 the server mid-ingest, stop PostgreSQL under load, a long soak.

    export ACCOUNTFLOW_DATA_DIR=/tmp/bench-faults
    .venv/bin/python -m bench.faults kill     # kill -9 during logActivities, resend everything
    .venv/bin/python -m bench.faults pgstop   # pg_ctl stop -m fast under load, then start
    .venv/bin/python -m bench.faults soak --minutes 30 --connections 32

The server is `accountflow serve` (DATABASE_URL set) in its own process group on 127.0.0.1;
the embedded PostgreSQL lives in the data dir. Each scenario prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from app import db
from app.__main__ import migrate
from app.settings import Settings
from bench.ingest import make_events, raw_connection, seed_accounts
from bench.stage_reports import MOVE, free_port, manager_token, wait_ready
from schema.relay import to_global_id
from tests.support import contract_operations

LOG_ACTIVITIES = """mutation($input: LogActivitiesInput!) { logActivities(input: $input) {
  acceptedCount duplicateCount rejected { index } errors { code } } }"""
# The seeded accounts enter the default pipeline (the API does that on createAccount).
ENTER_PIPELINE = """INSERT INTO pipeline_entries (account_id, pipeline_id, stage, entered_at)
    SELECT a.id, p.id, 'PROSPECT', now() FROM accounts a CROSS JOIN pipelines p
    WHERE p.key = 'default' AND a.external_ref LIKE $1
    ON CONFLICT (account_id, pipeline_id) DO NOTHING"""
ACCOUNTS = 2_000
REPS = 20
PREFIX = "FLT"


# --- the server and the database --------------------------------------------------------


class Server:
    """`accountflow serve` in its own process group, so kill -9 takes every worker."""

    def __init__(self, setup: Setup, workers: int) -> None:
        self.url, self.port, self.workers = setup.url, free_port(), workers
        self.log = setup.pg_dir.parent / "faults-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        env = os.environ | {"DATABASE_URL": self.url, "LOG_LEVEL": "ERROR"}
        with self.log.open("ab") as log:  # the server's tracebacks, kept out of the figures
            self.process = subprocess.Popen(
                command, env=env, start_new_session=True, stdout=log, stderr=log
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill(signal.SIGTERM)

    def rss_kib(self) -> int:
        """Resident memory of the server and its workers, from /proc."""
        assert self.process is not None
        total = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
                )
                if os.getpgid(int(status.parent.name)) != self.process.pid:
                    continue
            except (OSError, ValueError):
                continue
            total += int(fields.get("VmRSS", "0 kB").split()[0])
        return total


def pg_ctl(pg_dir: Path, *args: str) -> None:
    """pg_ctl of the wheel's PostgreSQL, as the user that owns the data dir."""
    from pgserver._commands import POSTGRES_BIN_PATH

    owner = pg_dir.stat().st_uid
    user = owner if owner != os.getuid() else None
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pg_dir), "-w", *args]
    subprocess.run(command, check=True, user=user, capture_output=True, timeout=60)


def pg_stop(pg_dir: Path) -> None:
    pg_ctl(pg_dir, "-m", "fast", "stop")


def pg_start(pg_dir: Path) -> None:
    # The options pgserver starts it with: no TCP, the socket in the data dir.
    pg_ctl(pg_dir, "-o", '-h ""', "-o", f"-k {pg_dir}", "-l", str(pg_dir / "log"), "start")


@dataclass
class Setup:
    url: str
    pg_dir: Path
    integration: str
    manager: str


async def prepare() -> Setup:
    settings = Settings.from_env()
    url = db.resolve_database_url(settings)
    await asyncio.to_thread(migrate, url)
    integration = await seed_accounts(url, accounts=ACCOUNTS, reps=REPS, prefix=PREFIX)
    await sql(url, ENTER_PIPELINE, f"{PREFIX}-%")
    return Setup(url, settings.data_dir / "pg", integration, await manager_token(url))


async def sql(url: str, query: str, *args: Any) -> Any:
    connection = await raw_connection(url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


def batch_body(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"query": LOG_ACTIVITIES, "variables": {"input": {"activities": events}}})


def unique_events(n: int, *, tag: str, start: int = 0) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "accountExternalRef": f"{PREFIX}-{1 + (start + i) % ACCOUNTS}",
            "kind": "CALL_OUTBOUND",
            "occurredAt": (now - timedelta(minutes=start + i)).isoformat(),
            "source": "faults",
            "externalId": f"{tag}-{start + i}",
        }
        for i in range(n)
    ]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


# --- (a) kill -9 during ingest ------------------------------------------------------------


async def send_batches(
    http: httpx.AsyncClient, token: str, batches: list[bytes], clients: int
) -> tuple[set[int], Counter[str]]:
    """Send every batch once; the indexes answered with a payload, and why others failed."""
    queue = list(reversed(range(len(batches))))
    acked: set[int] = set()
    failures: Counter[str] = Counter()

    async def client() -> None:
        while queue:
            index = queue.pop()
            try:
                response = await http.post("/graphql", content=batches[index], headers=auth(token))
                payload = response.json()["data"]["logActivities"]
                if payload["errors"] or payload["rejected"]:
                    failures["rejected"] += 1
                else:
                    acked.add(index)
            except httpx.TransportError as error:
                failures[type(error).__name__] += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return acked, failures


async def kill_scenario(args: argparse.Namespace) -> dict[str, Any]:
    setup = await prepare()
    await sql(setup.url, "TRUNCATE activities")
    events, unique = make_events(
        total=args.events, repeat_share=0.1, accounts=ACCOUNTS, reps=REPS, prefix=PREFIX, seed=11
    )
    size = args.batch
    batches = [batch_body(events[i : i + size]) for i in range(0, len(events), size)]
    server = Server(setup, workers=args.workers)
    server.start()
    result: dict[str, Any] = {"events": len(events), "unique": len(unique)}
    result["batches"] = len(batches)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", timeout=120
        ) as http:
            await wait_ready(http)

            async def killer() -> None:
                await asyncio.sleep(args.kill_after)
                server.kill()

            (acked, failures), _ = await asyncio.gather(
                send_batches(http, setup.integration, batches, args.clients), killer()
            )
            result["acked_before_kill"] = len(acked)
            result["failed_at_kill"] = dict(failures)
            result["rows_after_kill"] = await sql(setup.url, "SELECT count(*) FROM activities")
            server.start()
            await wait_ready(http)
            resent, failures = await send_batches(http, setup.integration, batches, args.clients)
            result["resent_acked"] = len(resent)
            result["resend_failures"] = dict(failures)
    finally:
        server.stop()
    stored = await sql(setup.url, "SELECT count(*) FROM activities")
    distinct = await sql(setup.url, "SELECT count(DISTINCT (source, external_id)) FROM activities")
    result |= {"rows_stored": stored, "distinct_keys": distinct}
    result["exactly_unique_stored"] = stored == distinct == len(unique)
    return result


# --- (b) stop PostgreSQL under load ------------------------------------------------------


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    readyz: list[tuple[float, int]] = field(default_factory=list)
    requests: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, outcome)

    def now(self) -> float:
        return round(time.monotonic() - self.started, 2)


def outcome_of(response: httpx.Response, root: str) -> str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors"):
        return str(body["errors"][0].get("extensions", {}).get("code", "ERROR"))
    payload = (body.get("data") or {}).get(root) or {}
    if payload.get("errors"):
        return str(payload["errors"][0]["code"])
    if payload.get("rejected"):
        return "REJECTED"
    return "ok"


async def pgstop_scenario(args: argparse.Namespace) -> dict[str, Any]:
    setup = await prepare()
    await sql(setup.url, "DELETE FROM activities WHERE source = 'faults'")
    server = Server(setup, workers=args.workers)
    server.start()
    timeline = Timeline()
    sent: dict[int, bool] = {}  # batch number -> acknowledged
    size = 50
    stop = asyncio.Event()
    account_list = contract_operations()["AccountList"]
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", timeout=30
        ) as http:
            await wait_ready(http)
            timeline.started = time.monotonic()
            counter = iter(range(10**9))

            async def ingest() -> None:
                while not stop.is_set():
                    n = next(counter)
                    body = batch_body(unique_events(size, tag="pg", start=n * size))
                    outcome = await request(http, body, setup.integration, "logActivities")
                    sent[n] = outcome == "ok"
                    timeline.requests.append((timeline.now(), "ingest", outcome))

            async def read() -> None:
                body = orjson.dumps({"query": account_list, "variables": {"first": 20}})
                while not stop.is_set():
                    outcome = await request(http, body, setup.manager, "accounts")
                    timeline.requests.append((timeline.now(), "read", outcome))

            async def readyz() -> None:
                while not stop.is_set():
                    try:
                        status = (await http.get("/readyz", timeout=5)).status_code
                    except httpx.TransportError:
                        status = 0
                    timeline.readyz.append((timeline.now(), status))
                    await asyncio.sleep(0.25)

            async def fault() -> tuple[float, float]:
                await asyncio.sleep(args.before)
                stopped = timeline.now()
                await asyncio.to_thread(pg_stop, setup.pg_dir)
                await asyncio.sleep(args.down)
                await asyncio.to_thread(pg_start, setup.pg_dir)
                restarted = timeline.now()
                await asyncio.sleep(args.after)
                stop.set()
                return stopped, restarted

            load = [ingest() for _ in range(args.clients // 2)]
            load += [read() for _ in range(args.clients - args.clients // 2)]
            fault_task = asyncio.create_task(fault())
            await asyncio.gather(fault_task, readyz(), *load)
            stopped, restarted = fault_task.result()
            # Every batch not acknowledged is sent again, as a client retrying would.
            retried = [n for n, ok in sent.items() if not ok]
            for n in retried:
                body = batch_body(unique_events(size, tag="pg", start=n * size))
                outcome = await request(http, body, setup.integration, "logActivities")
                assert outcome == "ok", outcome
    finally:
        server.stop()
    per_batch = await batch_counts(setup.url, size)
    return summarise_pgstop(timeline, stopped, restarted, sent, retried, per_batch, size)


async def request(http: httpx.AsyncClient, body: bytes, token: str, root: str) -> str:
    try:
        response = await http.post("/graphql", content=body, headers=auth(token))
    except httpx.TransportError as error:
        return type(error).__name__
    return outcome_of(response, root)


async def batch_counts(url: str, size: int) -> dict[int, int]:
    connection = await raw_connection(url)
    try:
        rows = await connection.fetch(
            "SELECT split_part(external_id, '-', 2)::int / $1 AS batch, count(*) AS n"
            " FROM activities WHERE source = 'faults' AND external_id LIKE 'pg-%' GROUP BY 1",
            size,
        )
        return {int(r["batch"]): int(r["n"]) for r in rows}
    finally:
        await connection.close()


def summarise_pgstop(
    timeline: Timeline,
    stopped: float,
    restarted: float,
    sent: dict[int, bool],
    retried: list[int],
    per_batch: dict[int, int],
    size: int,
) -> dict[str, Any]:
    down = [s for t, s in timeline.readyz if stopped + 0.5 < t < restarted]
    first_ready = next((t for t, s in timeline.readyz if t > restarted and s == 200), None)
    first_ok = next((t for t, _, o in timeline.requests if t > restarted and o == "ok"), None)
    settle = (first_ok or restarted) + 2
    return {
        "pg_stopped_at_s": stopped,
        "pg_started_at_s": restarted,
        "readyz_while_down": dict(Counter(down)),
        "readyz_200_again_after_s": None if first_ready is None else first_ready - restarted,
        "first_ok_request_after_s": None if first_ok is None else round(first_ok - restarted, 2),
        "outcomes_before_stop": dict(Counter(o for t, _, o in timeline.requests if t < stopped)),
        "outcomes_while_down": dict(
            Counter(o for t, _, o in timeline.requests if stopped <= t < settle)
        ),
        "outcomes_2s_after_recovery": dict(
            Counter(o for t, _, o in timeline.requests if t >= settle)
        ),
        "batches": len(sent),
        "batches_failed_and_resent": len(retried),
        "batches_whole": sum(1 for n in sent if per_batch.get(n) == size),
        "half_written_batches": sum(1 for n in per_batch.values() if n != size),
        "nothing_half_written_and_all_stored": all(per_batch.get(n) == size for n in sent)
        and len(per_batch) == len(sent),
    }


# --- (c) soak -----------------------------------------------------------------------------


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


# --- command line -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="scenario", required=True)
    kill = commands.add_parser("kill", help="kill -9 the server during logActivities")
    kill.add_argument("--events", type=int, default=60_000)
    kill.add_argument("--batch", type=int, default=500)
    kill.add_argument("--clients", type=int, default=4)
    kill.add_argument("--kill-after", type=float, default=4.0, help="seconds of ingest first")
    pgstop = commands.add_parser("pgstop", help="pg_ctl stop -m fast under load, then start")
    pgstop.add_argument("--clients", type=int, default=8)
    pgstop.add_argument("--before", type=float, default=5.0)
    pgstop.add_argument("--down", type=float, default=10.0)
    pgstop.add_argument("--after", type=float, default=15.0)
    soak = commands.add_parser("soak", help="mixed reads, moves and ingest for --minutes")
    soak.add_argument("--minutes", type=float, default=30.0)
    soak.add_argument("--connections", type=int, default=32)
    for sub in (kill, pgstop, soak):
        sub.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    scenario = {"kill": kill_scenario, "pgstop": pgstop_scenario, "soak": soak_scenario}
    load_before = os.getloadavg()[0]
    result = asyncio.run(scenario[args.scenario](args))
    figures = {"scenario": args.scenario, "load_avg_before": load_before, **result}
    print(json.dumps(figures | {"load_avg_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
