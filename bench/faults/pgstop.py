"""(b) pg_ctl stop -m fast under load: /readyz 503, recovery, nothing half-written."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench.faults.common import (
    Server,
    batch_body,
    pg_start,
    pg_stop,
    prepare,
    request,
    sql,
    unique_events,
)
from bench.ingest import raw_connection
from bench.stage_reports import wait_ready
from tests.support import contract_operations


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    readyz: list[tuple[float, int]] = field(default_factory=list)
    requests: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, outcome)

    def now(self) -> float:
        return round(time.monotonic() - self.started, 2)


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
