-- The stays (seconds in the stage left) at the ranks percentile_cont(0.5, 0.9) reads, per
-- stage, over [start, end): rows (stage, stays in range, rank, seconds).
-- Counts per seconds bucket come from stage_day_stays for whole days and from the raw
-- events for the partial days at the ends; a wanted rank falls in one bucket, and only
-- that bucket's events are read, in seconds order, through ix_stage_events_stays.
WITH raw AS (
    SELECT from_stage, report_bucket(seconds_in_previous_stage) AS bucket
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :head_end
      AND from_stage IS NOT NULL AND seconds_in_previous_stage IS NOT NULL
    UNION ALL
    SELECT from_stage, report_bucket(seconds_in_previous_stage)
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :tail_start AND occurred_at < :end
      AND from_stage IS NOT NULL AND seconds_in_previous_stage IS NOT NULL
),
hist AS (
    SELECT stage, bucket, sum(n) AS n
    FROM (
        SELECT from_stage AS stage, bucket, stays AS n
        FROM stage_day_stays
        WHERE pipeline_id = :pipeline_id AND day >= :day_from AND day < :day_to
        UNION ALL
        SELECT from_stage, bucket, 1 FROM raw
    ) h
    GROUP BY stage, bucket
    HAVING sum(n) > 0
),
cum AS (
    SELECT stage, bucket, n,
           sum(n) OVER (PARTITION BY stage ORDER BY bucket) - n AS before,
           sum(n) OVER (PARTITION BY stage) AS total
    FROM hist
),
totals AS (
    SELECT DISTINCT stage, total FROM cum
),
wanted AS (
    SELECT DISTINCT t.stage, t.total, k.rank
    FROM totals t
    CROSS JOIN unnest(CAST(:fractions AS float8[])) AS p(fraction)
    CROSS JOIN LATERAL (
        VALUES (floor(p.fraction * (t.total - 1)::float8)::bigint),
               (ceil(p.fraction * (t.total - 1)::float8)::bigint)
    ) AS k(rank)
),
located AS (
    SELECT w.stage, w.total, c.bucket,
           min(w.rank - c.before)::bigint AS skip, max(w.rank - c.before)::bigint AS last,
           min(w.rank) AS first_rank
    FROM wanted w
    JOIN cum c ON c.stage = w.stage AND w.rank >= c.before AND w.rank < c.before + c.n
    GROUP BY w.stage, w.total, c.bucket
)
SELECT l.stage, l.total::bigint, l.first_rank + v.i - 1, v.seconds
FROM located l
CROSS JOIN LATERAL unnest(ARRAY(
    SELECT e.seconds_in_previous_stage
    FROM stage_events e
    WHERE e.pipeline_id = :pipeline_id AND e.from_stage = l.stage
      AND e.seconds_in_previous_stage >= report_bucket_low(l.bucket)
      AND e.seconds_in_previous_stage <= report_bucket_high(l.bucket)
      AND report_bucket(e.seconds_in_previous_stage) = l.bucket
      AND e.occurred_at >= :start AND e.occurred_at < :end
    ORDER BY e.seconds_in_previous_stage
    OFFSET l.skip LIMIT l.last - l.skip + 1
)) WITH ORDINALITY AS v(seconds, i)
ORDER BY 1, 3
