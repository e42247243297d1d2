-- The figures /metrics reads from PostgreSQL once per scrape (app/metrics.py).
SELECT
    (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING') AS backlog,
    (SELECT extract(epoch FROM now() - min(created_at))
       FROM webhook_deliveries WHERE status = 'PENDING') AS oldest_pending,
    -- How long the most overdue delivery of an active webhook has been due.
    (SELECT extract(epoch FROM now() - min(d.next_attempt_at))
       FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.is_active
      WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()) AS outbox_lag,
    (SELECT count(*) FROM import_jobs WHERE status = 'QUEUED') AS imports_queued,
    (SELECT count(*) FROM import_jobs WHERE status = 'RUNNING') AS imports_running
