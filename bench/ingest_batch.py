"""Time the SQL of one 1,000-event `log_activities` batch on bench data, statement by statement.

    ACCOUNTFLOW_DATA_DIR=/tmp/b-ingest .venv/bin/python -m bench.ingest_batch [--rounds 3]

Runs against a data dir that bench.ingest filled; every batch is rolled back.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, text

from app import db
from app.activities.ingest import ActivityInput, log_activities
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.settings import Settings

REFS = text("SELECT external_ref FROM accounts WHERE external_ref IS NOT NULL LIMIT 20000")


async def run(rounds: int) -> None:
    engine = db.create_engine(db.resolve_database_url(Settings.from_env()))
    timings: list[tuple[float, str]] = []

    def before(conn: Any, *args: Any) -> None:
        conn.info["started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        elapsed = time.perf_counter() - conn.info["started"]
        timings.append((elapsed, " ".join(statement.split())[:70]))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    sessionmaker = db.create_sessionmaker(engine)
    async with sessionmaker() as session:
        refs = list((await session.execute(REFS)).scalars())
    rng = random.Random(1)
    now = datetime.now(UTC)
    for n in range(rounds):
        items = [
            ActivityInput(
                kind=rng.choice(list(ActivityKind)),
                occurred_at=now - timedelta(minutes=rng.randint(1, 60 * 24 * 30)),
                account_external_ref=rng.choice(refs),
                source="ingest-batch",
                external_id=f"{n}-{i}-{time.time()}",
            )
            for i in range(1000)
        ]
        timings.clear()
        async with sessionmaker() as session:
            started = time.perf_counter()
            await log_activities(session, actor=SYSTEM, items=items, max_batch=1000)
            elapsed = time.perf_counter() - started
            await session.rollback()
        print(f"batch {n}: {1000 * elapsed:.1f} ms")
        for seconds, statement in timings:
            print(f"  {1000 * seconds:7.1f} ms  {statement}")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
