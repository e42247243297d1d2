-- Which sources pay: per lead source, leads created in [from, to), how many converted, how
-- fast, and the last 12 months' revenue of the accounts they became (each account once;
-- voided events count for nothing).
WITH window_leads AS (
    SELECT source, created_at, converted_at, account_id
    FROM leads
    WHERE created_at >= :from_ AND created_at < :to_
),
per_source AS (
    SELECT
        source,
        count(*) AS leads,
        count(converted_at) AS converted,
        percentile_cont(0.5) WITHIN GROUP (
            ORDER BY extract(epoch FROM converted_at - created_at) / 86400.0
        ) FILTER (WHERE converted_at IS NOT NULL) AS median_days
    FROM window_leads
    GROUP BY source
),
converted_accounts AS (
    SELECT DISTINCT source, account_id FROM window_leads WHERE account_id IS NOT NULL
),
revenue AS (
    SELECT c.source, coalesce(sum(a.amount), 0) AS revenue
    FROM converted_accounts AS c
    JOIN activities AS a ON a.account_id = c.account_id
    WHERE a.kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')
      AND a.amount IS NOT NULL
      AND a.voided_at IS NULL
      AND a.occurred_at > now() - interval '12 months'
      AND a.occurred_at <= now()
    GROUP BY c.source
)
SELECT
    p.source,
    p.leads,
    p.converted,
    p.converted::float8 / p.leads AS conversion_rate,
    p.median_days,
    coalesce(r.revenue, 0)::numeric(16, 2) AS revenue
FROM per_source AS p
LEFT JOIN revenue AS r ON r.source IS NOT DISTINCT FROM p.source
ORDER BY p.source NULLS LAST
