-- Per stage: entered, exited, current, conversion and touches per stay over [start, end).
-- Whole UTC days [day_from, day_to) come from stage_day_pairs (migration 0012); the partial
-- days at either end, [start, head_end) and [tail_start, end), from the raw events.
-- Conversion counts exits to a later stage that is not LOST, by the definition's order.
WITH stages AS (
    SELECT key, kind, ord
    FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[])) WITH ORDINALITY AS s(key, kind, ord)
),
raw AS (
    SELECT from_stage, to_stage, touches_in_previous_stage AS touches
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :head_end
    UNION ALL
    SELECT from_stage, to_stage, touches_in_previous_stage
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :tail_start AND occurred_at < :end
),
pairs AS (
    SELECT from_stage, to_stage, sum(n) AS n, sum(touches) AS touches
    FROM (
        SELECT nullif(from_stage, '') AS from_stage, to_stage, events AS n, touches
        FROM stage_day_pairs
        WHERE pipeline_id = :pipeline_id AND day >= :day_from AND day < :day_to
        UNION ALL
        SELECT from_stage, to_stage, 1, coalesce(touches, 0) FROM raw
    ) p
    GROUP BY from_stage, to_stage
),
entered AS (
    SELECT to_stage AS stage, sum(n) AS n FROM pairs GROUP BY to_stage
),
exited AS (
    SELECT p.from_stage AS stage,
           sum(p.n) AS n,
           coalesce(sum(p.n) FILTER (WHERE dest.ord > src.ord AND dest.kind <> 'LOST'), 0)
               AS converted,
           sum(p.touches) AS touches
    FROM pairs p
    JOIN stages src ON src.key = p.from_stage
    LEFT JOIN stages dest ON dest.key = p.to_stage
    GROUP BY p.from_stage
),
current AS (
    SELECT stage, count(*) AS n FROM pipeline_entries
    WHERE pipeline_id = :pipeline_id GROUP BY stage
)
SELECT s.key,
       coalesce(entered.n, 0)::int,
       coalesce(exited.n, 0)::int,
       coalesce(current.n, 0)::int,
       exited.converted::float8 / nullif(exited.n, 0),
       exited.touches::float8 / nullif(exited.n, 0)
FROM stages s
LEFT JOIN entered ON entered.stage = s.key
LEFT JOIN exited ON exited.stage = s.key
LEFT JOIN current ON current.stage = s.key
ORDER BY s.ord
