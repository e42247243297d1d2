"""The reports as they were computed before the summaries: straight from the raw rows.

Kept as the reference the summaries must match (tests/handoff/test_summaries.py).
"""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

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

# Each summary table recomputed from the raw rows, rows in key order, zero rows left out.
SUMMARIES = {
    "stage_day_pairs": """
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date, coalesce(from_stage, ''),
               to_stage, count(*), coalesce(sum(touches_in_previous_stage), 0)
        FROM stage_events GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""",
    "stage_day_stays": """
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date, from_stage,
               report_bucket(seconds_in_previous_stage), count(*)
        FROM stage_events
        WHERE from_stage IS NOT NULL AND seconds_in_previous_stage IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""",
    "handoff_days": """
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date, count(*), count(accepted_at)
        FROM stage_events WHERE is_handoff GROUP BY 1, 2 ORDER BY 1, 2""",
    "handoff_day_waits": """
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date,
               report_bucket(extract(epoch FROM accepted_at - occurred_at)::float8), count(*)
        FROM stage_events WHERE is_handoff AND accepted_at IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    "handoff_day_missing": """
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date, r, count(*)
        FROM stage_events, unnest(missing_recommended) AS r WHERE is_handoff
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
    "blocked_day_missing": """
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date, r, count(*)
        FROM blocked_attempts, unnest(missing) AS r GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
}

# The summary tables as stored, same columns and order, zero rows left out.
STORED = {
    "stage_day_pairs": "SELECT pipeline_id, day, from_stage, to_stage, sum(events),"
    " sum(touches) FROM stage_day_pairs GROUP BY 1, 2, 3, 4"
    " HAVING sum(events) <> 0 OR sum(touches) <> 0 ORDER BY 1, 2, 3, 4",
    "stage_day_stays": "SELECT pipeline_id, day, from_stage, bucket, sum(stays)"
    " FROM stage_day_stays GROUP BY 1, 2, 3, 4 HAVING sum(stays) <> 0 ORDER BY 1, 2, 3, 4",
    "handoff_days": "SELECT pipeline_id, day, sum(handoffs), sum(accepted) FROM handoff_days"
    " GROUP BY 1, 2 HAVING sum(handoffs) <> 0 OR sum(accepted) <> 0 ORDER BY 1, 2",
    "handoff_day_waits": "SELECT * FROM handoff_day_waits WHERE accepted <> 0 ORDER BY 1, 2, 3",
    "handoff_day_missing": "SELECT * FROM handoff_day_missing WHERE handoffs <> 0 ORDER BY 1, 2, 3",
    "blocked_day_missing": "SELECT * FROM blocked_day_missing WHERE attempts <> 0 ORDER BY 1, 2, 3",
}
