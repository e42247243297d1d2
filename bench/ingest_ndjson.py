"""POST /ingest/activities (NDJSON) over HTTP, beside a COPY of the same rows (the floor).

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-ndjson .venv/bin/python -m bench.ingest_ndjson

The data and events of bench/ingest.py (200,000 events, 10% repeats of earlier ones,
20,000 accounts with 2 assignments each, looked up by `accountExternalRef`), sent as NDJSON
bodies of `--lines` lines by `--clients` concurrent clients to `accountflow serve`.
Afterwards: the answers' counts, the table must hold exactly the unique events, every
assignment's last contact and contact days must equal what its activities say (cadence
kept current), and one `activity.logged` event per stored activity. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
from typing import Any

import httpx
import orjson

from app.__main__ import migrate
from bench.ingest import (
    copy_floor,
    count_activities,
    database_url,
    make_events,
    postgres_cpu_s,
    postgres_data_dir,
    postmaster_pid,
    raw_connection,
    reset,
    seed_accounts,
    serve,
    tree_cpu_s,
)

# Assignments whose stored last contact or contact days differ from their activities'.
STALE_ASSIGNMENTS = """
SELECT count(*) FROM assignments a
JOIN contact_rules r ON r.manager_type = a.manager_type
LEFT JOIN LATERAL (
    SELECT max(x.occurred_at) AS last,
           array_agg(DISTINCT (x.occurred_at AT TIME ZONE 'UTC')::date
                     ORDER BY (x.occurred_at AT TIME ZONE 'UTC')::date) AS days
    FROM activities x
    WHERE x.account_id = a.account_id AND x.voided_at IS NULL AND x.kind::text = ANY(r.kinds)
      AND (NOT r.assignee_only OR x.user_id = a.user_id)
) s ON true
WHERE a.last_contact_at IS DISTINCT FROM s.last
   OR a.contact_days IS DISTINCT FROM coalesce(s.days, '{}')
"""


async def send_all(
    port: int, token: str, bodies: list[bytes], clients: int
) -> tuple[float, dict[str, int], list[float]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=300) as http:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post("/ingest/activities", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(response.text)
                statuses = [orjson.loads(line)["status"] for line in response.content.splitlines()]
                if len(statuses) != body.count(b"\n"):
                    raise RuntimeError("one answer per line expected")
                totals["accepted"] += statuses.count("accepted")
                totals["duplicates"] += statuses.count("duplicate")
                totals["rejected"] += statuses.count("rejected")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, totals, latencies


async def checks(url: str) -> dict[str, int]:
    connection = await raw_connection(url)
    try:
        return {
            "stale_assignments": int(await connection.fetchval(STALE_ASSIGNMENTS)),
            "activity_events": int(
                await connection.fetchval(
                    "SELECT count(*) FROM outbox WHERE type = 'activity.logged'"
                )
            ),
        }
    finally:
        await connection.close()


async def clear_outbox(url: str) -> None:
    connection = await raw_connection(url)
    try:
        await connection.execute("TRUNCATE outbox CASCADE")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=10_000, help="lines per request")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--repeats", type=float, default=0.10)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    prefix = "ING"
    url = database_url()
    migrate(url)
    token = asyncio.run(seed_accounts(url, accounts=args.accounts, reps=args.reps, prefix=prefix))
    asyncio.run(reset(url))
    asyncio.run(clear_outbox(url))
    events, unique = make_events(
        total=args.events,
        repeat_share=args.repeats,
        accounts=args.accounts,
        reps=args.reps,
        prefix=prefix,
        seed=args.seed,
    )
    bodies = [
        b"".join(orjson.dumps(e) + b"\n" for e in events[i : i + args.lines])
        for i in range(0, len(events), args.lines)
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    data_dir = asyncio.run(postgres_data_dir(url))
    postgres_before = postgres_cpu_s(data_dir)
    postmaster = postmaster_pid(data_dir)
    with serve(url, args.port, args.workers) as server:
        run_before = (tree_cpu_s(server.pid), tree_cpu_s(postmaster))
        elapsed, totals, latencies = asyncio.run(send_all(args.port, token, bodies, args.clients))
        run_after = (tree_cpu_s(server.pid), tree_cpu_s(postmaster))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    postgres_cpu = postgres_cpu_s(data_dir) - postgres_before
    stored = asyncio.run(count_activities(url))
    found = asyncio.run(checks(url))
    floor = asyncio.run(copy_floor(url, unique, prefix))
    rate = len(events) / elapsed
    floor_rate = len(unique) / floor
    result: dict[str, Any] = {
        "events": len(events),
        "unique": len(unique),
        "requests": len(bodies),
        "lines_per_request": args.lines,
        "clients": args.clients,
        "server_workers": args.workers,
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(rate),
        "server_cpu_ms_per_1000_events": round(server_cpu / len(events) * 1e6, 1),
        "postgres_cpu_ms_per_1000_events": round(postgres_cpu / len(events) * 1e6, 1),
        "run_server_cpu_ms_per_1000_events": round(
            (run_after[0] - run_before[0]) / len(events) * 1e6, 1
        ),
        "run_postgres_cpu_ms_per_1000_events": round(
            (run_after[1] - run_before[1]) / len(events) * 1e6, 1
        ),
        "request_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "request_max_ms": round(max(latencies) * 1000, 1),
        **totals,
        "stored": stored,
        "exactly_unique_stored": stored == len(unique) == totals["accepted"],
        **found,
        "cadence_current": found["stale_assignments"] == 0,
        "copy_floor_s": round(floor, 2),
        "copy_floor_rows_per_s": round(floor_rate),
        "ratio_to_copy_floor": round(rate / floor_rate, 3),
        "load_average": os.getloadavg(),
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
