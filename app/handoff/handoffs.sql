-- Handoffs over [start, end): counts, requirements missing at handoff and blocking, and
-- the waits (seconds to acceptance) at the ranks percentile_cont(0.5) reads.
-- Whole UTC days come from the summaries of migration 0012, the partial days at the ends
-- from the raw rows; the median's rows are read in wait order from
-- ix_stage_events_handoff_waits, one bucket of waits only (see stays.sql).
WITH raw AS (
    SELECT occurred_at, accepted_at, missing_recommended
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND is_handoff
      AND occurred_at >= :start AND occurred_at < :head_end
    UNION ALL
    SELECT occurred_at, accepted_at, missing_recommended
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND is_handoff
      AND occurred_at >= :tail_start AND occurred_at < :end
),
totals AS (
    SELECT coalesce(sum(handoffs), 0) AS handoffs, coalesce(sum(accepted), 0) AS accepted
    FROM (
        SELECT handoffs, accepted FROM handoff_days
        WHERE pipeline_id = :pipeline_id AND day >= :day_from AND day < :day_to
        UNION ALL
        SELECT 1, (accepted_at IS NOT NULL)::int FROM raw
    ) t
),
missing AS (
    SELECT requirement, sum(n) AS n
    FROM (
        SELECT requirement, handoffs AS n FROM handoff_day_missing
        WHERE pipeline_id = :pipeline_id AND day >= :day_from AND day < :day_to
        UNION ALL
        SELECT unnest(missing_recommended), 1 FROM raw
    ) m
    GROUP BY requirement
    HAVING sum(n) > 0
),
blocked AS (
    SELECT requirement, sum(n) AS n
    FROM (
        SELECT requirement, attempts AS n FROM blocked_day_missing
        WHERE pipeline_id = :pipeline_id AND day >= :day_from AND day < :day_to
        UNION ALL
        SELECT unnest(missing), 1 FROM blocked_attempts
        WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :head_end
        UNION ALL
        SELECT unnest(missing), 1 FROM blocked_attempts
        WHERE pipeline_id = :pipeline_id AND occurred_at >= :tail_start AND occurred_at < :end
    ) b
    GROUP BY requirement
    HAVING sum(n) > 0
),
hist AS (
    SELECT bucket, sum(n) AS n
    FROM (
        SELECT bucket, accepted AS n FROM handoff_day_waits
        WHERE pipeline_id = :pipeline_id AND day >= :day_from AND day < :day_to
        UNION ALL
        SELECT report_bucket(extract(epoch FROM accepted_at - occurred_at)::float8), 1
        FROM raw WHERE accepted_at IS NOT NULL
    ) h
    GROUP BY bucket
    HAVING sum(n) > 0
),
cum AS (
    SELECT bucket, n,
           sum(n) OVER (ORDER BY bucket) - n AS before,
           sum(n) OVER () AS total
    FROM hist
),
wanted AS (
    SELECT DISTINCT k.rank
    FROM (SELECT DISTINCT total FROM cum) t
    CROSS JOIN LATERAL (
        VALUES (floor(0.5 * (t.total - 1)::float8)::bigint),
               (ceil(0.5 * (t.total - 1)::float8)::bigint)
    ) AS k(rank)
),
located AS (
    SELECT c.bucket, min(w.rank - c.before)::bigint AS skip,
           max(w.rank - c.before)::bigint AS last, min(w.rank) AS first_rank
    FROM wanted w
    JOIN cum c ON w.rank >= c.before AND w.rank < c.before + c.n
    GROUP BY c.bucket
),
waits AS (
    SELECT l.first_rank + v.i - 1 AS rank, v.wait
    FROM located l
    CROSS JOIN LATERAL unnest(ARRAY(
        SELECT extract(epoch FROM e.accepted_at - e.occurred_at)::float8
        FROM stage_events e
        WHERE e.pipeline_id = :pipeline_id AND e.is_handoff AND e.accepted_at IS NOT NULL
          AND extract(epoch FROM e.accepted_at - e.occurred_at)::float8
              >= report_bucket_low(l.bucket)
          AND extract(epoch FROM e.accepted_at - e.occurred_at)::float8
              <= report_bucket_high(l.bucket)
          AND report_bucket(extract(epoch FROM e.accepted_at - e.occurred_at)::float8)
              = l.bucket
          AND e.occurred_at >= :start AND e.occurred_at < :end
        ORDER BY extract(epoch FROM e.accepted_at - e.occurred_at)::float8
        OFFSET l.skip LIMIT l.last - l.skip + 1
    )) WITH ORDINALITY AS v(wait, i)
)
SELECT t.handoffs::bigint, t.accepted::bigint,
       (SELECT coalesce(max(total), 0)::bigint FROM cum),
       (SELECT coalesce(array_agg(rank ORDER BY rank), '{}') FROM waits),
       (SELECT coalesce(array_agg(wait ORDER BY rank), '{}') FROM waits),
       (SELECT coalesce(array_agg(requirement ORDER BY n DESC, requirement), '{}') FROM missing),
       (SELECT coalesce(array_agg(n::bigint ORDER BY n DESC, requirement), '{}') FROM missing),
       (SELECT coalesce(array_agg(requirement ORDER BY n DESC, requirement), '{}') FROM blocked),
       (SELECT coalesce(array_agg(n::bigint ORDER BY n DESC, requirement), '{}') FROM blocked)
FROM totals t
