"""(a) kill -9 the server during logActivities batches, restart, resend every batch."""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any

import httpx

from bench.faults.common import (
    ACCOUNTS,
    PREFIX,
    REPS,
    Server,
    auth,
    batch_body,
    prepare,
    sql,
)
from bench.ingest import make_events
from bench.stage_reports import wait_ready


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
