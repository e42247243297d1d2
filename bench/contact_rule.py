"""A contact-rule change at 100,000 assignments of one manager type, while ingest runs.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-rule .venv/bin/python -m bench.contact_rule

Data: bench/overdue.py's (100k accounts with SALES, PARTS and SERVICE assignments, 5M
activities). Times setContactRule's own transaction (through the service), then the
background job rebuilding every PARTS assignment in batches (app.activities.rebuild), while
`--writers` tasks log one activity at a time on random accounts through the ingest service
(each its own transaction: the row locks it waits for are the rebuild's). Reports the
longest batch transaction (the longest any assignment stays locked) and the ingest
latencies during the rebuild against a baseline run without it. Prints one JSON object;
the rule is put back afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from app import db
from app.__main__ import migrate
from app.activities import ingest, rebuild
from app.activities.rules import set_contact_rule
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from bench.ingest import database_url
from bench.overdue import generate

KINDS = [k for k in ActivityKind if k is not ActivityKind.NOTE]


async def writer(
    sessionmaker: Any, accounts: int, stop: asyncio.Event, latencies: list[float]
) -> None:
    rng = random.Random()
    while not stop.is_set():
        item = ingest.ActivityInput(
            kind=rng.choice(KINDS),
            occurred_at=datetime.now(UTC) - timedelta(days=rng.randint(0, 30)),
            account_id=rng.randint(1, accounts),
        )
        started = time.perf_counter()
        async with db.session_scope(sessionmaker) as session:
            await ingest.log_activities(session, actor=SYSTEM, items=[item], max_batch=1)
        latencies.append(time.perf_counter() - started)


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    generated = await generate(
        url, accounts=args.accounts, reps=args.reps, activities=args.activities
    )
    engine = db.create_engine(url, pool_size=args.writers + 4)
    sessionmaker = db.create_sessionmaker(engine)
    result: dict[str, Any] = {"generated": generated, "load_average": os.getloadavg()}
    try:
        baseline: list[float] = []
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(writer(sessionmaker, args.accounts, stop, baseline))
            for _ in range(args.writers)
        ]
        await asyncio.sleep(args.baseline_seconds)
        stop.set()
        await asyncio.gather(*tasks)
        result["ingest_baseline"] = summary(baseline)

        started = time.perf_counter()
        async with db.session_scope(sessionmaker) as session:
            await set_contact_rule(
                session,
                actor=SYSTEM,
                manager_type=ManagerType.PARTS,
                kinds=[ActivityKind.PARTS_PURCHASE, ActivityKind.INVOICE],
                assignee_only=True,
            )
        result["set_contact_rule_s"] = round(time.perf_counter() - started, 3)

        during: list[float] = []
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(writer(sessionmaker, args.accounts, stop, during))
            for _ in range(args.writers)
        ]
        started = time.perf_counter()
        done = await rebuild.rebuild_pending(engine, sessionmaker, batch_size=args.batch)
        result["rebuild_s"] = round(time.perf_counter() - started, 1)
        stop.set()
        await asyncio.gather(*tasks)
        result["rebuilt_assignments"] = done.assignments
        result["batch_size"] = args.batch
        result["batches"] = done.batches
        result["longest_batch_ms"] = round(done.longest_batch_s * 1000, 1)
        result["ingest_during_rebuild"] = summary(during)
    finally:
        async with db.session_scope(sessionmaker) as session:
            await set_contact_rule(
                session,
                actor=SYSTEM,
                manager_type=ManagerType.PARTS,
                kinds=KINDS,
                assignee_only=False,
            )
        await rebuild.rebuild_pending(engine, sessionmaker, batch_size=args.batch)
        await engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--baseline-seconds", type=float, default=10)
    args = parser.parse_args()
    url = database_url()
    migrate(url)
    print(orjson.dumps(asyncio.run(run(args, url)), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
