"""Stage throughput and handoff reports: one SQL statement each, over a [start, end) range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app.errors import InvalidInputError
from app.handoff.models import Pipeline


@dataclass(frozen=True, slots=True)
class StageStats:
    stage: str
    entered: int
    exited: int
    current: int
    median_seconds_in_stage: float | None
    p90_seconds_in_stage: float | None
    conversion_rate: float | None
    touches_per_stay: float | None


@dataclass(frozen=True, slots=True)
class RequirementCount:
    requirement: str
    count: int
    share: float | None = None


@dataclass(frozen=True, slots=True)
class HandoffStats:
    handoffs: int
    accepted: int
    pending: int
    median_seconds_to_accept: float | None
    missing_recommended: list[RequirementCount]
    blocked_by: list[RequirementCount]


# A stay ends with the event leaving the stage; it began seconds_in_previous_stage earlier.
# Conversion counts exits to a later stage that is not LOST, by the definition's order.
THROUGHPUT = text("""
WITH stages AS (
    SELECT key, kind, ord
    FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[])) WITH ORDINALITY AS s(key, kind, ord)
),
moves AS (
    SELECT e.account_id, e.from_stage, e.to_stage, e.occurred_at, e.seconds_in_previous_stage
    FROM stage_events e
    WHERE e.pipeline_id = :pipeline_id AND e.occurred_at >= :start AND e.occurred_at < :end
),
entered AS (
    SELECT to_stage AS stage, count(*) AS n FROM moves GROUP BY to_stage
),
exited AS (
    SELECT m.from_stage AS stage,
           count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY m.seconds_in_previous_stage) AS median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY m.seconds_in_previous_stage) AS p90,
           count(*) FILTER (WHERE dest.ord > src.ord AND dest.kind <> 'LOST') AS converted
    FROM moves m
    JOIN stages src ON src.key = m.from_stage
    LEFT JOIN stages dest ON dest.key = m.to_stage
    GROUP BY m.from_stage
),
touches AS (
    SELECT m.from_stage AS stage, count(*) AS n
    FROM moves m
    JOIN activities a
      ON a.account_id = m.account_id
     AND a.occurred_at < m.occurred_at
     AND a.occurred_at >= m.occurred_at - make_interval(secs => m.seconds_in_previous_stage)
    WHERE m.from_stage IS NOT NULL
    GROUP BY m.from_stage
),
current AS (
    SELECT stage, count(*) AS n FROM pipeline_entries
    WHERE pipeline_id = :pipeline_id GROUP BY stage
)
SELECT s.key,
       coalesce(entered.n, 0),
       coalesce(exited.n, 0),
       coalesce(current.n, 0),
       exited.median,
       exited.p90,
       exited.converted::float8 / nullif(exited.n, 0),
       coalesce(touches.n, 0)::float8 / nullif(exited.n, 0)
FROM stages s
LEFT JOIN entered ON entered.stage = s.key
LEFT JOIN exited ON exited.stage = s.key
LEFT JOIN touches ON touches.stage = s.key
LEFT JOIN current ON current.stage = s.key
ORDER BY s.ord
""").bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("kinds", type_=ARRAY(String)),
)


def _check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("from and to need a time zone.", field="from")
    if end <= start:
        raise InvalidInputError("to must be after from.", field="to")


async def stage_throughput(
    session: AsyncSession, *, pipeline: Pipeline, start: datetime, end: datetime
) -> list[StageStats]:
    _check_range(start, end)
    params = {
        "pipeline_id": pipeline.id,
        "start": start,
        "end": end,
        "keys": [stage["key"] for stage in pipeline.stages],
        "kinds": [stage["kind"] for stage in pipeline.stages],
    }
    rows = await session.execute(THROUGHPUT, params)
    return [StageStats(*row) for row in rows]


HANDOFFS = text("""
WITH handoffs AS (
    SELECT occurred_at, accepted_at, missing_recommended
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND is_handoff
      AND occurred_at >= :start AND occurred_at < :end
),
totals AS (
    SELECT count(*) AS handoffs,
           count(accepted_at) AS accepted,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM accepted_at - occurred_at)
           ) AS median_wait
    FROM handoffs
),
missing AS (
    SELECT requirement, count(*) AS n
    FROM handoffs, unnest(missing_recommended) AS requirement
    GROUP BY requirement
),
blocked AS (
    SELECT requirement, count(*) AS n
    FROM blocked_attempts, unnest(missing) AS requirement
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :end
    GROUP BY requirement
)
SELECT t.handoffs, t.accepted, t.median_wait,
       (SELECT coalesce(array_agg(requirement ORDER BY n DESC, requirement), '{}') FROM missing),
       (SELECT coalesce(array_agg(n ORDER BY n DESC, requirement), '{}') FROM missing),
       (SELECT coalesce(array_agg(requirement ORDER BY n DESC, requirement), '{}') FROM blocked),
       (SELECT coalesce(array_agg(n ORDER BY n DESC, requirement), '{}') FROM blocked)
FROM totals t
""")


async def handoff_report(
    session: AsyncSession, *, pipeline: Pipeline, start: datetime, end: datetime
) -> HandoffStats:
    _check_range(start, end)
    params = {"pipeline_id": pipeline.id, "start": start, "end": end}
    row = (await session.execute(HANDOFFS, params)).one()
    handoffs, accepted, median, missing_keys, missing_n, blocked_keys, blocked_n = row
    return HandoffStats(
        handoffs=handoffs,
        accepted=accepted,
        pending=handoffs - accepted,
        median_seconds_to_accept=None if median is None else float(median),
        missing_recommended=[
            RequirementCount(key, n, n / handoffs if handoffs else None)
            for key, n in zip(missing_keys, missing_n, strict=True)
        ],
        blocked_by=[
            RequirementCount(key, n) for key, n in zip(blocked_keys, blocked_n, strict=True)
        ],
    )
