"""Per-day summaries of stage events and blocked attempts, kept by triggers (migration 0012).

stageThroughput and handoffReport read whole UTC days from here and only the partial days
at either end of their range from the raw rows. Statement-level triggers with transition
tables keep every table right for any writer (moves, imports, merges, deletes, bulk SQL),
in the writer's own transaction. Stays and handoff waits are counted per log-scaled bucket
(`report_bucket`), which lets a report find the exact rows a percentile needs.

The triggers spread the rows of one day over 8 shards by the writer's backend, so that
concurrent moves of one day and stage pair (every `lose` today) rarely wait on each other's
row lock; the server folds the shards of past days into shard 0 (`fold_shards`), so a
report reads at most today's rows several times.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import session_scope
from app.kit.sql import sql_file

# report_bucket(s) = floor(ln(s) * 8), buckets about 13% wide (migration 0012); values
# at or below zero share bucket -100000, infinity and NaN bucket 100000.
LOCK_TIMEOUT = "100ms"
SET_LOCK_TIMEOUT = text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")

# The sharded summaries and their key columns (besides the shard).
SHARDED = {
    "stage_day_pairs": ("pipeline_id", "day", "from_stage", "to_stage"),
    "stage_day_stays": ("pipeline_id", "day", "from_stage", "bucket"),
    "handoff_days": ("pipeline_id", "day"),
}
FOLD = [
    sql_file(__package__, "fold_stage_day_pairs.sql"),
    sql_file(__package__, "fold_stage_day_stays.sql"),
    sql_file(__package__, "fold_handoff_days.sql"),
]


async def fold_shards(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Fold the shards of past days into shard 0: a report then reads one row per key.

    Rows a writer holds are skipped, and a shard-0 row a writer holds is waited for at most
    LOCK_TIMEOUT (then the fold is rolled back until the next round): a fold never keeps a
    writer waiting long, nor deadlocks with one. False when it gave up.
    """
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(SET_LOCK_TIMEOUT)
            for statement in FOLD:
                await session.execute(statement)
        return True
    except DBAPIError as error:
        if "lock timeout" not in str(error.orig):
            raise
        return False
