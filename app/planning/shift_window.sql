-- The revenue of [low, high) per account, added to account_revenue_window with `sign`:
-- moving the anchor (see window.py) later takes it away, earlier adds it.
WITH moved AS (
    SELECT account_id, sum((amount * 100)::bigint) AS cents
    FROM activities
    WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND voided_at IS NULL
      AND amount IS NOT NULL AND occurred_at >= :low AND occurred_at < :high
    GROUP BY account_id
)
INSERT INTO account_revenue_window AS t (account_id, cents)
SELECT account_id, CAST(:sign AS int) * cents FROM moved ORDER BY account_id
ON CONFLICT (account_id) DO UPDATE SET cents = t.cents + EXCLUDED.cents
