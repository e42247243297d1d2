"""Per-day summaries of stage events and blocked attempts, kept by triggers (migration 0012)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


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
