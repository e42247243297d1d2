-- Per owner and stage over [start, end): entries go to the owner who received the entry
-- (to_owner_id), exits, median stay and conversion to the owner holding it when it left
-- (from_owner_id): an owner change in mid-stay credits each side with its own part.
-- Conversion counts exits to a later stage that is not LOST, by the definition's order.
WITH stages AS (
    SELECT key, kind, ord
    FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[])) WITH ORDINALITY AS s(key, kind, ord)
),
events AS (
    SELECT from_stage, to_stage, from_owner_id, to_owner_id, seconds_in_previous_stage
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :end
),
entered AS (
    SELECT coalesce(to_owner_id, 0) AS owner_key, to_stage AS stage, count(*) AS n
    FROM events GROUP BY 1, 2
),
exited AS (
    SELECT coalesce(e.from_owner_id, 0) AS owner_key, e.from_stage AS stage, count(*) AS n,
           count(*) FILTER (WHERE dest.ord > src.ord AND dest.kind <> 'LOST') AS converted,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY e.seconds_in_previous_stage) AS median
    FROM events e
    JOIN stages src ON src.key = e.from_stage
    LEFT JOIN stages dest ON dest.key = e.to_stage
    GROUP BY 1, 2
)
SELECT nullif(coalesce(en.owner_key, ex.owner_key), 0) AS owner_id,
       s.key,
       coalesce(en.n, 0)::int,
       coalesce(ex.n, 0)::int,
       ex.median,
       ex.converted::float8 / nullif(ex.n, 0)
FROM entered en
FULL JOIN exited ex ON ex.owner_key = en.owner_key AND ex.stage = en.stage
JOIN stages s ON s.key = coalesce(en.stage, ex.stage)
ORDER BY coalesce(en.owner_key, ex.owner_key) = 0, coalesce(en.owner_key, ex.owner_key), s.ord
