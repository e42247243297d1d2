-- Fold the shards of past days of handoff_days into shard 0 (see summaries.py): rows a
-- writer holds are skipped, the rest are moved and summed into one row per key.
WITH moved AS (
    DELETE FROM handoff_days WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM handoff_days WHERE shard <> 0 AND day < (now() AT TIME ZONE 'UTC')::date
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
)
INSERT INTO handoff_days AS t (pipeline_id, day, shard, handoffs, accepted)
SELECT pipeline_id, day, 0, sum(handoffs), sum(accepted)
FROM moved
GROUP BY pipeline_id, day
ORDER BY pipeline_id, day
ON CONFLICT (pipeline_id, day, shard) DO UPDATE
SET handoffs = t.handoffs + EXCLUDED.handoffs, accepted = t.accepted + EXCLUDED.accepted
