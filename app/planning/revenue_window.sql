-- Each account's revenue in cents since the window's anchor (see window.py), from scratch.
INSERT INTO account_revenue_window (account_id, cents)
SELECT account_id, sum((amount * 100)::bigint)
FROM activities, revenue_window_anchor a
WHERE a.id = 1 AND occurred_at >= a.since AND voided_at IS NULL
  AND kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
GROUP BY account_id
