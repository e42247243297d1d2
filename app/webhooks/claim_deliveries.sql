WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.status = 'PENDING' AND d.next_attempt_at <= :now
      AND (d.claimed_until IS NULL OR d.claimed_until < :now)
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries p
          WHERE p.webhook_id = d.webhook_id AND p.object_key = d.object_key
            AND p.status = 'PENDING' AND p.id < d.id)
      AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id AND w.is_active)
    ORDER BY d.next_attempt_at, d.id
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET claimed_until = :now + :lease
FROM due, webhooks w, outbox e
WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id
RETURNING d.id, d.webhook_id, d.event_id, d.attempts, w.url, w.secret,
          e.type, e.data, e.created_at
