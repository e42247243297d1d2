"""Per-day summaries of stage events and blocked attempts, kept by triggers (migration 0012).

stageThroughput and handoffReport read whole UTC days from here and only the partial days
at either end of their range from the raw rows. Statement-level triggers with transition
tables keep every table right for any writer (moves, imports, merges, deletes, bulk SQL),
in the writer's own transaction. Stays and handoff waits are counted per log-scaled bucket
(`report_bucket`), which lets a report find the exact rows a percentile needs.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import session_scope
from app.handoff import summary_sql

# report_bucket(s) = floor(ln(s) * 8), buckets about 13% wide (summary_sql.py); values
# at or below zero share bucket -100000, infinity and NaN bucket 100000.
LOCK_TIMEOUT = "100ms"


async def fold_shards(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Fold the shards of past days into shard 0: a report then reads one row per key.

    Rows a writer holds are skipped, and a shard-0 row a writer holds is waited for at most
    LOCK_TIMEOUT (then the fold is rolled back until the next round): a fold never keeps a
    writer waiting long, nor deadlocks with one. False when it gave up.
    """
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            for statement in summary_sql.FOLD:
                await session.execute(text(statement))
        return True
    except DBAPIError as error:
        if "lock timeout" not in str(error.orig):
            raise
        return False
