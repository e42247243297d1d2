-- Fold the shards of past days of stage_day_stays into shard 0 (see summaries.py): rows a
-- writer holds are skipped, the rest are moved and summed into one row per key.
WITH moved AS (
    DELETE FROM stage_day_stays WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM stage_day_stays WHERE shard <> 0 AND day < (now() AT TIME ZONE 'UTC')::date
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
)
INSERT INTO stage_day_stays AS t (pipeline_id, day, from_stage, bucket, shard, stays)
SELECT pipeline_id, day, from_stage, bucket, 0, sum(stays)
FROM moved
GROUP BY pipeline_id, day, from_stage, bucket
ORDER BY pipeline_id, day, from_stage, bucket
ON CONFLICT (pipeline_id, day, from_stage, bucket, shard) DO UPDATE
SET stays = t.stays + EXCLUDED.stays
