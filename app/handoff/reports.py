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
from app.validation import check_moment


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


# A stay ends with the event leaving the stage, which carries its length and touches.
# Conversion counts exits to a later stage that is not LOST, by the definition's order.
# Counts come from (from, to) pairs; percentiles and touches read ix_stage_events_stays,
# whose order gives percentile_cont presorted input.
THROUGHPUT = text("""
WITH stages AS (
    SELECT key, kind, ord
    FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[])) WITH ORDINALITY AS s(key, kind, ord)
),
pairs AS (
    SELECT e.from_stage, e.to_stage, count(*) AS n
    FROM stage_events e
    WHERE e.pipeline_id = :pipeline_id AND e.occurred_at >= :start AND e.occurred_at < :end
    GROUP BY e.from_stage, e.to_stage
),
entered AS (
    SELECT to_stage AS stage, sum(n) AS n FROM pairs GROUP BY to_stage
),
exited AS (
    SELECT p.from_stage AS stage,
           sum(p.n) AS n,
           coalesce(sum(p.n) FILTER (WHERE dest.ord > src.ord AND dest.kind <> 'LOST'), 0)
               AS converted
    FROM pairs p
    JOIN stages src ON src.key = p.from_stage
    LEFT JOIN stages dest ON dest.key = p.to_stage
    GROUP BY p.from_stage
),
stays AS (
    SELECT e.from_stage AS stage,
           percentile_cont(ARRAY[0.5, 0.9])
               WITHIN GROUP (ORDER BY e.seconds_in_previous_stage) AS pct,
           coalesce(sum(e.touches_in_previous_stage), 0) AS touches
    FROM stage_events e
    WHERE e.pipeline_id = :pipeline_id AND e.from_stage IS NOT NULL
      AND e.occurred_at >= :start AND e.occurred_at < :end
    GROUP BY e.from_stage
),
current AS (
    SELECT stage, count(*) AS n FROM pipeline_entries
    WHERE pipeline_id = :pipeline_id GROUP BY stage
)
SELECT s.key,
       coalesce(entered.n, 0)::int,
       coalesce(exited.n, 0)::int,
       coalesce(current.n, 0)::int,
       stays.pct[1],
       stays.pct[2],
       exited.converted::float8 / nullif(exited.n, 0),
       stays.touches::float8 / nullif(exited.n, 0)
FROM stages s
LEFT JOIN entered ON entered.stage = s.key
LEFT JOIN exited ON exited.stage = s.key
LEFT JOIN stays ON stays.stage = s.key
LEFT JOIN current ON current.stage = s.key
ORDER BY s.ord
""").bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("kinds", type_=ARRAY(String)),
)


# For this transaction only: plans fit the actual range (asyncpg prepares statements, and a
# generic plan for an unknown range is seconds slower), sorts stay in memory, covering
# indexes beat heap scans (index-only reads are cheap on SSD or in memory), and no parallel
# workers, which on a small shared machine only add contention.
REPORT_SETTINGS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('work_mem', '64MB', true), set_config('random_page_cost', '1.1', true),"
    " set_config('max_parallel_workers_per_gather', '0', true),"
    # The longer limit for reports (ACCOUNTFLOW_REPORT_STATEMENT_TIMEOUT_MS, set per connection).
    " set_config('statement_timeout', coalesce("
    "current_setting('accountflow.report_statement_timeout', true),"
    " current_setting('statement_timeout')), true)"
)


def _check_range(start: datetime, end: datetime) -> None:
    check_moment("from", start)
    check_moment("to", end)
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
    await session.execute(REPORT_SETTINGS)
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
    FROM (SELECT unnest(missing_recommended) AS requirement FROM handoffs) m
    GROUP BY requirement
),
blocked AS (
    SELECT requirement, count(*) AS n
    FROM (
        SELECT unnest(missing) AS requirement FROM blocked_attempts
        WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :end
    ) b
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
    await session.execute(REPORT_SETTINGS)
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
