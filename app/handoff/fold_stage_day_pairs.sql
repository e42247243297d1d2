-- Fold the shards of past days of stage_day_pairs into shard 0 (see summaries.py): rows a
-- writer holds are skipped, the rest are moved and summed into one row per key.
WITH moved AS (
    DELETE FROM stage_day_pairs WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM stage_day_pairs WHERE shard <> 0 AND day < (now() AT TIME ZONE 'UTC')::date
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
)
INSERT INTO stage_day_pairs AS t (pipeline_id, day, from_stage, to_stage, shard, events, touches)
SELECT pipeline_id, day, from_stage, to_stage, 0, sum(events), sum(touches)
FROM moved
GROUP BY pipeline_id, day, from_stage, to_stage
ORDER BY pipeline_id, day, from_stage, to_stage
ON CONFLICT (pipeline_id, day, from_stage, to_stage, shard) DO UPDATE
SET events = t.events + EXCLUDED.events, touches = t.touches + EXCLUDED.touches
