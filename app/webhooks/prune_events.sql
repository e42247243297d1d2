DELETE FROM outbox WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.created_at < :before
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries d
          WHERE d.event_id = o.id AND d.status = 'PENDING')
    ORDER BY o.id LIMIT 5000)
