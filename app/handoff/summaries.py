"""Per-day summaries of stage events and blocked attempts, kept by triggers (migration 0012).

stageThroughput and handoffReport read whole UTC days from here and only the partial days
at either end of their range from the raw rows. Statement-level triggers with transition
tables keep every table right for any writer (moves, imports, merges, deletes, bulk SQL),
in the writer's own transaction. Stays and handoff waits are counted per log-scaled bucket
(`report_bucket`), which lets a report find the exact rows a percentile needs.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, SmallInteger, String, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, session_scope
from app.handoff import summary_sql

# report_bucket(s) = floor(ln(s) * 8), buckets about 13% wide (summary_sql.py); values
# at or below zero share bucket -100000, infinity and NaN bucket 100000.
LOCK_TIMEOUT = "100ms"


class StageDayPair(Base):
    """Events per UTC day and (from, to) stage pair; `from_stage` is '' for an entry."""

    __tablename__ = "stage_day_pairs"

    pipeline_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    from_stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    to_stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The writer's backend pid % 8: concurrent moves of one day rarely share a row; past
    # days are folded into shard 0 (fold_shards).
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)
    # touches_in_previous_stage summed (null as 0)
    touches: Mapped[int] = mapped_column(BigInteger)


class StageDayStay(Base):
    """Ended stays (seconds known) per UTC day, stage left and seconds bucket."""

    __tablename__ = "stage_day_stays"

    pipeline_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    from_stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # as StageDayPair's
    stays: Mapped[int] = mapped_column(BigInteger)


class HandoffDay(Base):
    __tablename__ = "handoff_days"

    pipeline_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # as StageDayPair's
    handoffs: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(BigInteger)


class HandoffDayWait(Base):
    """Accepted handoffs per UTC day (of the handoff) and bucket of seconds to acceptance."""

    __tablename__ = "handoff_day_waits"

    pipeline_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    bucket: Mapped[int] = mapped_column(primary_key=True)
    accepted: Mapped[int] = mapped_column(BigInteger)


class HandoffDayMissing(Base):
    """Handoffs per UTC day that went ahead without a recommended requirement."""

    __tablename__ = "handoff_day_missing"

    pipeline_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    requirement: Mapped[str] = mapped_column(String(100), primary_key=True)
    handoffs: Mapped[int] = mapped_column(BigInteger)


class BlockedDayMissing(Base):
    """Blocked attempts per UTC day and missing necessary requirement."""

    __tablename__ = "blocked_day_missing"

    pipeline_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    requirement: Mapped[str] = mapped_column(String(100), primary_key=True)
    attempts: Mapped[int] = mapped_column(BigInteger)


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
