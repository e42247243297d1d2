-- The oldest job that is queued, or whose runner's lease ran out (its process died or
-- stopped), taken for :lease. attempts fences out the runner that had it before.
WITH due AS (
    SELECT id FROM import_jobs
    WHERE status IN ('QUEUED', 'RUNNING')
      AND (status = 'QUEUED' OR claimed_until < now())
    ORDER BY id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE import_jobs j
SET status = 'RUNNING', attempts = j.attempts + 1, claimed_by = :worker,
    claimed_until = now() + :lease, started_at = coalesce(j.started_at, now())
FROM due
WHERE j.id = due.id
RETURNING j.id, j.attempts, j.kind, j.mode, j.dry_run, j.mapping, j.actor,
          j.processed_rows, j.created_count, j.updated_count, j.rejected_count,
          j.ignore_unknown_columns
