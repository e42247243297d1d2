WITH r AS MATERIALIZED (
    SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS r(
        id bigint, webhook_id bigint, ok boolean, final boolean, code int,
        latency_ms float8, error text, next_at timestamptz)
),
attempts AS (
    INSERT INTO webhook_attempts (delivery_id, attempted_at, response_status, latency_ms, error)
    SELECT id, :now, code, latency_ms, error FROM r
),
hooks AS (
    UPDATE webhooks w
    SET failing_since = CASE WHEN h.any_ok THEN NULL ELSE coalesce(w.failing_since, :now) END,
        is_active = w.is_active
            AND (h.any_ok OR coalesce(w.failing_since, :now) > :now - :disable_after)
    FROM (SELECT webhook_id, bool_or(ok) AS any_ok FROM r GROUP BY webhook_id) h
    WHERE w.id = h.webhook_id
)
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1, response_status = r.code, last_error = r.error,
    claimed_until = NULL,
    status = CASE WHEN r.ok THEN 'SUCCEEDED' WHEN r.final THEN 'FAILED' ELSE 'PENDING' END,
    delivered_at = CASE WHEN r.ok THEN CAST(:now AS timestamptz) END,
    next_attempt_at = CASE WHEN r.ok OR r.final THEN NULL ELSE r.next_at END
FROM r WHERE d.id = r.id
