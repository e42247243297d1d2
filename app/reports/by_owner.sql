-- Per owner and stage over [start, end): entries go to the owner who received the entry
-- (to_owner_id), exits, median stay and conversion to the owner holding it when it left
-- (from_owner_id): an owner change in mid-stay credits each side with its own part.
-- Conversion counts exits to a later stage that is not LOST, by the definition's order.
-- Three reads of ix_stage_events_owner_stays (migration 0011), index only: entries and
-- exit pairs are hashed; the stays come in (owner, stage, seconds) order, so the median
-- needs no sort.
WITH stages AS (
    SELECT key, kind, ord
    FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[])) WITH ORDINALITY AS s(key, kind, ord)
),
entered AS (
    SELECT coalesce(to_owner_id, 0) AS owner_key, to_stage AS stage, count(*) AS n
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :end
    GROUP BY 1, 2
),
pairs AS (
    SELECT coalesce(from_owner_id, 0) AS owner_key, from_stage, to_stage, count(*) AS n
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND from_stage IS NOT NULL
      AND occurred_at >= :start AND occurred_at < :end
    GROUP BY 1, 2, 3
),
stays AS (
    SELECT coalesce(from_owner_id, 0) AS owner_key, from_stage AS stage,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_in_previous_stage) AS median
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND from_stage IS NOT NULL
      AND occurred_at >= :start AND occurred_at < :end
    GROUP BY from_owner_id, from_stage
),
exited AS (
    SELECT p.owner_key, p.from_stage AS stage, sum(p.n) AS n,
           coalesce(sum(p.n) FILTER (WHERE dest.ord > src.ord AND dest.kind <> 'LOST'), 0)
               AS converted
    FROM pairs p
    JOIN stages src ON src.key = p.from_stage
    LEFT JOIN stages dest ON dest.key = p.to_stage
    GROUP BY 1, 2
)
SELECT nullif(coalesce(en.owner_key, ex.owner_key), 0) AS owner_id,
       s.key,
       coalesce(en.n, 0)::int,
       coalesce(ex.n, 0)::int,
       st.median,
       ex.converted::float8 / nullif(ex.n, 0)
FROM entered en
FULL JOIN exited ex ON ex.owner_key = en.owner_key AND ex.stage = en.stage
JOIN stages s ON s.key = coalesce(en.stage, ex.stage)
LEFT JOIN stays st ON st.owner_key = ex.owner_key AND st.stage = ex.stage
WHERE CAST(:team_id AS bigint) IS NULL  -- a team: its members' rows
   OR coalesce(en.owner_key, ex.owner_key)
      IN (SELECT m.user_id FROM team_members m WHERE m.team_id = :team_id)
ORDER BY coalesce(en.owner_key, ex.owner_key) = 0, coalesce(en.owner_key, ex.owner_key), s.ord
